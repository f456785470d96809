from rest_framework.test import APIClient


def test_create_then_get_returns_the_same_task(table):
    client = APIClient()
    created = client.post("/tasks", {"title": "Write tests"}, format="json")
    assert created.status_code == 201
    fetched = client.get(f"/tasks/{created.json()['taskId']}")
    assert fetched.json() == created.json()
