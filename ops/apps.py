"""The ops app: infrastructure as code for the table and its monitoring, as manage.py commands."""
from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
