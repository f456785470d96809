"""The backfills of issue 18, resumable, online, recorded as they go: the sharded listing keys ("index") and
the tag slots of the tag listing indexes ("tag")."""
import time
from concurrent.futures import ThreadPoolExecutor

from tasks import repository

SEGMENTS = 4
PAGE_SIZE = 200


# Per layout: the repository function that backfills one Scan page, and what it says a task got.
_PAGES = {"index": ("task_index_backfill_page", "keyed"), "tag": ("task_tag_backfill_page", "slotted")}


def backfill(*, fresh: bool, dry_run: bool, out, segments: int = SEGMENTS, page_size: int = PAGE_SIZE,
             layout: str = "index", writers_grace: float = 0) -> None:
    """Brings every task to `layout` (the sharded keys, or the tag slots), then records the layout complete.

    A fresh table has no old tasks, so it is complete at once. Otherwise each of `segments` parallel
    Scan segments goes on from the key recorded last (a rerun after a crash resumes there) and the
    resume point is recorded after every page, so the work lost to a crash is at most one page a segment.
    The tag backfill first records "writing" and waits `writers_grace` seconds: code deployed before the tags
    table wrote no slots, and a process sees the record within TASK_LAYOUT_RECHECK_SECONDS, so after the
    grace (that, plus the longest request) no write without slots is still in flight behind the Scan.
    """
    page_function, verb = _PAGES[layout]
    state, resume = repository.index_backfill_state(layout=layout)
    if state == "complete":
        out.write(f"{layout} backfill: unchanged (complete)")
        return
    if fresh:
        out.write(f"{layout} backfill: complete (new table)")
        if not dry_run:
            repository.index_backfill_record(state="complete", layout=layout)
        return
    if dry_run:
        out.write(f"{layout} backfill: {'resume' if resume else 'start'} ({segments} segments)")
        return
    if layout == "tag" and state in ("missing", "writing"):
        repository.index_backfill_record(state="writing", layout=layout)
        if writers_grace > 0:
            out.write(f"tag backfill: writes keep tag slots from now; waiting {writers_grace:g} s for every process")
            time.sleep(writers_grace)
    if not resume or len(resume) != segments:
        resume = [{"start": None, "done": False} for _ in range(segments)]
    repository.index_backfill_record(state="running", resume=resume, layout=layout)
    totals = {"read": 0, "written": 0}

    def run(segment: int) -> None:
        while not resume[segment]["done"]:
            after, read, written = getattr(repository, page_function)(
                segment=segment, segments=segments, start=resume[segment]["start"], page_size=page_size)
            resume[segment] = {"start": after, "done": after is None}
            totals["read"] += read
            totals["written"] += written
            repository.index_backfill_record(state="running", resume=resume, layout=layout)

    with ThreadPoolExecutor(max_workers=segments) as pool:
        list(pool.map(run, range(segments)))  # list(): re-raises a segment's error here
    repository.index_backfill_record(state="complete", layout=layout)
    out.write(f"{layout} backfill: complete ({totals['read']} tasks read, {totals['written']} {verb})")
