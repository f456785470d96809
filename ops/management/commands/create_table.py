"""manage.py create_table: create the tasks table idempotently, with everything the seed lists."""
import time

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops import aws
from ops.specs import LEGACY_INDEXES, changes_table, connections_table, idempotency_table, tags_table, tasks_table


class Command(BaseCommand):
    help = "Create the tasks table (on-demand, the sharded listing indexes, SSE, streams, PITR) if it is missing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--table", help="Table name (default: TASKS_TABLE of this stage).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                            help="Wait up to this long for the endpoint to come up (for emulators starting).")
        parser.add_argument("--retire-legacy-indexes", action="store_true",
                            help="Issue 18: once the backfill is complete and every function runs the sharded "
                                 "listing, delete status-index and owner-status-index (their hot keys throttle writes).")
        parser.add_argument("--rebuild-tag-index", action="store_true",
                            help="Issue 18: run the tag backfill again over every task (after restore_table's cut-over "
                                 "or import_tasks, whose tasks have no tag slots yet).")
        parser.add_argument("--writers-grace", type=float, default=None, metavar="SECONDS",
                            help="Issue 18: before a tag backfill, how long to wait for every running process to "
                                 "keep tag slots (default: TASK_LAYOUT_RECHECK_SECONDS + 35, the longest request "
                                 "and some slack); 0 only when nothing else writes.")

    def handle(self, *args, table: str | None, dry_run: bool, wait: float, retire_legacy_indexes: bool = False,
               rebuild_tag_index: bool = False, writers_grace: float | None = None, **options) -> None:
        spec = tasks_table()
        name = table or spec.name
        try:
            current = self._describe_when_up(name, wait)
            self.stdout.write(f"table {name}: {'unchanged' if current else 'create'}")
            if current is None and not dry_run:
                request = spec.create_request()
                request["TableName"] = name
                aws.table_create(request)
            if current is not None:
                # An existing table is given what it lacks, legacy indexes included until its layout is complete.
                self._indexes(name, current, spec.create_request(legacy=True), dry_run=dry_run,
                              retired=self._retired() if table is None else set())
            self._pitr(name, dry_run=dry_run)
            if table is None:
                self._idempotency(dry_run=dry_run)
                self._idempotency(dry_run=dry_run, spec=changes_table())
                self._idempotency(dry_run=dry_run, spec=connections_table())  # WebSockets (issue 14)
                self._tags(dry_run=dry_run)  # tag listings by index (issue 18)
                if rebuild_tag_index:
                    self._rebuild_tags(dry_run=dry_run)
                grace = settings.TASK_LAYOUT_RECHECK_SECONDS + 35 if writers_grace is None else writers_grace
                self._backfill(fresh=current is None, dry_run=dry_run, writers_grace=grace)
                if retire_legacy_indexes:
                    self._retire(name, dry_run=dry_run)
        except aws.AwsUnavailable as error:
            raise CommandError(str(error)) from None
        except ClientError as error:
            raise CommandError(f"{error.operation_name} failed: {error.response['Error'].get('Message', error)}") from None

    def _describe_when_up(self, name: str, wait: float) -> dict | None:
        deadline = time.monotonic() + wait
        while True:
            try:
                return aws.table_describe(name)
            except aws.AwsUnavailable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _pitr(self, name: str, *, dry_run: bool) -> None:
        try:
            if dry_run and aws.table_describe(name) is None:
                self.stdout.write(f"point-in-time recovery on {name}: enable")
                return
            if aws.table_pitr_enabled(name):
                self.stdout.write(f"point-in-time recovery on {name}: unchanged")
                return
            self.stdout.write(f"point-in-time recovery on {name}: enable")
            if not dry_run:
                aws.table_pitr_enable(name)
        except aws.Unsupported:
            self.stdout.write(f"point-in-time recovery on {name}: skipped (this endpoint does not support it)")

    def _retired(self) -> set[str]:
        """The legacy indexes not to add back: all of them once the sharded layout is complete."""
        from tasks import repository

        try:
            complete = repository.index_backfill_state()[0] == "complete"
        except Exception:  # no idempotency table yet: nothing was migrated
            complete = False
        return set(LEGACY_INDEXES) if complete else set()

    def _retire(self, name: str, *, dry_run: bool) -> None:
        from tasks import repository

        if repository.index_backfill_state()[0] != "complete":
            raise CommandError("the index backfill is not complete; legacy indexes are still read")
        have = {index["IndexName"] for index in aws.table_describe(name).get("GlobalSecondaryIndexes", [])}
        for index in LEGACY_INDEXES:
            self.stdout.write(f"index {index} on {name}: {'retire' if index in have else 'unchanged (retired)'}")
            if index in have and not dry_run:
                aws.table_index_delete(name, index)

    def _indexes(self, name: str, current: dict, desired: dict, *, dry_run: bool, retired: set[str] = frozenset()) -> None:
        """Adds the GSIs an existing table lacks (owner-status-index on tables from before it), one at a time.

        Legacy indexes only go to a table that still has one of them: one made with the sharded layout
        never reads them."""
        have = {index["IndexName"] for index in current.get("GlobalSecondaryIndexes", [])}
        legacy_layout = not have.isdisjoint(LEGACY_INDEXES)
        for index in desired["GlobalSecondaryIndexes"]:
            if index["IndexName"] in have or index["IndexName"] in retired:
                continue
            if index["IndexName"] in LEGACY_INDEXES and not legacy_layout:
                continue
            self.stdout.write(f"index {index['IndexName']} on {name}: add")
            if not dry_run:
                keys = {key["AttributeName"] for key in index["KeySchema"]}
                attributes = [a for a in desired["AttributeDefinitions"] if a["AttributeName"] in keys]
                aws.table_index_add(name, index=index, attributes=attributes)

    def _backfill(self, *, fresh: bool, dry_run: bool, writers_grace: float) -> None:
        """Issue 18: writes the sharded index keys onto tasks from before them (resumable, online), then
        records the layout complete, which switches listings to the sharded indexes."""
        from ops import index_backfill  # imports the models, so only once Django is set up

        # The switch is recorded in the idempotency table (created just before); a dry run may lack it.
        if dry_run and aws.table_describe(idempotency_table().name) is None:
            self.stdout.write("index backfill: start")
            self.stdout.write("tag backfill: start")
            return
        index_backfill.backfill(fresh=fresh, dry_run=dry_run, out=self.stdout)
        # The tag slots of every task with tags; until complete, `?tag=` listings filter as before.
        index_backfill.backfill(fresh=fresh, dry_run=dry_run, out=self.stdout, layout="tag",
                                writers_grace=writers_grace)

    def _rebuild_tags(self, *, dry_run: bool) -> None:
        """Marks the tag layout incomplete, so the tag backfill below runs again from the start (processes that
        already switched keep reading the index, which lacks only the tasks not yet slotted). A layout not yet
        written to (a restored table's new tags table) is left as it is: its backfill waits for the writers first."""
        from tasks import repository

        self.stdout.write("tag backfill: rebuild")
        if not dry_run and repository.index_backfill_state(layout="tag")[0] in ("running", "complete"):
            repository.index_backfill_record(state="running", layout="tag")

    def _tags(self, *, dry_run: bool) -> None:
        """Issue 18: the tags table with its two GSIs (an existing one is given the GSIs it lacks)."""
        spec = tags_table()
        current = aws.table_describe(spec.name)
        self.stdout.write(f"table {spec.name}: {'unchanged' if current else 'create'}")
        if current is None:
            if not dry_run:
                aws.table_create(spec.create_request())
            return
        self._indexes(spec.name, current, spec.create_request(), dry_run=dry_run)

    def _idempotency(self, *, dry_run: bool, spec=None) -> None:
        """The Idempotency-Key table (or `spec`, the change log), with TTL on its expiry attribute."""
        spec = spec or idempotency_table()
        exists = aws.table_describe(spec.name) is not None
        self.stdout.write(f"table {spec.name}: {'unchanged' if exists else 'create'}")
        if not exists and not dry_run:
            aws.table_create(spec.create_request())
        try:
            if exists and aws.table_ttl_attribute(spec.name) == spec.ttl_attribute:
                self.stdout.write(f"time to live on {spec.name}.{spec.ttl_attribute}: unchanged")
                return
            self.stdout.write(f"time to live on {spec.name}.{spec.ttl_attribute}: enable")
            if not dry_run:
                aws.table_ttl_enable(spec.name, spec.ttl_attribute)
        except aws.Unsupported:
            self.stdout.write(f"time to live on {spec.name}: skipped (this endpoint does not support it)")
