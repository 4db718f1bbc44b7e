"""Many runs requested at once on one DuckDB warehouse, through the daemon's queue as `make dev` runs it.

A base warehouse is built in-process from the first generated day (as `medallion demo` leaves one);
then a real `dagster-daemon` starts on a fresh DAGSTER_HOME holding the project's dagster.yaml (its
sensors and schedule off, so that exactly these runs exist) and, all at once, the run the landing
sensor requests for each (source, day) of the following --days days is queued: --days x 4 runs (20 by
default), the last through `medallion materialize`, as a person would start one while the others write.
It waits for every run to end, then checks: every run succeeded, no run's log mentions DuckDB's lock,
and the Gold facts equal those of a copy of the base brought through the same days by one run.

    .venv/bin/python benchmarks/concurrency.py [--days 5] [--scale 0.001]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta

from dagster import DagsterEventType, DagsterInstance

from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.sources import SOURCES
from medallion_platform_tests.daemon import (
    LOCK_ERRORS,
    base_and_reference,
    daemon_over_landing,
    gold_facts,
    landing_runs,
    queue_together,
    wait_for_runs,
)

from recording import (  # benchmarks/recording.py
    BenchmarkError, add_data_dir_option, fresh_data_dir, new_result, record_stop, write_result,
)

FIRST_DAY = date(2026, 11, 20)


def run_timings(instance: DagsterInstance, run_id: str) -> dict:
    """When the run was queued, started and ended, and how often its steps were held back by the pool."""
    record = instance.get_run_record_by_id(run_id)
    run = record.dagster_run
    messages = [str(e.message) for e in instance.all_logs(run_id)]
    blocked = sum("blocked by limit for pool" in m for m in messages)
    launched = next((e.timestamp for e in instance.all_logs(run_id, of_type=DagsterEventType.RUN_STARTING)), None)
    return {"run_id": run_id, "status": run.status.value, "partition": run.tags.get("dagster/partition"),
            "assets": sorted(k.to_user_string() for k in run.asset_selection or ()),
            "created": record.create_timestamp.timestamp(), "launched": launched, "started": record.start_time,
            "ended": record.end_time, "pool_blocked_messages": blocked,
            "lock_errors": sum(error in m for m in messages for error in LOCK_ERRORS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=5, help="days of runs after the base day (x 4 sources)")
    parser.add_argument("--scale", type=float, default=0.001)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for all runs to end")
    add_data_dir_option(parser, "concurrency")
    args = parser.parse_args(argv)
    folder = fresh_data_dir(parser, args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    days = [(FIRST_DAY + timedelta(days=n)).isoformat() for n in range(1, args.days + 1)]
    result = {**new_result("concurrency", folder),
              "scale": args.scale, "days": days, "sources": list(SOURCES)}
    started = time.time()
    try:
        landing = folder / "landing"
        generate(GenerateConfig(scale=args.scale, seed=7, days=args.days + 1, start_date=FIRST_DAY), landing)
        from medallion_platform.definitions import defs  # noqa: PLC0415

        runs = landing_runs(defs, list(SOURCES), days)
        print(f"building the base ({FIRST_DAY}) and the reference (one run over {days[0]}..{days[-1]})", flush=True)
        data_dir, reference = base_and_reference(folder, landing, defs, runs)
        result["base_and_reference_seconds"] = round(time.time() - started, 1)

        log = folder / "daemon.log"
        with daemon_over_landing(data_dir, landing, log, os.environ.__setitem__) as (instance, workspace, daemon, env):
            submitted = time.time()
            run_ids = queue_together(instance, workspace, runs, env, timeout=args.timeout)
            wait_for_runs(instance, run_ids, args.timeout, daemon, log)
            all_done = time.time()
            result["runs"] = [run_timings(instance, run_id) for run_id in run_ids]
        gold_equal = gold_facts(data_dir / "warehouse.duckdb") == gold_facts(reference / "warehouse.duckdb")
        durations = [r["ended"] - r["created"] for r in result["runs"]]
        result["summary"] = {
            "runs": len(run_ids),
            "succeeded": sum(r["status"] == "SUCCESS" for r in result["runs"]),
            "lock_errors": sum(r["lock_errors"] for r in result["runs"]),
            "gold_equal_to_one_run": gold_equal,
            "seconds_from_queueing_to_last_end": round(all_done - submitted, 1),
            "median_seconds_queued_to_end": round(statistics.median(durations), 1),
            "max_seconds_queued_to_end": round(max(durations), 1),
            "mean_seconds_running": round(statistics.mean(r["ended"] - r["started"] for r in result["runs"]), 1),
        }
        print(result["summary"])
        ok = (result["summary"]["succeeded"] == len(run_ids) and result["summary"]["lock_errors"] == 0
              and gold_equal)
        return 0 if ok else 1
    except (BenchmarkError, AssertionError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        return record_stop(result, error)
    finally:
        write_result("concurrency", result, started)


if __name__ == "__main__":
    sys.exit(main())
