"""Fault injection: a run SIGKILLed at a random moment, then the run the daemon starts after it.

One trial, on a warehouse restored from a base (so Bronze has files to load again): queue one run of
every asset the landing runs cover over their days, kill its worker `delay` seconds after it started
(in a Bronze load or a dbt step, wherever it is then), let run monitoring fail it, check that Bronze
shows nothing partial and the ledger nothing false, queue the same run again, and compare its Silver
and Gold with a reference built by one uninterrupted run. Used by test_faults.py (one trial) and
benchmarks/faults.py (many)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.runs import queue_run
from medallion_platform.sources import SOURCES
from medallion_platform_tests.daemon import alive, run_worker_pid, wait_for_runs

# What a run's Silver and Gold must equal after any fault; the columns that say when a row was loaded
# (not what it is) are left out.
COMPARED = {
    "silver.customers": "customer_id",
    "silver.products": "product_id",
    "silver.transactions": "transaction_id",
    "gold.vw_daily_sales_analysis": "ALL",
    "gold.vw_customer_product_affinity": "ALL",
}
LOAD_TIMING = ("_load_id", "_ingested_at")


@dataclass
class Trial:
    delay: float  # seconds after the worker started (or after `after_step` started) that it was killed
    after_step: str | None = None  # a step-key prefix: the kill waited for such a step to start
    killed_in: str | None = None  # the step that was running then (None: killed before the first step)
    killed_run_status: str | None = None
    successor_status: str | None = None
    partial_files: list[str] = field(default_factory=list)  # Bronze/ledger disagreements after the kill
    differences: list[str] = field(default_factory=list)  # tables not equal to the reference at the end
    successor_seconds: float | None = None

    @property
    def converged(self) -> bool:
        return self.successor_status == "SUCCESS" and not self.partial_files and not self.differences


def restore(base: Path, data_dir: Path) -> None:
    """The trial's warehouse as the base left it (no WAL of an earlier trial's killed run)."""
    target = data_dir / base.name
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(base, target)


def running_step(instance: DagsterInstance, run_id: str) -> str | None:
    """The step that had started and not ended when the run stopped."""
    started, ended = [], set()
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started.append(event.step_key)
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            ended.add(event.step_key)
    in_flight = [step for step in started if step not in ended]
    return in_flight[-1] if in_flight else None


def partial_files(warehouse: Path) -> list[str]:
    """Every way Bronze and its ledger could disagree: a `loaded` file whose rows or rejects are not all
    there, or rows whose load the ledger does not record as loaded."""
    problems = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bronze' "
                           "AND table_name = 'load_ledger'").fetchone()[0]:
            return problems
        for source in SOURCES:
            if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bronze' "
                               "AND table_name = ?", [source]).fetchone()[0]:
                continue
            rows = con.execute(f"""
                WITH ledger AS (SELECT load_id, file_key, rows_loaded, rows_rejected FROM bronze.load_ledger
                                WHERE source = ? AND status = 'loaded'),
                     landed AS (SELECT _load_id AS load_id, count(*) AS n FROM bronze.{source} GROUP BY 1),
                     rejected AS (SELECT load_id, count(*) AS n FROM bronze.rejects WHERE source = ? GROUP BY 1)
                SELECT coalesce(ledger.file_key, 'load ' || landed.load_id), ledger.rows_loaded, landed.n,
                       ledger.rows_rejected, rejected.n
                FROM ledger FULL JOIN landed USING (load_id) LEFT JOIN rejected USING (load_id)
                WHERE ledger.load_id IS NULL OR coalesce(landed.n, 0) <> ledger.rows_loaded
                   OR coalesce(rejected.n, 0) <> ledger.rows_rejected""", [source, source]).fetchall()
            problems += [f"{source}: {key} ledger says {ledger_rows} rows + {ledger_rejects} rejects, "
                         f"Bronze has {bronze_rows} + {bronze_rejects}" for key, ledger_rows, bronze_rows,
                         ledger_rejects, bronze_rejects in rows]
    return problems


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {}
        for table, order in COMPARED.items():
            columns = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
                       if c not in LOAD_TIMING]
            tables[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()
        return tables


def step_started(instance: DagsterInstance, run_id: str, prefix: str) -> bool:
    return any(record.dagster_event.step_key.startswith(prefix)
               for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START))


def run_trial(instance: DagsterInstance, workspace, keys: set, days: list[str], base: Path, data_dir: Path,
              expected: dict, delay: float, daemon, log: Path, after_step: str | None = None,
              timeout: float = 600) -> Trial:
    """Kill a run `delay` seconds into it (into its first step whose key starts with `after_step`, if
    given), run it again, and say how the warehouse fared."""
    trial = Trial(delay=round(delay, 2), after_step=after_step)
    restore(base, data_dir)
    tags = landing_day_range_tags(days[0], days[-1])
    killed = queue_run(instance, workspace, keys, tags)
    deadline = time.time() + timeout
    worker = None
    while worker is None:
        assert time.time() < deadline, "the run's worker never started"
        assert not instance.get_run_by_id(killed.run_id).is_finished, "the run ended before it could be killed"
        worker = run_worker_pid(instance, killed.run_id)
        time.sleep(0.05)
    while after_step and not step_started(instance, killed.run_id, after_step):
        assert time.time() < deadline and alive(worker), f"no step {after_step}* started"
        time.sleep(0.02)
    time.sleep(delay)
    if alive(worker):
        os.kill(worker, signal.SIGKILL)
    [killed_run] = wait_for_runs(instance, [killed.run_id], timeout, daemon, log)
    trial.killed_run_status = killed_run.status.value
    trial.killed_in = running_step(instance, killed.run_id)
    warehouse = data_dir / base.name
    trial.partial_files = partial_files(warehouse)

    started = time.time()
    successor = queue_run(instance, workspace, keys, tags)
    [finished] = wait_for_runs(instance, [successor.run_id], timeout, daemon, log)
    trial.successor_seconds = round(time.time() - started, 1)
    trial.successor_status = finished.status.value
    if finished.status == DagsterRunStatus.SUCCESS:
        actual = snapshot(warehouse)
        trial.differences = [table for table in COMPARED if actual[table] != expected[table]]
    return trial
