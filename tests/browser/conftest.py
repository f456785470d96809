"""Browser suite set-up: headless Debian Chromium via Selenium, its network log, and the sites it drives.

Each site serves the same app: `local` (runserver at the root), `stage` (the WSGI app under /dev) and
`lambda` (the Lambda handler behind an API Gateway REST bridge under /dev).
"""
import importlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import harness
from tests.http_bridges import ApiGatewayRestBridge, WsgiStageBridge

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = harness.ROOT / "tests" / "artifacts" / "browser"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--window-size=1280,900",
)


@dataclass
class Request:
    """One request the page made, from Chrome's DevTools Network events."""

    url: str
    method: str
    status: int | None = None
    failure: str | None = None


@dataclass
class NetworkLog:
    """Every request Chrome made, read from its performance log (CDP Network.* events)."""

    driver: object
    requests: list[Request] = field(default_factory=list)
    _by_id: dict[str, Request] = field(default_factory=dict)

    def collect(self) -> list[Request]:
        """Reads the events logged since the last call; returns every request seen so far."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message.get("params", {})
            if method == "Network.requestWillBeSent":
                # A redirect reuses the request id: its response closes the previous request.
                previous = self._by_id.get(params["requestId"])
                if previous is not None and "redirectResponse" in params:
                    previous.status = params["redirectResponse"]["status"]
                request = Request(url=params["request"]["url"], method=params["request"]["method"])
                self._by_id[params["requestId"]] = request
                self.requests.append(request)
            elif method == "Network.responseReceived" and params["requestId"] in self._by_id:
                self._by_id[params["requestId"]].status = params["response"]["status"]
            elif method == "Network.loadingFailed" and params["requestId"] in self._by_id:
                self._by_id[params["requestId"]].failure = params.get("errorText") or "failed"
        return self.requests

    def problems(self, *, origin: str, expected: set[tuple[str, str, int]] = frozenset()) -> list[str]:
        """Returns what went wrong: requests off `origin`, failed requests, and 4xx/5xx not in `expected`.

        `expected` holds (method, url, status) of deliberate errors, such as a validation 400.
        """
        found = []
        for request in self.collect():
            scheme = urlsplit(request.url).scheme
            if scheme in {"data", "blob"}:  # in-page resources; nothing goes over the network
                continue
            if f"{scheme}://{urlsplit(request.url).netloc}" != origin:
                found.append(f"external request: {request.method} {request.url}")
            elif request.failure:
                found.append(f"failed: {request.method} {request.url} ({request.failure})")
            elif request.status is None:
                found.append(f"no response: {request.method} {request.url}")
            elif request.status >= 400 and (request.method, request.url, request.status) not in expected:
                found.append(f"HTTP {request.status}: {request.method} {request.url}")
        return found


@dataclass
class Site:
    """A running copy of the app: `url` is its base (with the stage prefix, if any), `origin` its scheme and host."""

    name: str
    url: str
    origin: str


@pytest.fixture(scope="session")
def chrome():
    """Headless Debian Chromium with a fresh profile; Selenium Manager never downloads anything."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver (see .ci/run).")
    os.environ["SE_OFFLINE"] = "true"  # explicit paths below; this stops any fallback download
    profile = tempfile.mkdtemp(prefix="taskapi-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def network(chrome) -> NetworkLog:
    """The network log of one test: starts on a blank page, with earlier events discarded."""
    chrome.get("about:blank")
    chrome.delete_all_cookies()
    chrome.get_log("performance")
    chrome.get_log("browser")
    return NetworkLog(chrome)


@pytest.fixture
def artifacts(request) -> Path:
    """The folder for this test's screenshots (tests/artifacts/browser, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _lambda_handler():
    """Returns taskapi.lambda_function.handler, imported only when a test asks for it."""
    try:
        module = importlib.import_module("taskapi.lambda_function")
    except ModuleNotFoundError as error:
        if error.name != "taskapi.lambda_function":
            raise
        pytest.skip("taskapi/lambda_function.py does not exist on this branch yet (the Lambda handler's issue)")
    return module.handler


@pytest.fixture(scope="session", params=["local", "stage", "lambda"])
def site(request):
    """The app as a browser reaches it: at the root, under the /dev stage, and through the Lambda handler."""
    if request.param == "local":
        server = harness.LiveServer()
        yield Site("local", server.url, server.url)
        server.stop()
        return
    if request.param == "stage":
        from taskapi.wsgi import application

        bridge = WsgiStageBridge(application)
    else:
        bridge = ApiGatewayRestBridge(_lambda_handler())
    yield Site(request.param, bridge.url, bridge.origin)
    bridge.stop()
