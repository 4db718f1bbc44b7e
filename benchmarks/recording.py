"""What the benchmarks share: their fresh data folder, their error, and how a run's result is kept,
finished or not."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_data_dir_option(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--data-dir", type=Path, help="an empty or absent folder (default: a new one under /tmp)",
                        default=Path("/tmp") / f"medallion-{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")


def fresh_data_dir(parser: argparse.ArgumentParser, data_dir: Path) -> Path:
    """The folder, resolved; a usage error unless it is empty or absent: every benchmark starts from
    an empty warehouse and Dagster instance."""
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        parser.error(f"{data_dir} is not empty: the benchmark needs a fresh data folder")
    return data_dir


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
