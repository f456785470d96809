"""manage.py export_tasks: a stage's tasks table to a JSON Lines file, resumable."""
from pathlib import Path

from ops import aws, transfer
from ops.command import TransferCommand


class Command(TransferCommand):
    help = "Export every task of a stage's table to a JSON Lines file (parallel scan; resumes after interruption)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="The JSON Lines file to write.")
        parser.add_argument("--segments", type=int, default=4, help="Parallel Scan segments (default 4).")

    def transfer(self, table: str, *, out: Path, segments: int, **options) -> None:
        if segments < 1:
            raise self.error("--segments must be at least 1")
        described = aws.table_describe(table)
        if described is None:
            raise self.error(f"table {table} does not exist")
        progress = transfer.Progress(total=described.get("ItemCount") or None, what=f"export {table}",
                                     stream=self.stderr._out)
        result = transfer.tasks_export(table=table, out=out, segments=segments, progress=progress)
        progress.close()
        resumed = " (resumed)" if result.resumed else ""
        self.stdout.write(f"exported {result.items} tasks from {table} to {out}{resumed}")
