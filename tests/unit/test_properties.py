"""Property tests (Hypothesis): the cursor codec and input validation hold for any input, not just examples."""
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from tasks.domain import PRIORITIES, STATUSES, Task, timestamp
from tasks.pagination import InvalidCursor, cursor_decode, cursor_encode
from tasks.serializers import RFC3339Field, TaskListQuerySerializer, TaskWriteSerializer

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                  timezone(timedelta(hours=-11))]))
filters = st.dictionaries(st.sampled_from(["status", "priority", "tag", "createdFrom", "createdTo", "order"]),
                          st.text(max_size=30), max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


def _task(created_at: str, task_id: str) -> Task:
    return Task(task_id=task_id, title="t", status="pending", priority="low", created_at=created_at,
                updated_at=created_at, version=1)


@PROPERTY
@given(moment=moments, task_id=st.uuids().map(str), bound=filters)
def test_a_cursor_decodes_to_the_position_it_was_made_for(moment, task_id, bound):
    cursor = cursor_encode(last=_task(timestamp(moment), task_id), filters=bound)
    assert cursor_decode(cursor, filters=bound) == (timestamp(moment), task_id)
    assert cursor.isascii() and cursor.isprintable() and " " not in cursor  # safe in a URL query


@PROPERTY
@given(moment=moments, task_id=st.uuids().map(str), bound=filters, other=filters)
def test_a_cursor_made_for_other_filters_is_refused(moment, task_id, bound, other):
    cursor = cursor_encode(last=_task(timestamp(moment), task_id), filters=bound)
    if other != bound:
        try:
            cursor_decode(cursor, filters=other)
        except InvalidCursor:
            return
        raise AssertionError("a cursor crossed filters")


@PROPERTY
@given(moment=moments, task_id=st.uuids().map(str), data=st.data())
def test_a_tampered_cursor_never_yields_another_position(moment, task_id, data):
    position = (timestamp(moment), task_id)
    cursor = cursor_encode(last=_task(*position), filters={})
    index = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != cursor[index]))
    tampered = cursor[:index] + replacement + cursor[index + 1:]
    try:
        assert cursor_decode(tampered, filters={}) == position
    except InvalidCursor:
        pass


@PROPERTY
@given(text=st.text(max_size=200))
def test_any_text_as_cursor_is_refused_cleanly(text):
    try:
        cursor_decode(text, filters={})
    except InvalidCursor:
        return
    raise AssertionError(f"{text!r} decoded")


@PROPERTY
@given(first=moments, second=moments)
def test_timestamps_sort_as_the_moments_they_name(first, second):
    a, b = timestamp(first), timestamp(second)
    assert len(a) == len(b) == 24
    truncated = [moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)
                 for moment in (first, second)]
    assert (a < b) == (truncated[0] < truncated[1]) and (a == b) == (truncated[0] == truncated[1])


@PROPERTY
@given(moment=moments)
def test_rfc3339_input_is_normalised_to_the_utc_timestamp(moment):
    assert RFC3339Field().to_internal_value(moment.isoformat()) == timestamp(moment)


@PROPERTY
@given(body=json_values | st.dictionaries(st.sampled_from(["title", "description", "status", "priority",
                                                            "dueDate", "tags", "taskId", "extra"]),
                                          json_values, max_size=7), partial=st.booleans())
def test_task_input_is_either_refused_or_meets_every_rule(body, partial):
    serializer = TaskWriteSerializer(data=body, partial=partial)
    try:
        valid = serializer.is_valid()
    except Exception as error:  # anything but a verdict is a bug (it would be a 500)
        raise AssertionError(f"{body!r} raised {error!r}") from error
    if not valid:
        assert serializer.errors
        return
    data = serializer.validated_data
    assert isinstance(body, dict) and set(body) <= {"title", "description", "status", "priority", "dueDate", "tags"}
    assert partial or "title" in data
    assert data or not partial
    if "title" in data:
        assert 1 <= len(data["title"]) <= 200 and data["title"] == data["title"].strip()
    assert data.get("status", "pending") in STATUSES and data.get("priority", "medium") in PRIORITIES
    if data.get("due_date") is not None:
        assert len(data["due_date"]) == 24 and data["due_date"].endswith("Z")
    tags = data.get("tags", [])
    assert len(tags) <= 50 and len(set(tags)) == len(tags) and all(1 <= len(tag) <= 64 for tag in tags)
    assert all("\x00" not in value for value in [data.get("title", ""), data.get("description") or "", *tags])


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["status", "priority", "tag", "createdFrom", "createdTo", "order",
                                               "limit", "cursor"]), st.text(max_size=40), max_size=8))
def test_listing_parameters_are_either_refused_or_within_bounds(params):
    serializer = TaskListQuerySerializer(data=params)
    if not serializer.is_valid():
        return
    data = serializer.validated_data
    assert 1 <= data["limit"] <= 100 and data["order"] in {"asc", "desc"}
    if "createdFrom" in data and "createdTo" in data:
        assert data["createdFrom"] <= data["createdTo"]


def test_validation_errors_are_validation_errors():
    """The property above relies on is_valid() turning bad input into errors; spot-check one of each kind."""
    for body in ({"title": ""}, {"title": "x", "tags": ["a", "a"]}, {"title": "x", "dueDate": "0001-01-01T00:00:00+01:00"}):
        serializer = TaskWriteSerializer(data=body)
        assert not serializer.is_valid()
        assert isinstance(serializer.errors, dict | serializers.ReturnDict)
