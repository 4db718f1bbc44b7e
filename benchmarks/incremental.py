"""Incremental refresh versus full rebuild, on a warehouse large enough for the difference to show.

Builds a base warehouse with `medallion demo` at --scale (0.05: 1M transactions, 1M events, 250k
customers) over --days days, then, for each repetition, lands two new days after the last one loaded
(`medallion drop`): a transactions-only day, one new transactions file with 1% of the base's
transactions; and a re-send day, the same plus a customers file that re-sends 10% of the customers
(new versions of existing ones, `--resend`). For each day it times, in this process with the real
definitions:

  (a) incremental: the run the landing sensor requests for such files: Bronze for that day's partition
      and the tables built on it that follow each file (silver.transactions and the Gold facts; on the
      re-send day also silver.customers and the facts' rows of the re-sent customers), as one run,
      without the run launch and sensor tick, which benchmarks/latency.py measures;
  (a') cadence: the Gold tables over all history, which the automation refreshes at most once every
      15 minutes, however many files landed in between: timed apart from (a);
  (b) full: the nightly_full_refresh job, every Silver and Gold model rebuilt from all of Bronze.

After (a) and (a') and again after (b) it reads the same totals from Silver and Gold: both must agree,
or the comparison would be between different work. The target ratios are (a) / (b): 5% for the
transactions-only day, 10% for the re-send day.

    .venv/bin/python benchmarks/incremental.py [--scale 0.05] [--days 5] [--repetitions 3]
"""

from __future__ import annotations

import argparse
import functools
import operator
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
from dagster import DagsterInstance, Definitions, define_asset_job

from medallion_platform.demo.generate import GenerateConfig
from medallion_platform.settings import get_settings

