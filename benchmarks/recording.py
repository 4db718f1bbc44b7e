"""What both benchmarks share: their error, and how a run's result is kept, finished or not."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


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
