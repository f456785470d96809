"""Content negotiation is remembered per Accept header, format and renderers, and answers as DRF's own does."""
import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from taskapi.negotiation import MAX_REMEMBERED, RememberedContentNegotiation
from taskapi.renderers import ProblemAwareJSONRenderer, TaskBrowsableAPIRenderer

ACCEPTS = ["*/*", "application/json", "text/html", "application/json; indent=4", "text/html;q=0.9, */*;q=0.8",
           "application/*", "text/*, application/json;q=0.5", "application/json, text/html"]


@pytest.fixture(autouse=True)
def forget():
    RememberedContentNegotiation._remembered.clear()
    yield
    RememberedContentNegotiation._remembered.clear()


def request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(f"/tasks{query}", **headers))


def renderers() -> list:
    return [ProblemAwareJSONRenderer(), TaskBrowsableAPIRenderer()]


@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
@pytest.mark.parametrize("accept", [*ACCEPTS, None])
def test_every_negotiation_answers_as_drf_does_the_first_time_and_the_next(accept, query):
    try:
        renderer, media_type = DefaultContentNegotiation().select_renderer(request(accept, query), renderers())
    except NotAcceptable:
        for _ in range(2):
            with pytest.raises(NotAcceptable):
                RememberedContentNegotiation().select_renderer(request(accept, query), renderers())
        assert RememberedContentNegotiation._remembered == {}
        return
    for _ in range(2):
        offered = renderers()
        chosen, chosen_type = RememberedContentNegotiation().select_renderer(request(accept, query), offered)
        assert (type(chosen), chosen_type) == (type(renderer), media_type)
        assert any(chosen is candidate for candidate in offered)  # this request's own renderer instance
    assert len(RememberedContentNegotiation._remembered) == 1


def test_a_refusal_is_raised_every_time_and_not_remembered():
    for _ in range(2):
        with pytest.raises(NotAcceptable):
            RememberedContentNegotiation().select_renderer(request("application/xml"), renderers())
    assert RememberedContentNegotiation._remembered == {}


def test_distinct_accept_headers_past_the_limit_are_negotiated_but_not_remembered():
    for number in range(MAX_REMEMBERED + 10):
        _, media_type = RememberedContentNegotiation().select_renderer(
            request(f"application/json; v={number}"), renderers())
        assert media_type == f"application/json; v={number}"
    assert len(RememberedContentNegotiation._remembered) == MAX_REMEMBERED
