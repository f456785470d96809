"""manage.py import_tasks: a JSON Lines export into a stage's tasks table, never replacing newer tasks."""
from pathlib import Path

from ops import aws, transfer
from ops.command import TransferCommand


class Command(TransferCommand):
    help = ("Import an export_tasks file into a stage's table; a task the table holds in the same or a newer "
            "version is kept. Resumes after interruption.")

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--in", dest="source", required=True, type=Path, metavar="FILE",
                            help="The JSON Lines file export_tasks wrote.")
        parser.add_argument("--workers", type=int, default=8, help="Parallel writers (default 8).")

    def transfer(self, table: str, *, source: Path, workers: int, **options) -> None:
        if workers < 1:
            raise self.error("--workers must be at least 1")
        if not source.is_file():
            raise self.error(f"{source} is not a file")
        if aws.table_describe(table) is None:
            raise self.error(f"table {table} does not exist (create it with create_table --table {table})")
        progress = transfer.Progress(total=transfer.lines_count(source), what=f"import {table}",
                                     stream=self.stderr._out)
        result = transfer.tasks_import(table=table, source=source, workers=workers, progress=progress)
        progress.close()
        resumed = " (resumed)" if result.resumed else ""
        self.stdout.write(f"imported into {table}: {result.written} written, {result.kept} kept (same or newer "
                          f"copy already there), {result.retried} throttled writes retried{resumed}")
