"""Per-request work a project without a SQL database need not do.

django.db connects `reset_queries` to request_started and `close_old_connections` to request_started
and request_finished whatever DATABASES holds; with none configured each call still walks the
connection handler, and every request pays for both signals' dispatch. Tasks live in DynamoDB, so a
process that serves HTTP takes them off once, at start-up.
"""
from django.conf import settings
from django.core.signals import request_finished, request_started

DUMMY = "django.db.backends.dummy"


def drop_sql_request_hooks(databases: dict | None = None) -> bool:
    """Disconnects django.db's request hooks when no database is configured or only Django's
    dummy backend (`databases`, by default settings.DATABASES); returns whether it did."""
    databases = settings.DATABASES if databases is None else databases
    # Once anything touches django.db.connections, an empty DATABASES holds the dummy backend.
    if any(config.get("ENGINE", DUMMY) != DUMMY for config in databases.values()):
        return False
    from django.db import close_old_connections, reset_queries

    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    return True
