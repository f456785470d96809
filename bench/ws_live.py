"""Live-update latency on `make run` (issue 14): the real `make run` (emulator, stream poller, local WebSocket
gateway, runserver) in a child process, one WebSocket client (and with --browser headless Chromium on the
browsable task list), and HTTP writes; per write, the time from sending it to its change message on the
socket (and to the page's live notice showing it). Writes are spaced by a random pause (fixed seed) so they
land at every phase of the poller's idle interval. `python -m bench.ws_live --writes N`."""
import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess  # nosec B404 - runs this repository's own `make run`
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request(method: str, url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310 - the child's own http:// URL
        return json.loads(response.read() or b"{}")


def _wait_for(url: str, child: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"make run exited with {child.returncode}")
        try:
            _request("GET", url)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"make run did not serve {url} in {seconds:.0f} s")


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
            "max": ordered[-1], "n": len(ordered)}


# Every change the page's live notice shows, with the browser's clock (milliseconds since the epoch, as time.time()).
_MARKS = """
window.__marks = [];
var notice = document.getElementById("live-notice");
new MutationObserver(function () { window.__marks.push([Date.now(), notice.textContent]); })
  .observe(notice, {childList: true, subtree: true, characterData: true});
"""


def _browser(url: str):
    """Headless Debian Chromium (as the browser suite drives it) on the browsable task list at `url`, its live
    notice watched; returns the driver once the page's WebSocket is open."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get(url)
    deadline = time.monotonic() + 30
    while driver.execute_script("return document.body.getAttribute('data-live')") != "open":
        if time.monotonic() > deadline:
            driver.quit()
            raise RuntimeError("the page's WebSocket did not open in 30 s")
        time.sleep(0.05)
    driver.execute_script(_MARKS)
    return driver


def _browser_mark(driver, text: str, *, timeout: float = 30) -> float:
    """Returns when (ms since the epoch) the page's live notice first showed `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for at, shown in driver.execute_script("return window.__marks"):
            if text in shown:
                return at
        time.sleep(0.01)
    raise RuntimeError(f"the page never showed {text!r}")


def run(writes: int, *, interval: float | None, pause: float, browser: bool = False, seed: int = 7) -> dict:
    from websockets.sync.client import connect

    ports = {"PORT": _free_port(), "EMULATOR_PORT": _free_port(), "WS_PORT": _free_port()}
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"):
        env.pop(name, None)
    if interval is not None:
        env["STREAM_POLL_INTERVAL"] = str(interval)
    args = ["make", "--no-print-directory", "run", *(f"{name}={port}" for name, port in ports.items())]
    if interval is not None:
        args.append(f"STREAM_POLL_INTERVAL={interval}")
    child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,  # nosec B603 - fixed argv
                             stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{ports['PORT']}"
    rng = random.Random(seed)
    kinds: dict[str, list[float]] = {"created": [], "updated": [], "deleted": []}
    after_response: list[float] = []
    in_browser: list[float] = []
    driver = None
    try:
        _wait_for(f"{base}/tasks?limit=1", child)
        if browser:
            driver = _browser(f"{base}/tasks")
        with connect(f"ws://127.0.0.1:{ports['WS_PORT']}", open_timeout=30) as client:

            def write(method: str, path: str, change: str, body: dict | None = None, *, title: str) -> dict:
                time.sleep(rng.uniform(0, pause))
                started, started_at = time.perf_counter(), time.time() * 1000
                answer = _request(method, f"{base}{path}", body)
                answered = time.perf_counter()
                task_id = answer.get("taskId") or path.rsplit("/", 1)[-1]
                while True:
                    message = json.loads(client.recv(timeout=30))
                    if message.get("taskId") == task_id and message.get("change") == change:
                        break
                done = time.perf_counter()
                kinds[change].append((done - started) * 1000)
                after_response.append((done - answered) * 1000)
                if driver is not None:  # what the page's notice says of this change (see api.html)
                    shown = f"Task {task_id} was deleted" if change == "deleted" else f"\u201c{title}\u201d was {change}"
                    in_browser.append(_browser_mark(driver, shown) - started_at)
                return answer

            # The poller, handler and page are warm from here.
            write("POST", "/tasks", "created", {"title": "warm-up"}, title="warm-up")
            kinds["created"].clear()
            after_response.clear()
            in_browser.clear()
            for number in range(writes):
                title = f"live {number}"
                task = write("POST", "/tasks", "created", {"title": title}, title=title)
                write("PATCH", f"/tasks/{task['taskId']}", "updated", {"status": "in_progress"}, title=title)
                write("DELETE", f"/tasks/{task['taskId']}", "deleted", title=title)
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    every = [value for values in kinds.values() for value in values]
    return {"interval": interval, "writes": writes, "load": os.getloadavg()[0],
            "rows": {**{kind: _percentiles(values) for kind, values in kinds.items()}, "every change": _percentiles(every),
                     "after the HTTP response": _percentiles(after_response),
                     **({"in the browser (notice)": _percentiles(in_browser)} if in_browser else {})}}


def table(results: list[dict]) -> str:
    lines = ["live updates on `make run` (HTTP write sent -> its change message on a WebSocket client), ms",
             f"  {'poll interval':>13}  {'writes':<24}  {'n':>4}  {'p50':>7}  {'p95':>7}  {'max':>7}  load"]
    for result in results:
        interval = "make run's" if result["interval"] is None else f"{result['interval']} s"
        for name, row in result["rows"].items():
            lines.append(f"  {interval:>13}  {name:<24}  {row['n']:>4}  {row['p50']:>7.1f}  {row['p95']:>7.1f}"
                         f"  {row['max']:>7.1f}  {result['load']:.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=20, help="tasks created, updated and deleted (3 changes each)")
    parser.add_argument("--intervals", default="", help="comma-separated STREAM_POLL_INTERVAL values to compare; "
                                                        "empty: make run's own")
    parser.add_argument("--pause", type=float, default=0.6, help="at most this many seconds between writes")
    parser.add_argument("--browser", action="store_true",
                        help="also time each change to the live notice of the task list in headless Chromium")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    intervals = [float(value) for value in args.intervals.split(",") if value] or [None]
    results = [run(args.writes, interval=interval, pause=args.pause, browser=args.browser) for interval in intervals]
    print(json.dumps(results) if args.json else table(results))


if __name__ == "__main__":
    sys.exit(main())
