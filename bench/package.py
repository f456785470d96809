"""The deployment package's size: dist/taskapi-dev.zip, zipped and unzipped, and its file count."""
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dist" / "taskapi-dev.zip"


def package_size(path: Path = PACKAGE) -> dict | None:
    """Returns {zipped_bytes, unzipped_bytes, files}, or None when the package is not built."""
    if not path.exists():
        return None
    with zipfile.ZipFile(path) as package:
        files = [info for info in package.infolist() if not info.is_dir()]
    return {"zipped_bytes": path.stat().st_size, "unzipped_bytes": sum(info.file_size for info in files),
            "files": len(files)}
