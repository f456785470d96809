"""Bulk export and import of a tasks table as JSON Lines: parallel, streamed, resumable, never clobbering newer data.

Each line is one item in DynamoDB JSON ({"taskId": {"S": ...}, "version": {"N": "3"}, ...}), the format of
DynamoDB's own S3 export, so every attribute, its type, the version and both timestamps survive as they are.
Progress is checkpointed next to the file (`<file>.checkpoint`); a second run with the same file resumes.
"""
import itertools
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ops import aws

# Written only when absent, or when the stored copy is older: a lower version, or the same version last
# updated earlier. An equal copy is left alone, so re-running an import changes nothing.
NEWER_ONLY = "attribute_not_exists(#id) OR #v < :v OR (#v = :v AND #u < :u)"
CHUNK = 500  # lines per import checkpoint
MAX_ATTEMPTS = 8


class Progress:
    """Counts items; on a terminal a tqdm bar with rate and ETA, otherwise a plain line every `every` items."""

    def __init__(self, *, total: int | None, what: str, stream=None, every: int = 1000) -> None:
        self.stream = stream or sys.stderr
        self.what, self.total, self.every, self.done = what, total, every, 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm  # an operator's tool (requirements-dev), never on Lambda

            self._bar = tqdm(total=total, unit=" tasks", desc=what, file=self.stream, dynamic_ncols=True)

    def advance(self, count: int, *, done_before: int = 0) -> None:
        """Adds `count` items (and, once on resume, `done_before` already done by an earlier run)."""
        with self._lock:
            before = self.done
            self.done += count + done_before
            if self._bar is not None:
                self._bar.update(count + done_before)
            elif self.done // self.every > before // self.every:
                self.stream.write(self._line() + "\n")
                self.stream.flush()

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        of = f"/{self.total}" if self.total else ""
        eta = f", ETA {max(self.total - self.done, 0) / rate:.0f} s" if self.total and rate else ""
        return f"{self.what}: {self.done}{of} tasks, {rate:.0f}/s{eta}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        else:
            self.stream.write(self._line() + " (done)\n")


def _checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + ".checkpoint")


def _checkpoint_read(path: Path) -> dict | None:
    try:
        return json.loads(_checkpoint_path(path).read_text())
    except FileNotFoundError:
        return None


def _checkpoint_write(path: Path, state: dict) -> None:
    # Written to a temporary file and renamed, so an interruption never leaves half a checkpoint.
    temporary = _checkpoint_path(path).with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, _checkpoint_path(path))


@dataclass
class ExportResult:
    table: str
    items: int
    resumed: bool


def tasks_export(*, table: str, out: Path, segments: int = 4, progress: Progress | None = None,
                 page_size: int | None = None) -> ExportResult:
    """Writes every item of `table` to `out`, one JSON line each, scanning `segments` segments in parallel.

    `page_size` caps the items per Scan page (default: DynamoDB's 1 MB pages). Resumes from `<out>.checkpoint` when one is there (the file is cut back to its last checkpointed length,
    so no line is written twice); removes it when done. Raises aws.AwsUnavailable or ClientError.
    """
    state = _checkpoint_read(out)
    resumed = state is not None
    if state is None or state.get("table") != table or state.get("segments") != segments:
        state = {"kind": "export", "table": table, "segments": segments, "offset": 0, "items": 0,
                 "next": {str(segment): None for segment in range(segments)}, "done": []}
        resumed = False
    mode = "r+b" if resumed and out.exists() else "wb"
    lock, stop = threading.Lock(), threading.Event()
    with open(out, mode) as file:
        file.truncate(state["offset"])
        file.seek(state["offset"])
        if progress and state["items"]:
            progress.advance(0, done_before=state["items"])

        def scan(segment: int) -> None:
            start = state["next"][str(segment)]
            while str(segment) not in state["done"] and not stop.is_set():
                items, start = aws.items_scan_page(table, segment=segment, segments=segments, start=start,
                                                   limit=page_size)
                data = b"".join(json.dumps(item, separators=(",", ":")).encode() + b"\n" for item in items)
                with lock:
                    file.write(data)
                    file.flush()
                    state["offset"] = file.tell()
                    state["items"] += len(items)
                    state["next"][str(segment)] = start
                    if start is None:
                        state["done"].append(str(segment))
                    _checkpoint_write(out, state)
                if progress:
                    progress.advance(len(items))

        def scan_until_stopped(segment: int) -> None:
            try:
                scan(segment)
            except BaseException:
                stop.set()  # the other segments stop after their current page
                raise

        with ThreadPoolExecutor(max_workers=segments) as pool:
            futures = [pool.submit(scan_until_stopped, segment) for segment in range(segments)]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C in the main thread, or a segment's error
                stop.set()
                raise
    _checkpoint_path(out).unlink()
    return ExportResult(table=table, items=state["items"], resumed=resumed)


@dataclass
class ImportResult:
    table: str
    written: int
    kept: int  # the table already had this copy or a newer one
    retried: int
    resumed: bool


def _items(path: Path, start: int) -> Iterator[dict]:
    """Yields the file's items from the `start`-th on, reading one line at a time."""
    with open(path, "rb") as file:
        lines = (line for line in file if line.strip())
        for line in itertools.islice(lines, start, None):
            yield json.loads(line)


def lines_count(path: Path) -> int:
    """Returns the number of items in an export file (streamed)."""
    with open(path, "rb") as file:
        return sum(1 for line in file if line.strip())


def _put(table: str, item: dict, *, sleep: Callable[[float], None]) -> tuple[bool, int]:
    values = {":v": item["version"], ":u": item["updatedAt"]}
    names = {"#id": "taskId", "#v": "version", "#u": "updatedAt"}
    for attempt in range(MAX_ATTEMPTS):
        try:
            return aws.item_put_if(table, item, condition=NEWER_ONLY, values=values, names=names), attempt
        except aws.Throttled:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            sleep(min(0.05 * 2 ** attempt, 5) * random.uniform(0.5, 1))  # nosec B311 - jitter, not security
    raise AssertionError("unreachable")


def tasks_import(*, table: str, source: Path, workers: int = 8, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> ImportResult:
    """Writes the items of the export file `source` into `table`, never replacing a newer copy of a task.

    Each item is a conditional PutItem (BatchWriteItem takes no conditions), `workers` at a time; a
    throttled one is retried with exponential backoff and jitter. Resumes from `<source>.checkpoint`.
    Raises aws.Throttled after MAX_ATTEMPTS, aws.AwsUnavailable or ClientError.
    """
    state = _checkpoint_read(source)
    resumed = bool(state) and state.get("table") == table and state.get("kind") == "import"
    if not resumed:
        state = {"kind": "import", "table": table, "line": 0, "written": 0, "kept": 0, "retried": 0}
    if progress and state["line"]:
        progress.advance(0, done_before=state["line"])
    items = _items(source, state["line"])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            chunk = list(itertools.islice(items, CHUNK))
            if not chunk:
                break
            for written, retries in pool.map(lambda item: _put(table, item, sleep=sleep), chunk):
                state["written" if written else "kept"] += 1
                state["retried"] += retries
            state["line"] += len(chunk)
            _checkpoint_write(source, state)
            if progress:
                progress.advance(len(chunk))
    _checkpoint_path(source).unlink(missing_ok=True)
    return ImportResult(table=table, written=state["written"], kept=state["kept"], retried=state["retried"],
                        resumed=resumed)
