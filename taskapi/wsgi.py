"""WSGI entry point for local servers and the Lambda adapter."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

application = get_wsgi_application()
