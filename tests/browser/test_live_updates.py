"""Headless Chromium on the browsable API's task list sees a change made elsewhere live (issue 14): the page's
own WebSocket to the local gateway gets the push from the real stream consumer and shows a notice."""
import time

import pytest
import requests
from selenium.webdriver.common.by import By

from ops.streams import StreamPoller
from ops.ws_gateway import LocalWebSocketGateway
from taskapi.lambda_function import handler
from tests import harness

pytestmark = pytest.mark.browser


def test_the_task_list_shows_a_change_made_elsewhere_with_a_reload_link(chrome, table, artifacts):
    gateway = LocalWebSocketGateway(handler=handler, port=0).start()
    server = harness.LiveServer(WEBSOCKET_PUBLIC_URL=gateway.url,
                                AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=gateway.management_url)
    try:
        from django.test import override_settings

        with override_settings(WEBSOCKET_CALLBACK_URL=gateway.management_url):
            poller = StreamPoller(table=table, handler=handler, start="latest")
            poller.poll()  # past what earlier tests wrote, handing none of it over
            chrome.get(f"{server.url}/tasks")
            harness.wait_until(lambda: chrome.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "open",
                               timeout=20, what="the page's WebSocket")
            task = requests.post(f"{server.url}/tasks", json={"title": "made elsewhere"}, timeout=10).json()
            notice = chrome.find_element(By.ID, "live-notice")
            deadline = time.monotonic() + 20
            while not notice.is_displayed():
                assert time.monotonic() < deadline, "no live notice within 20 s"
                poller.poll()
            assert notice.text == "\u201cmade elsewhere\u201d was created (version 1). Reload the list"
            chrome.save_screenshot(str(artifacts / "live-notice.png"))
            chrome.find_element(By.ID, "live-reload").click()
            harness.wait_until(lambda: task["taskId"] in chrome.find_element(By.TAG_NAME, "body").text,
                               timeout=20, what="the reloaded list")
    finally:
        server.stop()
        gateway.stop()