from recording import (  # benchmarks/recording.py
    BenchmarkError, add_data_dir_option, fresh_data_dir, new_result, record_stop, step_profile, write_result,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MEDALLION = Path(sys.executable).with_name("medallion")

DROP_SHARE = 0.01
RESEND_SHARE = 0.10
# issue 11: a day with a 1% transactions file costs at most 5% of a full build; re-sending 10% of the
# customers as well, at most 10%. Each kind: the sources whose files land that day, and its target.
DAY_KINDS = {
    "transactions_only": ({"transactions": DROP_SHARE}, 0.05),
    "customers_resent": ({"transactions": DROP_SHARE, "customers": RESEND_SHARE}, 0.10),
}
CADENCE_JOB = "cadence_refresh_of_whole_history_gold"
# What (a) and (b) must agree on: every Silver transaction and every Gold sales row.
TOTALS = """
SELECT (SELECT count(*) FROM silver.transactions),
       (SELECT sum(total_amount) FROM silver.transactions),
       (SELECT sum(num_transactions) FROM gold.vw_daily_sales_analysis),
       (SELECT sum(total_sales) FROM gold.vw_daily_sales_analysis),
       (SELECT sum(purchase_count) FROM gold.vw_customer_product_affinity),
       (SELECT sum(total_revenue) FROM gold.top_products),
       (SELECT sum(number_of_purchases) FROM gold.client_activity)
"""



def medallion(env: dict[str, str], *args: str, timeout: float) -> str:
    """Run the `medallion` CLI; its output, or a BenchmarkError with it."""
    done = subprocess.run([str(MEDALLION), *args], cwd=PROJECT_ROOT, env=env, timeout=timeout,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkError(f"medallion {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def output_to(log_path: Path):
    """Point this process's stdout and stderr, which dbt's output and the run's logs also reach, at a
    file while a run executes: the console keeps only the benchmark's own lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((1, 2), saved):
                os.dup2(original, fd)
                os.close(original)


def timed_run(job, instance, partition: str | None, log_path: Path) -> dict:
    started = time.perf_counter()
    with output_to(log_path):
        result = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
    seconds = time.perf_counter() - started
    if not result.success:
        failures = [e.event_specific_data.error.message.strip() for e in result.all_events if e.is_step_failure]
        raise BenchmarkError(f"{job.name} failed for {partition}: {failures}; logs in {log_path}")
    return {"seconds": round(seconds, 2), "run_id": result.run_id, **step_profile(instance, result.run_id)}


def totals(warehouse: Path) -> list:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [str(value) for value in con.execute(TOTALS).fetchone()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=5, help="days of feeds in the base warehouse")
    parser.add_argument("--repetitions", type=int, default=3, help="new days landed, each timed both ways")
    add_data_dir_option(parser, "incremental")
    args = parser.parse_args(argv)

    data_dir = fresh_data_dir(parser, args.data_dir)
    for variable in [v for v in os.environ if v.startswith("MEDALLION_")]:
        del os.environ[variable]
    os.environ.update(MEDALLION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(data_dir / "dagster_home"))
    env = dict(os.environ)

    # The new days are the last ones the partitions have (today is the last), one per kind per repetition.
    # A run's window looks one day back for late files, so a day with no file follows the base and each
    # re-send day: a transactions-only day's window then holds its own file alone, not a customers file.
    today = datetime.now(timezone.utc).date()
    kinds = [None, *([*DAY_KINDS, None] * args.repetitions)][:-1]
    schedule = [(kind, (today - timedelta(days=len(kinds) - 1 - number)).isoformat())
                for number, kind in enumerate(kinds) if kind is not None]
    start = today - timedelta(days=len(kinds) - 1 + args.days)
    base_command = ["demo", "--scale", str(args.scale), "--days", str(args.days), "--start-date", start.isoformat()]

    config = GenerateConfig(scale=args.scale)
    result = {**new_result("incremental", data_dir), "base_warehouse": "medallion " + " ".join(base_command),
              "rows_per_drop": {kind: {source: round(config.rows(source) * share) for source, share in shares.items()}
                                for kind, (shares, _) in DAY_KINDS.items()},
              "repetitions": []}
    started = time.time()
    try:
        print(f"building the base warehouse in {data_dir}: medallion {' '.join(base_command)}", flush=True)
        medallion(env, *base_command, timeout=3600)
        result["base_build_seconds"] = round(time.time() - started, 1)
        print(f"  {result['base_build_seconds']} s", flush=True)

        # Imported once the environment names this data folder: importing it builds the default definitions.
        from medallion_platform.definitions import build_definitions  # noqa: PLC0415

        from medallion_platform.defs.sensors import REFRESHED_ON_A_CADENCE, refreshed_by_landing  # noqa: PLC0415

        settings = get_settings()
        # What the landing sensor requests for each day's files: Bronze and the tables that follow them.
        landed_selection = {kind: functools.reduce(operator.or_, map(refreshed_by_landing, shares))
                            for kind, (shares, _) in DAY_KINDS.items()}
        defs = Definitions.merge(build_definitions(settings), Definitions(jobs=[
            *(define_asset_job(f"incremental_{kind}", selection=selection) for kind, selection in landed_selection.items()),
            define_asset_job(CADENCE_JOB, selection=REFRESHED_ON_A_CADENCE)]))
        cadence_job = defs.resolve_job_def(CADENCE_JOB)
        full_job = defs.resolve_job_def("nightly_full_refresh")
        graph = defs.resolve_asset_graph()
        result["incremental_assets"] = {kind: sorted(k.to_user_string() for k in selection.resolve(graph))
                                        for kind, selection in landed_selection.items()}
        result["cadence_assets"] = sorted(k.to_user_string() for k in REFRESHED_ON_A_CADENCE.resolve(graph))
        instance = DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
        runs_log = data_dir / "runs.log"
        print(f"the runs' logs and dbt's output: {runs_log}", flush=True)

        for number, (kind, day) in enumerate(schedule, 1):
            landed = {}
            for source, rows in result["rows_per_drop"][kind].items():
                resend = ["--resend"] if source == "customers" else []
                printed_rows, key = medallion(env, "drop", "--source", source, "--rows", str(rows), *resend,
                                              "--day", day, "--scale", str(args.scale), timeout=300).split()
                landed[key] = int(printed_rows.replace(",", ""))
            incremental = timed_run(defs.resolve_job_def(f"incremental_{kind}"), instance, day, runs_log)
            cadence = timed_run(cadence_job, instance, None, runs_log)
            after_incremental = totals(settings.duckdb_path)
            full = timed_run(full_job, instance, day, runs_log)
            after_full = totals(settings.duckdb_path)
            if after_incremental != after_full:
                raise BenchmarkError(f"{day}: the incremental refresh left {after_incremental}, "
                                     f"the full rebuild {after_full}")
            repetition = {"kind": kind, "day": day, "landed": landed,
                          "incremental": incremental, "cadence": cadence, "full": full,
                          "ratio": round(incremental["seconds"] / full["seconds"], 3), "totals_agree": after_full}
            result["repetitions"].append(repetition)
            print(f"day {number}/{len(schedule)}, {kind} ({', '.join(f'{k}: {r:,} rows' for k, r in landed.items())}): incremental "
                  f"{incremental['seconds']:.2f} s, cadence {cadence['seconds']:.2f} s, full {full['seconds']:.2f} s, "
                  f"ratio {repetition['ratio']:.3f}", flush=True)

        result["summary"] = {kind: report(kind, [r for r in result["repetitions"] if r["kind"] == kind])
                             for kind in DAY_KINDS}
        return 0
    except (BenchmarkError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        return record_stop(result, error)
    finally:
        write_result("incremental", result, started)


def report(kind: str, repetitions: list[dict]) -> dict:
    target = DAY_KINDS[kind][1]
    incremental = [r["incremental"]["seconds"] for r in repetitions]
    cadence = [r["cadence"]["seconds"] for r in repetitions]
    full = [r["full"]["seconds"] for r in repetitions]
    summary = {
        "incremental_median_seconds": round(statistics.median(incremental), 2),
        "cadence_median_seconds": round(statistics.median(cadence), 2),
        "full_median_seconds": round(statistics.median(full), 2),
    }
    summary["ratio_of_medians"] = round(summary["incremental_median_seconds"] / summary["full_median_seconds"], 3)
    summary["target_met"] = summary["ratio_of_medians"] <= target
    for name in ("incremental", "cadence", "full"):
        dbt_steps = [{step: seconds for step, seconds in r[name]["steps"].items() if step in r[name]["dbt_models_by_step"]}
                     for r in repetitions]
        summary[f"{name}_mean_seconds_split"] = {
            "dbt_steps": round(statistics.mean(sum(steps.values()) for steps in dbt_steps), 2),
            "dbt_models": round(statistics.mean(
                sum(sum(models.values()) for models in r[name]["dbt_models_by_step"].values()) for r in repetitions), 2),
            "other_steps": round(statistics.mean(
                sum(r[name]["steps"].values()) - sum(steps.values()) for r, steps in zip(repetitions, dbt_steps)), 2),
        }
    print(f"\n{kind}: incremental {summary['incremental_median_seconds']} s vs full {summary['full_median_seconds']} s "
          f"(medians of {len(repetitions)}): ratio {summary['ratio_of_medians']:.3f} "
          f"(target <= {target:.2f}: {'met' if summary['target_met'] else 'MISSED'}); the Gold tables over "
          f"all history, refreshed at most every 15 minutes: {summary['cadence_median_seconds']} s")
    for name in ("incremental", "cadence", "full"):
        split = summary[f"{name}_mean_seconds_split"]
        print(f"\n{kind}, {name}: {split['dbt_steps']:.2f} s in dbt steps, of which dbt reports {split['dbt_models']:.2f} s "
              f"in models; {split['other_steps']:.2f} s in other steps")
        print(f"{kind}, {name}: mean seconds per step (dbt's own time per model below its step)")
        steps = repetitions[0][name]["steps"]
        for step in steps:
            mean = statistics.mean(r[name]["steps"].get(step, 0.0) for r in repetitions)
            print(f"  {mean:>8.2f}  {step}")
            models = repetitions[0][name]["dbt_models_by_step"].get(step, {})
            for model in models:
                model_mean = statistics.mean(r[name]["dbt_models_by_step"].get(step, {}).get(model, 0.0)
                                             for r in repetitions)
                print(f"  {'':>8}  {model_mean:>8.2f}  {model}")
    return summary


if __name__ == "__main__":
    sys.exit(main())
