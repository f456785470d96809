"""The backfill of the sharded listing keys (issue 18): resumable, online, recorded as it goes."""
from concurrent.futures import ThreadPoolExecutor

from tasks import repository

SEGMENTS = 4
PAGE_SIZE = 200


def backfill(*, fresh: bool, dry_run: bool, out, segments: int = SEGMENTS, page_size: int = PAGE_SIZE) -> None:
    """Brings every task to the sharded keys, then records the layout complete.

    A fresh table has no old tasks, so it is complete at once. Otherwise each of `segments` parallel
    Scan segments goes on from the key recorded last (a rerun after a crash resumes there) and the
    resume point is recorded after every page, so the work lost to a crash is at most one page a segment.
    """
    state, resume = repository.index_backfill_state()
    if state == "complete":
        out.write("index backfill: unchanged (complete)")
        return
    if fresh:
        out.write("index backfill: complete (new table)")
        if not dry_run:
            repository.index_backfill_record(state="complete")
        return
    if dry_run:
        out.write(f"index backfill: {'resume' if resume else 'start'} ({segments} segments)")
        return
    if not resume or len(resume) != segments:
        resume = [{"start": None, "done": False} for _ in range(segments)]
    repository.index_backfill_record(state="running", resume=resume)
    totals = {"read": 0, "written": 0}

    def run(segment: int) -> None:
        while not resume[segment]["done"]:
            after, read, written = repository.task_index_backfill_page(
                segment=segment, segments=segments, start=resume[segment]["start"], page_size=page_size)
            resume[segment] = {"start": after, "done": after is None}
            totals["read"] += read
            totals["written"] += written
            repository.index_backfill_record(state="running", resume=resume)

    with ThreadPoolExecutor(max_workers=segments) as pool:
        list(pool.map(run, range(segments)))  # list(): re-raises a segment's error here
    repository.index_backfill_record(state="complete")
    out.write(f"index backfill: complete ({totals['read']} tasks read, {totals['written']} keyed)")
