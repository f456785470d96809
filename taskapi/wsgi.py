"""WSGI entry point for local servers and the Lambda adapter."""
import gc
import os
import sys

# rest_framework.compat tries these optional packages when DRF loads, for features this app never uses
# through DRF: PyYAML (DRF's own OpenAPI renderer), uritemplate and inflection (DRF's own schema generator),
# django.contrib.postgres (ModelSerializer's field mapping). drf-spectacular imports its own PyYAML,
# uritemplate and inflection when /openapi.json is first served, so they stay importable after set-up.
DRF_OPTIONAL_IMPORTS = ("yaml", "uritemplate", "inflection", "django.contrib.postgres")

# Setting Django up allocates a few hundred thousand long-lived objects and next to no garbage, so cyclic
# collections while it runs only cost cold-start time; freezing them afterwards keeps every later
# collection from scanning them again.
gc.disable()
hidden = [name for name in DRF_OPTIONAL_IMPORTS if name not in sys.modules]
try:
    for name in hidden:
        sys.modules[name] = None  # `import name` raises ImportError, which rest_framework.compat expects
    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

    application = get_wsgi_application()

    from taskapi.requesthooks import drop_sql_request_hooks

    drop_sql_request_hooks()  # no SQL database: no per-request connection bookkeeping
finally:
    for name in hidden:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]
    gc.freeze()
    gc.enable()
