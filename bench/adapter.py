"""TEMPORARY stand-in for taskapi.lambda_function, used only while that module does not exist.

apig-wsgi around Django's WSGI application: what the real handler does for HTTP events, without
Zappa's event routing and the stage prefix. The bench picks the real module as soon as it is there.
"""
import os

from apig_wsgi import make_lambda_handler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

from taskapi.wsgi import application  # noqa: E402

handler = make_lambda_handler(application, binary_support=True)
