"""What the benchmarks share: their folder, their error, and how a run's result is kept, finished or not."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_data_dir_argument(parser: argparse.ArgumentParser, benchmark: str) -> None:
    now = datetime.now(timezone.utc)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp") / f"medallion-{benchmark}-{now:%Y%m%dT%H%M%SZ}",
                        help="the benchmark's own folder (it must be empty or absent)")


def fresh_folder(parser: argparse.ArgumentParser, folder: Path) -> Path:
    """The benchmark's folder, absolute; the parser's error if it holds anything already."""
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        parser.error(f"{folder} is not empty: the benchmark needs a fresh folder")
    return folder


def new_result(benchmark: str, folder: Path) -> dict:
    """The result's header: which benchmark, when, the command, the machine's cores, the folder."""
    return {"benchmark": benchmark, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([sys.executable, *sys.argv]), "cpus": os.cpu_count(), "data_dir": str(folder)}


class BenchmarkError(RuntimeError):
    """The pipeline did not do what the measurement needs (a run failed, a wait timed out)."""


def record_stop(result: dict, error: BaseException) -> int:
    """Note why the benchmark stopped early; the exit status to return."""
    result["error"] = f"{type(error).__name__}: {error}"
    print(f"\nbenchmark stopped: {result['error']}", file=sys.stderr)
    return 1


def write_result(name: str, result: dict, started: float) -> Path:
    """benchmarks/results/<name>-<start time>.json, with the wall time so far."""
    result["wall_seconds"] = round(time.time() - started, 1)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{result['started_at'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"\nresult: {path}")
    return path
