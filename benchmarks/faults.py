"""Runs killed with SIGKILL at random moments, and what the daemon's next run makes of it.

A base warehouse is built in-process from the first generated day, and a reference from it by one
uninterrupted run over the following --days days. Then a real `dagster-daemon` (the project's
dagster.yaml: run monitoring on) runs the trials: each restores the base, queues one run of every asset
the landing runs cover over those days, SIGKILLs its worker (every other trial at a moment drawn uniformly
from the length of an uninterrupted run, measured first on the same daemon; the others within the
first half second of the run's first Bronze load, which the first kind seldom hits), waits for run monitoring to fail it,
checks Bronze against its ledger (nothing partial, nothing `loaded` that is not), queues the run again
and compares Silver and Gold with the reference (medallion_platform_tests/faults.py). It prints where
each kill landed and whether the warehouse converged, and writes benchmarks/results/faults-*.json.

    .venv/bin/python benchmarks/faults.py [--trials 20] [--days 2] [--scale 0.0005] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import date, timedelta


from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.runs import queue_run
from medallion_platform_tests.daemon import (
    base_and_reference,
    daemon_over_landing,
    landing_runs,
    wait_for_runs,
)
from medallion_platform_tests.faults import restore, run_trial, snapshot

from recording import (  # benchmarks/recording.py
    BenchmarkError, add_data_dir_option, fresh_data_dir, new_result, record_stop, write_result,
)

FIRST_DAY = date(2026, 11, 20)
SOURCES = ["customers", "products", "transactions"]


def uninterrupted_seconds(instance, workspace, keys, days, pristine, data_dir, daemon, log) -> float:
    """How long the trials' run takes when nothing kills it: the range the kill moments are drawn from."""
    restore(pristine, data_dir)
    run = queue_run(instance, workspace, keys, landing_day_range_tags(days[0], days[-1]))
    [finished] = wait_for_runs(instance, [run.run_id], 900, daemon, log)
    if finished.status.value != "SUCCESS":
        raise BenchmarkError(f"the uninterrupted run {run.run_id} ended {finished.status.value}")
    record = instance.get_run_record_by_id(run.run_id)
    return record.end_time - record.start_time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--days", type=int, default=2, help="days the killed run covers, after the base day")
    parser.add_argument("--scale", type=float, default=0.0005)
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    add_data_dir_option(parser, "faults")
    args = parser.parse_args(argv)
    folder = fresh_data_dir(parser, args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    days = [(FIRST_DAY + timedelta(days=n)).isoformat() for n in range(1, args.days + 1)]
    result = {**new_result("faults", folder),
              "scale": args.scale, "days": days, "sources": SOURCES, "seed": args.seed, "trials": []}
    started = time.time()
    try:
        landing = folder / "landing"
        generate(GenerateConfig(scale=args.scale, seed=7, days=args.days + 1, start_date=FIRST_DAY), landing)
        from medallion_platform.definitions import defs  # noqa: PLC0415

        runs = landing_runs(defs, SOURCES, days)
        keys = set().union(*(k for _, _, k in runs))
        print(f"building the base ({FIRST_DAY}) and the reference (one run over {days[0]}..{days[-1]})", flush=True)
        data_dir, reference = base_and_reference(folder, landing, defs, runs)
        pristine = folder / "pristine" / "warehouse.duckdb"
        pristine.parent.mkdir()
        shutil.copyfile(data_dir / "warehouse.duckdb", pristine)
        expected = snapshot(reference / "warehouse.duckdb")

        log = folder / "daemon.log"
        moments = random.Random(args.seed)
        with daemon_over_landing(data_dir, landing, log, os.environ.__setitem__) as (instance, workspace, daemon, env):
            length = uninterrupted_seconds(instance, workspace, keys, days, pristine, data_dir, daemon, log)
            result["uninterrupted_run_seconds"] = round(length, 1)
            print(f"an uninterrupted run takes {length:.1f} s; killing {args.trials} runs within that", flush=True)
            for number in range(1, args.trials + 1):
                in_bronze = number % 2 == 0
                trial = run_trial(instance, workspace, keys, days, pristine, data_dir, expected,
                                  moments.uniform(0, 0.5 if in_bronze else length), daemon, log,
                                  after_step="bronze__" if in_bronze else None)
                after = f"step {trial.after_step}*" if trial.after_step else None
                result["trials"].append(asdict(trial) | {"converged": trial.converged})
                print(f"trial {number:2}: killed {trial.delay:5.2f} s into {after or 'the run'}, in {trial.killed_in or 'no step'} "
                      f"-> {trial.killed_run_status}; partial files {len(trial.partial_files)}; successor "
                      f"{trial.successor_status} in {trial.successor_seconds} s; tables differing "
                      f"{trial.differences or 'none'}", flush=True)
        trials = result["trials"]
        result["summary"] = {
            "trials": len(trials),
            "converged": sum(t["converged"] for t in trials),
            "killed_runs_failed": sum(t["killed_run_status"] == "FAILURE" for t in trials),
            "partial_files": sum(len(t["partial_files"]) for t in trials),
            "killed_in": dict(collections.Counter(t["killed_in"] or "before the first step" for t in trials)),
        }
        print(result["summary"])
        return 0 if result["summary"]["converged"] == len(trials) else 1
    except (BenchmarkError, AssertionError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        return record_stop(result, error)
    finally:
        write_result("faults", result, started)


if __name__ == "__main__":
    sys.exit(main())
