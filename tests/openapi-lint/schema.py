"""Writes the app's /openapi.json, as a client gets it, to the path given: `python tests/openapi-lint/schema.py out.json`."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()
from django.test import Client

response = Client().get("/openapi.json")
if response.status_code != 200:
    sys.exit(f"/openapi.json answered {response.status_code}")
Path(sys.argv[1]).write_bytes(response.content)
