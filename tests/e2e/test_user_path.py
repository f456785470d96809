"""The user's path end to end: provision the table with manage.py, then use the API at a few hundred tasks."""
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.capabilities import missing, needs
from tests.harness import ROOT, dynamodb

pytestmark = pytest.mark.e2e


def manage(*args: str) -> subprocess.CompletedProcess:
    """Runs `python manage.py ARGS` as a user would, with this test run's environment."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


@pytest.fixture
def fresh_table_name():
    name = f"taskapi-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        dynamodb().delete_table(TableName=name)
    except dynamodb().exceptions.ResourceNotFoundException:
        pass


def test_create_table_makes_the_seed_table_and_is_idempotent(fresh_table_name):
    first = manage("create_table", "--table", fresh_table_name)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"table {fresh_table_name}: create"

    table = dynamodb().describe_table(TableName=fresh_table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "taskId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    # Issue 18: only the write-sharded listing indexes; a new table never gets status-index and
    # owner-status-index (their hot keys cap creates, and a new table's listings never read them).
    for name, attribute in (("list-shard-index", "listKey"), ("priority-shard-index", "priorityKey")):
        sharded = indexes.pop(name)
        assert (sharded["KeySchema"], sharded["Projection"]) == (
            [{"AttributeName": attribute, "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}],
            {"ProjectionType": "ALL"})
    assert indexes == {}
    assert sorted(a["AttributeName"] for a in table["AttributeDefinitions"]) == [
        "createdAt", "listKey", "priorityKey", "taskId"]

    second = manage("create_table", "--table", fresh_table_name)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == f"table {fresh_table_name}: unchanged"
    if missing("pitr"):
        assert second.stdout.splitlines()[1] == (
            f"point-in-time recovery on {fresh_table_name}: skipped (this endpoint does not support it)")


def test_create_table_enables_point_in_time_recovery(fresh_table_name):
    needs("pitr")
    assert manage("create_table", "--table", fresh_table_name).returncode == 0
    backups = dynamodb().describe_continuous_backups(TableName=fresh_table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert manage("create_table", "--table", fresh_table_name).stdout.splitlines()[1] == (
        f"point-in-time recovery on {fresh_table_name}: unchanged")


def test_create_table_encrypts_at_rest(fresh_table_name):
    needs("sse")
    assert manage("create_table", "--table", fresh_table_name).returncode == 0
    table = dynamodb().describe_table(TableName=fresh_table_name)["Table"]
    assert table["SSEDescription"]["Status"] == "ENABLED"


def test_create_table_tags_the_table(fresh_table_name):
    needs("tags")
    assert manage("create_table", "--table", fresh_table_name).returncode == 0
    arn = dynamodb().describe_table(TableName=fresh_table_name)["Table"]["TableArn"]
    tags = {t["Key"]: t["Value"] for t in dynamodb().list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"app": "taskapi", "stage": "test"}


def test_create_table_dry_run_writes_nothing(fresh_table_name):
    result = manage("create_table", "--table", fresh_table_name, "--dry-run")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == f"table {fresh_table_name}: create"
    assert fresh_table_name not in dynamodb().list_tables()["TableNames"]


def test_create_table_against_an_unreachable_endpoint_fails_in_one_line():
    port_nobody_listens_on = "http://127.0.0.1:9"
    result = subprocess.run([sys.executable, "manage.py", "create_table"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "AWS_ENDPOINT_URL": port_nobody_listens_on,
                                              "AWS_ENDPOINT_URL_DYNAMODB": port_nobody_listens_on,
                                              "AWS_MAX_ATTEMPTS": "1"})
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: cannot reach {port_nobody_listens_on}/"


def test_listing_a_few_hundred_tasks_over_http(api_server, table):
    url = f"{api_server.url}/tasks"
    statuses = ("pending", "in_progress", "completed")

    def create(i):
        response = requests.post(url, json={"title": f"bulk {i}", "status": statuses[i % 3],
                                            "tags": ["even"] if i % 2 == 0 else []}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(300)))

    for params, expected in [
        ({"limit": 100}, created),
        ({"limit": 37, "status": "in_progress"}, [t for t in created if t["status"] == "in_progress"]),
        ({"limit": 50, "tag": "even", "order": "asc"}, [t for t in created if "even" in t["tags"]]),
    ]:
        seen, link = [], f"{url}?{requests.compat.urlencode(params)}"
        while link:
            page = requests.get(link, timeout=30)
            assert page.status_code == 200, page.text
            assert len(page.json()["results"]) > 0
            seen += page.json()["results"]
            link = page.json()["next"]
        order = params.get("order", "desc")
        assert [t["taskId"] for t in seen] == [t["taskId"] for t in sorted(
            expected, key=lambda t: (t["createdAt"], t["taskId"]), reverse=order == "desc")]
