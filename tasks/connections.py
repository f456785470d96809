"""WebSocket connection records on DynamoDB: the only module that touches ConnectionModel."""
import time
from dataclasses import dataclass

from django.conf import settings

from tasks.models import ConnectionModel

ANONYMOUS = "-"  # the owner of anonymous (demo-mode) connections; GSI keys cannot be empty


@dataclass(frozen=True)
class Connection:
    connection_id: str
    owner: str | None
    endpoint: str


def connection_save(*, connection_id: str, owner: str | None, endpoint: str, connected_at: str) -> None:
    """Records an open connection; it lapses (TTL) after CONNECTION_TTL_SECONDS."""
    ConnectionModel(connection_id, owner=owner or ANONYMOUS, endpoint=endpoint, connected_at=connected_at,
                    expires_at=int(time.time()) + settings.CONNECTION_TTL_SECONDS).save()


def connection_get(*, connection_id: str) -> Connection | None:
    """Returns the open connection `connection_id`, or None (never recorded, closed or lapsed)."""
    try:
        item = ConnectionModel.get(connection_id, consistent_read=True)
    except ConnectionModel.DoesNotExist:
        return None
    return _connection(item) if item.expires_at > time.time() else None


def connection_delete(*, connection_id: str) -> None:
    """Forgets a connection; forgetting one that is gone already is not an error."""
    ConnectionModel(connection_id).delete()


def connections_of(*, owner: str | None) -> list[Connection]:
    """Returns the owner's open connections: one Query of the owner index (lapsed ones TTL has not removed yet left out)."""
    now = time.time()
    return [_connection(item) for item in ConnectionModel.owner_index.query(owner or ANONYMOUS)
            if item.expires_at > now]


def _connection(item: ConnectionModel) -> Connection:
    return Connection(connection_id=item.connection_id, owner=None if item.owner == ANONYMOUS else item.owner,
                      endpoint=item.endpoint)
