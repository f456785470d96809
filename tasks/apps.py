"""The tasks app: the task domain and its HTTP API."""
from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
