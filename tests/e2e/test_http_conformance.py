"""HTTP semantics as caches and generic clients rely on them (RFC 9110, 9111), over real HTTP to a live server:
caching headers, conditional requests, HEAD and OPTIONS on /tasks and /tasks/{taskId}."""
from email.utils import format_datetime, parsedate_to_datetime

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.fixture
def task(api_server) -> dict:
    response = requests.post(f"{api_server.url}/tasks", json={"title": "Conformance", "tags": ["http"]}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _url(api_server, task: dict) -> str:
    return f"{api_server.url}/tasks/{task['taskId']}"


def _get(url: str, **headers) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def test_task_responses_keep_shared_caches_out_and_revalidate_with_the_etag(api_server, task):
    response = _get(_url(api_server, task))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Accept" in [name.strip() for name in response.headers["Vary"].split(",")]
    assert response.headers["ETag"] == '"1"'
    assert parsedate_to_datetime(response.headers["Last-Modified"]).isoformat() == task["updatedAt"][:19] + "+00:00"
    listing = requests.get(f"{api_server.url}/tasks", timeout=10)
    assert listing.headers["Cache-Control"] == "private, no-cache"


def test_errors_are_never_stored(api_server, task):
    missing = _get(f"{api_server.url}/tasks/00000000-0000-4000-8000-000000000000")
    bad = requests.get(f"{api_server.url}/tasks", params={"limit": "5.0"}, timeout=10)
    not_allowed = requests.post(_url(api_server, task), json={}, timeout=10)

    assert [r.status_code for r in (missing, bad, not_allowed)] == [404, 400, 405]
    assert [r.headers["Cache-Control"] for r in (missing, bad, not_allowed)] == ["no-store"] * 3
    assert set(not_allowed.headers["Allow"].replace(" ", "").split(",")) == {
        "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    assert bad.json()["errors"] == {"limit": ["Must be a whole number written with digits only, such as 20."]}


def test_not_acceptable_is_a_problem_document(api_server, task):
    response = _get(_url(api_server, task), Accept="text/csv")

    assert response.status_code == 406
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("if_none_match", ['"1"', 'W/"1"', '"7", "1"', "*"])
def test_if_none_match_that_matches_answers_304_with_the_validators_and_no_body(api_server, task, if_none_match):
    response = _get(_url(api_server, task), **{"If-None-Match": if_none_match})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Last-Modified" in response.headers


def test_if_modified_since_answers_304_until_the_task_changes_and_yields_to_if_none_match(api_server, task):
    url = _url(api_server, task)
    last_modified = _get(url).headers["Last-Modified"]

    assert _get(url, **{"If-Modified-Since": last_modified}).status_code == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2): a stale tag gets the task.
    assert _get(url, **{"If-Modified-Since": last_modified, "If-None-Match": '"0"'}).status_code == 200
    assert _get(url, **{"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status_code == 200
    assert _get(url, **{"If-Modified-Since": "not a date"}).status_code == 200  # an invalid date is ignored


def test_if_match_on_get_that_no_longer_matches_is_412(api_server, task):
    url = _url(api_server, task)

    assert _get(url, **{"If-Match": '"1"'}).status_code == 200
    assert _get(url, **{"If-Match": "*"}).status_code == 200
    stale = _get(url, **{"If-Match": '"2"'})
    assert stale.status_code == 412 and stale.headers["Content-Type"] == "application/problem+json"
    assert _get(url, **{"If-Match": 'W/"1"'}).status_code == 412  # If-Match compares strongly


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_if_none_match_star_on_an_update_of_an_existing_task_is_412_and_writes_nothing(api_server, task, method):
    url = _url(api_server, task)
    response = requests.request(method, url, json={"title": "Overwritten"}, headers={"If-None-Match": "*"},
                                timeout=10)

    assert response.status_code == 412
    assert response.json()["detail"] == "If-None-Match matches the task's current ETag (or is *, and the task exists)."
    assert _get(url).json() == task


def test_if_none_match_star_on_delete_is_412_and_the_task_stays(api_server, task):
    url = _url(api_server, task)

    assert requests.delete(url, headers={"If-None-Match": "*"}, timeout=10).status_code == 412
    assert _get(url).status_code == 200


def test_if_unmodified_since_guards_writes(api_server, task):
    url = _url(api_server, task)
    modified = parsedate_to_datetime(_get(url).headers["Last-Modified"])
    before = format_datetime(modified.replace(year=modified.year - 1), usegmt=True)

    refused = requests.patch(url, json={"title": "Late"}, headers={"If-Unmodified-Since": before}, timeout=10)
    accepted = requests.patch(url, json={"title": "On time"},
                              headers={"If-Unmodified-Since": format_datetime(modified, usegmt=True)}, timeout=10)

    assert refused.status_code == 412
    assert (accepted.status_code, accepted.json()["title"], accepted.json()["version"]) == (200, "On time", 2)


def test_an_update_that_changes_nothing_keeps_the_etag_and_last_modified(api_server, task):
    url = _url(api_server, task)
    before = _get(url)

    same = requests.patch(url, json={"title": "Conformance", "tags": ["http"], "status": "pending"},
                          headers={"If-Match": '"1"'}, timeout=10)

    assert same.status_code == 200
    assert same.json() == task
    assert (same.headers["ETag"], same.headers["Last-Modified"]) == (before.headers["ETag"],
                                                                     before.headers["Last-Modified"])
    assert _get(url, **{"If-None-Match": before.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/tasks", "/tasks/{taskId}"])
def test_head_answers_gets_headers_without_a_body(api_server, task, path):
    url = api_server.url + path.format(taskId=task["taskId"])
    get = _get(url)
    head = requests.head(url, timeout=10)

    assert head.status_code == 200
    assert head.content == b""
    for name in ("Content-Type", "Content-Length", "Cache-Control", "Vary"):
        assert head.headers[name] == get.headers[name], name
    if path != "/tasks":
        assert (head.headers["ETag"], head.headers["Last-Modified"]) == (get.headers["ETag"],
                                                                         get.headers["Last-Modified"])


@pytest.mark.parametrize("path, methods", [
    ("/tasks", {"GET", "POST", "HEAD", "OPTIONS"}),
    ("/tasks/{taskId}", {"GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
])
def test_options_lists_the_methods_and_cors_preflight_admits_conditional_headers(api_server, task, path, methods):
    url = api_server.url + path.format(taskId=task["taskId"])
    options = requests.options(url, timeout=10)
    preflight = requests.options(url, timeout=10, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "if-match, if-unmodified-since, content-type"})

    assert options.status_code == 200
    assert set(options.headers["Allow"].replace(" ", "").split(",")) == methods
    assert preflight.status_code == 200
    allowed = {name.strip() for name in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"} <= allowed


def test_browser_code_can_read_retry_after_and_the_validators(api_server, task):
    response = _get(_url(api_server, task), Origin="https://app.example.com")

    exposed = {name.strip().lower() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "etag", "last-modified", "location"} <= exposed


def test_merge_patch_media_type_is_accepted_for_patch_only(api_server, task):
    url = _url(api_server, task)
    body = '{"description": "Merged", "priority": "high"}'

    patched = requests.patch(url, data=body, headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    put = requests.put(url, data=body, headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    post = requests.post(f"{api_server.url}/tasks", data='{"title": "x"}',
                         headers={"Content-Type": "application/merge-patch+json"}, timeout=10)

    assert (patched.status_code, patched.json()["priority"], patched.json()["description"]) == (200, "high", "Merged")
    assert [put.status_code, post.status_code] == [415, 415]
