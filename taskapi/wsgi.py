"""WSGI entry point for local servers and the Lambda adapter."""
import gc
import os

# Setting Django up allocates a few hundred thousand long-lived objects and next to no garbage, so cyclic
# collections while it runs only cost cold-start time; freezing them afterwards keeps every later
# collection from scanning them again.
gc.disable()
try:
    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

    application = get_wsgi_application()

    from taskapi.requesthooks import drop_sql_request_hooks

    drop_sql_request_hooks()  # no SQL database: no per-request connection bookkeeping
finally:
    gc.freeze()
    gc.enable()
