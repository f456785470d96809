"""What a list page costs in DynamoDB calls: Queries on the sharded list index only, items read bounded by the page."""
import uuid

import pytest

from tasks import repository
from tasks.domain import Task
from tasks.models import TaskModel
from tasks.shards import shard_count


@pytest.fixture
def dynamodb_calls():
    """Records every DynamoDB operation the tasks model makes: [operation, index, items read]. A list page
    sends its first Queries from several threads at once, so each answer finds its call by its own context."""
    events = TaskModel._get_connection().connection.client.meta.events
    calls: list[list] = []

    def on_request(params, model, context, **kwargs):
        context["recorded call"] = [model.name, params.get("IndexName"), None]
        calls.append(context["recorded call"])

    def on_response(parsed, context, **kwargs):
        context["recorded call"][2] = parsed.get("ScannedCount", parsed.get("Count"))

    events.register("provide-client-params.dynamodb.*", on_request)
    events.register("after-call.dynamodb.*", on_response)
    yield calls
    events.unregister("after-call.dynamodb.*", on_response)
    events.unregister("provide-client-params.dynamodb.*", on_request)


def _seed(count: int, status: str = "pending") -> None:
    for i in range(count):
        at = f"2026-11-21T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z"
        repository.task_insert(task=Task(task_id=str(uuid.uuid4()), title=f"t{i}", status=status,
                                         priority="medium", created_at=at, updated_at=at, version=1))


def _page_cost(api, dynamodb_calls, params) -> tuple[set, int, int]:
    """Returns the (operation, index) pairs one list page used, the items it read, and its call count."""
    dynamodb_calls.clear()
    assert api.get("/tasks", params).status_code == 200
    operations = {(operation, index) for operation, index, _ in dynamodb_calls}
    return operations, sum(read for _, _, read in dynamodb_calls), len(dynamodb_calls)


def _bound(limit: int, statuses: int) -> int:
    """Items a sharded page may read: each (status, shard) stream's first page, plus about one page more."""
    shards = shard_count()
    per_stream = -(-(limit + 2) // shards) + 2
    return statuses * shards * per_stream + limit + 2 + shards * per_stream


@pytest.mark.parametrize("params", [{"limit": 20}, {"limit": 20, "status": "pending"}, {"limit": 5, "order": "asc"}])
def test_a_list_page_queries_the_sharded_index_and_reads_about_one_page(api, table, dynamodb_calls, params):
    _seed(150)
    _seed(40, status="completed")
    operations, read, calls = _page_cost(api, dynamodb_calls, params)
    statuses = 1 if "status" in params else 3
    assert operations == {("Query", "list-shard-index")}  # never a Scan, never the base table
    assert statuses * shard_count() <= calls <= statuses * shard_count() + shard_count()
    assert read <= _bound(params["limit"], statuses)


def test_page_cost_does_not_grow_with_the_table(api, table, dynamodb_calls):
    _seed(30)
    small = _page_cost(api, dynamodb_calls, {"limit": 10})
    _seed(300)
    large = _page_cost(api, dynamodb_calls, {"limit": 10})
    assert small[0] == large[0] == {("Query", "list-shard-index")}
    assert large[1] <= _bound(10, 3) < 300  # a filter or a Scan would read past the 330 tasks
