"""Zappa's prebuild_script: static files and bytecode for the package, run by `zappa package|deploy|update`."""
import compileall
import os
import py_compile
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("taskapi", "tasks", "ops")


def site_packages() -> Path:
    """Returns the site-packages of the virtualenv Zappa packages (VIRTUAL_ENV)."""
    venv = os.environ.get("VIRTUAL_ENV")
    if not venv:
        raise SystemExit("prebuild: no VIRTUAL_ENV; run zappa from the deploy virtualenv (make package).")
    return Path(venv) / "lib" / f"python{sysconfig.get_python_version()}" / "site-packages"


def prepare() -> None:
    """Collects static files into ./staticfiles and writes the .pyc files the package ships.

    Lambda code is read-only and Zappa dates zip entries 1980, so timestamp .pyc files never match
    and every cold start would recompile. Libraries get unchecked-hash .pyc (never revalidated: this
    virtualenv is only for packaging); the project's own modules get checked-hash .pyc, still valid on
    Lambda, and safe in a working tree that is edited afterwards.
    """
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--clear", "--verbosity", "0"],
        cwd=ROOT, check=True, env={**os.environ, "STAGE": "local"},
    )
    quiet = 1
    ok = compileall.compile_dir(site_packages(), quiet=quiet, force=True, workers=0,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    for package in PROJECT_PACKAGES:
        ok &= compileall.compile_dir(ROOT / package, quiet=quiet, force=True,
                                     invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    if not ok:
        raise SystemExit("prebuild: some modules do not compile")
    print(f"prebuild: static files in {ROOT / 'staticfiles'}, bytecode compiled")
