"""`make` targets with python3.11 found through a pyenv-style shim: uv must be given the interpreter itself,
or it finds .venv's Python "does not satisfy the request" and deletes and rebuilds the environment on
every `make` call (a minute each, and `make dev` loses its environment underneath it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from medallion_platform.settings import PROJECT_ROOT

VENV = PROJECT_ROOT / ".venv"


def _shim_environment(folder: Path) -> dict[str, str]:
    """PATH led by a `python3.11` that is a shell script exec'ing the real interpreter, as pyenv's are."""
    folder.mkdir()
    shim = folder / "python3.11"
    shim.write_text(f'#!/bin/sh\nexec {sys._base_executable} "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def _identity(path: Path) -> tuple[int, int]:
    stat = path.lstat()
    return stat.st_ino, stat.st_mtime_ns


def test_make_install_through_a_shim_reinstalls_nothing(tmp_path):
    env = _shim_environment(tmp_path / "shims")
    planned = subprocess.run(["make", "-n", "install"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    sync = next(line for line in planned if " sync " in line)
    # First what uv would do, which changes nothing: were it told the shim, it would replace .venv.
    dry_run = subprocess.run([*sync.split(), "--dry-run"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                             text=True, check=True)
    said = dry_run.stdout + dry_run.stderr
    assert "Would make no changes" in said and "Would replace" not in said, said

    before = [_identity(VENV / "pyvenv.cfg"), _identity(VENV / "bin" / "python")]
    started = time.monotonic()
    subprocess.run(["make", "install"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - started

    assert [_identity(VENV / "pyvenv.cfg"), _identity(VENV / "bin" / "python")] == before
    assert elapsed < 30, f"make install with nothing to do took {elapsed:.0f} s"
