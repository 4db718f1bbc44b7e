"""What the benchmarks share: their fresh data folder, their error, and how a run's result is kept,
finished or not."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from dagster import DagsterEventType

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


def step_profile(instance, run_id: str) -> dict:
    """Seconds per step of a run, and per dbt model the time dbt reports for it: a dbt step's duration
    beyond the sum of its models is dbt's start-up, parsing and tests, and dagster-dbt's work."""
    events = instance.all_logs(run_id, of_type={
        DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.ASSET_MATERIALIZATION})
    starts = {e.step_key: e.timestamp for e in events if e.dagster_event_type == DagsterEventType.STEP_START}
    steps = {e.step_key: round(e.timestamp - starts[e.step_key], 2) for e in events
             if e.dagster_event_type == DagsterEventType.STEP_SUCCESS}
    models: dict[str, dict[str, float]] = {}
    for event in events:
        if event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.asset_materialization
            duration = materialization.metadata.get("Execution Duration")
            if duration is not None:
                models.setdefault(event.step_key, {})[materialization.asset_key.to_user_string()] = round(
                    float(duration.value), 2)
    return {"steps": steps, "dbt_models_by_step": models}
