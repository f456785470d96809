"""Unit-test fixtures: Django's test client in-process, DynamoDB on the session's emulator."""
import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_task(api):
    """Creates a task through the API and returns its JSON."""

    def make(**fields):
        response = api.post("/tasks", {"title": "A task", **fields}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return make
