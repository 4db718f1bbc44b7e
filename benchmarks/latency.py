"""Latency of the live pipeline: from a file landing to its rows being visible in Gold.

Starts `dagster dev` (webserver on 127.0.0.1, and the daemon that runs the sensors and launches runs)
on a fresh data folder whose base warehouse `medallion demo` built with today as its last day, then
lands clean transaction files one at a time with `medallion drop` and times each from the landed
file's mtime until the materialization of today's gold.vw_daily_sales_analysis partition that
followed it is recorded (after dbt committed the rows); once the runs have ended, today's
sum(num_transactions) there must have grown by exactly the rows dropped. Each drop starts from a settled pipeline: no run in progress and both sensors
ticked since without requesting anything. The runs between landing and visibility are read back from
the Dagster instance, to show where the time went.

    .venv/bin/python benchmarks/latency.py [--drops 20] [--rows 500]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

from medallion_platform.cli import DEMO_SCALE
from medallion_platform.settings import WAREHOUSE_WRITER_POOL

from recording import (  # benchmarks/recording.py
    BenchmarkError, add_data_dir_option, fresh_data_dir, new_result, record_stop, write_result,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's console scripts, beside the interpreter running this

TARGET_P50_SECONDS = 20.0
TARGET_P95_SECONDS = 45.0
POLL_SECONDS = 0.5
SENSORS = ("landed_files_to_bronze", "follow_bronze")
GOLD_ROWS_FOR_DAY = ("SELECT coalesce(sum(num_transactions), 0) FROM gold.vw_daily_sales_analysis "
                     "WHERE transaction_date = ?")



def medallion(env: dict[str, str], *args: str, timeout: float) -> str:
    """Run the `medallion` CLI; its output, or a BenchmarkError with it."""
    done = subprocess.run([str(BIN / "medallion"), *args], cwd=PROJECT_ROOT, env=env, timeout=timeout,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkError(f"medallion {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dagster_dev(env: dict[str, str], log_path: Path):
    """`dagster dev` on a free 127.0.0.1 port, in its own process group so that stopping it also stops
    the code server, daemon and run workers it started; stopped however the block is left."""
    port = free_loopback_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process, port
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the group (dagster dev shuts its children down), SIGKILL whatever is left after 60 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


class Pipeline:
    """What the benchmark reads from the running pipeline: runs and ticks from the Dagster instance,
    Gold from the warehouse.

    The warehouse is read only while no step holds a slot of the warehouse_writer pool. dbt-duckdb does
    not retry when another process holds the file (the profile sets no `retries`), so a reader that
    happened to hold it when a dbt step opened it would fail that step; a dbt step opens the file
    seconds after claiming its slot (dagster-dbt's preparation and dbt's start-up), so a read begun
    right after seeing no claimed slot is over by then. Bronze and the checks connect through
    DuckDBResource, which retries."""

    def __init__(self, dagster_home: Path, warehouse: Path, dev: subprocess.Popen, dev_log: Path):
        self.instance = DagsterInstance.from_config(str(dagster_home))
        self.warehouse = warehouse
        self.dev = dev
        self.dev_log = dev_log

    def check_dev_alive(self) -> None:
        if self.dev.poll() is not None:
            tail = self.dev_log.read_text()[-3000:]
            raise BenchmarkError(f"dagster dev exited with {self.dev.returncode}; its log ends:\n{tail}")

    def runs_in_progress(self) -> int:
        return self.instance.get_runs_count(RunsFilter(statuses=NOT_FINISHED_STATUSES))

    def latest_ticks(self) -> dict[str, object]:
        """The most recent tick of each of the two sensors (absent until the daemon first ticks it)."""
        ticks = {}
        for state in self.instance.all_instigator_state():
            if state.instigator_name in SENSORS:
                latest = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
                if latest:
                    ticks[state.instigator_name] = latest[0]
        return ticks

    def wait_until_settled(self, timeout: float) -> float:
        """Wait until no run is in progress and each sensor has ticked since the last run ended without
        requesting a run; return how long that took."""
        started = time.time()
        while time.time() - started < timeout:
            self.check_dev_alive()
            if self.runs_in_progress() == 0:
                last_end = max((r.end_time or 0 for r in self.instance.get_run_records(limit=50)), default=0)
                ticks = self.latest_ticks()
                if len(ticks) == len(SENSORS) and all(
                        t.timestamp > last_end and t.status == TickStatus.SKIPPED for t in ticks.values()):
                    return time.time() - started
            time.sleep(1)
        raise BenchmarkError(f"the pipeline did not settle within {timeout:.0f} s")

    def gold_rows(self, day: str) -> int | None:
        """The day's transactions in Gold, or None while the warehouse is busy (a step holds a writer
        slot, or this read-only connection met a writer's lock)."""
        if self.instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL).claimed_slots:
            return None
        try:
            with duckdb.connect(str(self.warehouse), read_only=True) as con:
                return int(con.execute(GOLD_ROWS_FOR_DAY, [day]).fetchone()[0])
        except duckdb.IOException:
            return None

    def gold_materialized_after(self, day: str, since: float) -> float | None:
        """When the first materialization of the day's gold/vw_daily_sales_analysis after `since` was
        recorded: dagster-dbt records it after dbt has exited, so the rows were committed a little before."""
        records = self.instance.fetch_materializations(AssetRecordsFilter(
            asset_key=AssetKey(["gold", "vw_daily_sales_analysis"]), asset_partitions=[day], after_timestamp=since),
            limit=1, ascending=True).records
        return records[0].timestamp if records else None

    def failed_runs_since(self, since: float) -> list[str]:
        records = self.instance.get_run_records(RunsFilter(
            statuses=[DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED],
            created_after=datetime.fromtimestamp(since, tz=timezone.utc)))
        return [r.dagster_run.run_id for r in records]

    def runs_between(self, since: float, until: float) -> list[dict]:
        """Each run created in [since, until]: what it materialized and when it was created, launched
        (its worker process started), began executing, and ended, and when each of its steps began
        and ended."""
        records = self.instance.get_run_records(RunsFilter(
            created_after=datetime.fromtimestamp(since, tz=timezone.utc),
            created_before=datetime.fromtimestamp(until, tz=timezone.utc)))
        runs = []
        for record in sorted(records, key=lambda r: r.create_timestamp):
            run = record.dagster_run
            events = self.instance.all_logs(run.run_id, of_type={
                DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START,
                DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE})
            launched = next((e.timestamp for e in events
                             if e.dagster_event_type == DagsterEventType.RUN_STARTING), None)
            step_starts = {e.step_key: e.timestamp for e in events
                           if e.dagster_event_type == DagsterEventType.STEP_START}
            steps = {e.step_key: {"started": step_starts[e.step_key], "ended": e.timestamp} for e in events
                     if e.dagster_event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
                     and e.step_key in step_starts}
            runs.append({
                "run_id": run.run_id,
                "status": run.status.value,
                "assets": sorted(k.to_user_string() for k in run.asset_selection or ()),
                "partition": run.tags.get("dagster/partition"),
                "requested_by": run.tags.get("dagster/sensor_name", "-"),
                "created": record.create_timestamp.timestamp(),
                "launched": launched,
                "started": record.start_time,
                "ended": record.end_time,
                "steps": steps,
            })
        return runs


def measure_drop(pipeline: Pipeline, env: dict[str, str], day: str, rows: int, scale: float,
                 timeout: float) -> dict:
    """Land one clean file for `day` and time it until Gold holds its rows: until the materialization
    of the day's gold/vw_daily_sales_analysis that followed the landing is recorded. dagster-dbt records
    it after dbt has committed the rows and exited, so the figure errs long, by well under a second.
    Once the run has ended, the warehouse must show exactly the dropped rows more for the day."""
    baseline = pipeline.gold_rows(day)  # settled: no run in progress
    if baseline is None:
        raise BenchmarkError("the warehouse is busy while no run is in progress")
    printed_rows, key = medallion(env, "drop", "--source", "transactions", "--rows", str(rows), "--day", day,
                                  "--scale", str(scale), "--clean", timeout=120).split()
    if int(printed_rows.replace(",", "")) != rows:
        raise BenchmarkError(f"{key}: {printed_rows} rows landed, {rows} asked for")
    landed_at = (Path(env["MEDALLION_DATA_DIR"]) / "landing" / key).stat().st_mtime
    visible_at = None
    while time.time() - landed_at < timeout:
        pipeline.check_dev_alive()
        failed = pipeline.failed_runs_since(landed_at)
        if failed:
            raise BenchmarkError(f"{key}: run(s) {', '.join(failed)} failed; see the Dagster UI or {pipeline.dev_log}")
        visible_at = pipeline.gold_materialized_after(day, landed_at)
        if visible_at is not None:
            break
        time.sleep(POLL_SECONDS)
    else:
        raise BenchmarkError(f"{key}: not materialized in Gold within {timeout:.0f} s")
    while (seen := pipeline.gold_rows(day)) is None or pipeline.runs_in_progress():
        if time.time() - landed_at > timeout:
            raise BenchmarkError(f"{key}: the runs did not end within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    if seen != baseline + rows:
        raise BenchmarkError(f"{key}: Gold grew by {seen - baseline} rows for {day}, {rows} were dropped")
    return {"key": key, "rows": rows, "landed_at": landed_at, "visible_at": visible_at,
            "latency_seconds": round(visible_at - landed_at, 3)}


def runs_that_made_it_visible(drop: dict) -> list[dict]:
    """The runs that had begun executing when the rows were seen in Gold, in order. They ran one after
    another: the writer pool keeps a run in the queue until the previous one has released its slot,
    so a run requested meanwhile (the rest of Gold) starts after the rows were visible."""
    return [run for run in drop["runs"] if run["started"] and run["started"] <= drop["visible_at"]]


def stage_breakdown(drop: dict) -> dict[str, float]:
    """Where one drop's latency went, in seconds, up to the moment the rows were seen: waiting for a
    sensor or automation tick to request the next run, waiting in the run queue, starting the run's
    worker process (imports, loading the definitions), executing steps, the rest of each run around
    its steps, and, after the last, noticing the result."""
    visible = drop["visible_at"]
    stages = {"waiting for a tick": 0.0, "queued": 0.0, "worker process start": 0.0, "steps": 0.0,
              "run overhead around steps": 0.0, "after the last run": 0.0}
    previous_end = drop["landed_at"]
    for run in runs_that_made_it_visible(drop):
        launched = run["launched"] or run["created"]
        ended = min(run["ended"], visible)
        steps = sum(min(step["ended"], visible) - step["started"] for step in run["steps"].values()
                    if step["started"] < visible)
        stages["waiting for a tick"] += max(0.0, run["created"] - previous_end)
        stages["queued"] += launched - run["created"]
        stages["worker process start"] += run["started"] - launched
        stages["steps"] += steps
        stages["run overhead around steps"] += ended - run["started"] - steps
        previous_end = ended
    stages["after the last run"] = visible - previous_end
    return {stage: round(seconds, 3) for stage, seconds in stages.items()}


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (the 'inclusive' method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report(drops: list[dict]) -> dict:
    latencies = [d["latency_seconds"] for d in drops]
    summary = {
        "drops": len(drops),
        "p50_seconds": round(percentile(latencies, 0.50), 2),
        "p95_seconds": round(percentile(latencies, 0.95), 2),
        "max_seconds": round(max(latencies), 2),
        "mean_seconds": round(statistics.mean(latencies), 2),
        "runs_per_drop": sorted({len(runs_that_made_it_visible(d)) for d in drops}),
    }
    summary["target_met"] = summary["p50_seconds"] <= TARGET_P50_SECONDS and summary["p95_seconds"] <= TARGET_P95_SECONDS
    breakdowns = [stage_breakdown(d) for d in drops]
    summary["mean_seconds_by_stage"] = {
        stage: round(statistics.mean(b[stage] for b in breakdowns), 2) for stage in breakdowns[0]}
    hops: dict[int, list[dict]] = {}
    for drop in drops:
        for number, run in enumerate(runs_that_made_it_visible(drop), 1):
            hops.setdefault(number, []).append(run)
    summary["mean_seconds_by_hop"] = [
        {"hop": number, "assets": runs[0]["assets"], "requested_by": runs[0]["requested_by"], "runs": len(runs),
         "created_to_ended": round(statistics.mean(r["ended"] - r["created"] for r in runs), 2),
         "worker_process_start": round(statistics.mean(r["started"] - (r["launched"] or r["created"]) for r in runs), 2),
         "mean_seconds_by_step": {
             step: round(statistics.mean(r["steps"][step]["ended"] - r["steps"][step]["started"]
                                         for r in runs if step in r["steps"]), 2)
             for step in runs[0]["steps"]}}
        for number, runs in sorted(hops.items())]

    print(f"\n{'drop':>4}  {'latency s':>9}  {'runs':>4}  key")
    for number, drop in enumerate(drops, 1):
        print(f"{number:>4}  {drop['latency_seconds']:>9.2f}  {len(runs_that_made_it_visible(drop)):>4}  {drop['key']}")
    print(f"\np50 {summary['p50_seconds']} s, p95 {summary['p95_seconds']} s, max {summary['max_seconds']} s, "
          f"mean {summary['mean_seconds']} s over {len(drops)} drops "
          f"(target p50 <= {TARGET_P50_SECONDS:g} s, p95 <= {TARGET_P95_SECONDS:g} s: "
          f"{'met' if summary['target_met'] else 'MISSED'})")
    print("\nmean seconds per drop, by stage:")
    for stage, seconds in summary["mean_seconds_by_stage"].items():
        print(f"  {seconds:>7.2f}  {stage}")
    print("\nmean seconds per run, in the order the runs came (created -> ended; worker start; steps):")
    for hop in summary["mean_seconds_by_hop"]:
        steps = ", ".join(f"{step} {seconds:.2f}" for step, seconds in hop["mean_seconds_by_step"].items())
        print(f"  run {hop['hop']} x{hop['runs']} by {hop['requested_by']}: {', '.join(hop['assets'])}\n"
              f"      {hop['created_to_ended']:.2f} s; worker start {hop['worker_process_start']:.2f} s; {steps}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--rows", type=int, default=500, help="transactions per dropped file")
    parser.add_argument("--scale", type=float, default=DEMO_SCALE,
                        help="the base warehouse's scale (1.0: 20M transactions over its three days)")
    parser.add_argument("--quiet-days", type=int, default=0,
                        help="how many days before today the base's last day is (0: the base ends today, the "
                             "drops' day); from 2 on, a drop's one-day lookback for late files holds no file of "
                             "the base")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a drop may take to reach Gold")
    parser.add_argument("--settle-timeout", type=float, default=600,
                        help="seconds the pipeline may take to go quiet before a drop")
    add_data_dir_option(parser, "latency")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # leave through the finally blocks below

    data_dir = fresh_data_dir(parser, args.data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDALLION_")}
    env.update(MEDALLION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(data_dir / "dagster_home"))
    today = datetime.now(timezone.utc).date()
    day = today.isoformat()
    base_command = ["demo", "--scale", str(args.scale), "--days", "3",
                    "--start-date", (today - timedelta(days=2 + args.quiet_days)).isoformat()]

    result = {**new_result("latency", data_dir),
              "base_warehouse": "medallion " + " ".join(base_command), "day": day,
              "drop_command": f"medallion drop --source transactions --rows {args.rows} --day {day} "
                              f"--scale {args.scale} --clean",
              "drops": []}
    started = time.time()
    try:
        print(f"building the base warehouse in {data_dir}: medallion {' '.join(base_command)}", flush=True)
        medallion(env, *base_command, timeout=3600)
        result["base_build_seconds"] = round(time.time() - started, 1)
        dev_log = data_dir / "dagster_dev.log"
        with dagster_dev(env, dev_log) as (dev, port):
            print(f"dagster dev on http://127.0.0.1:{port} (log {dev_log}); waiting for it to settle", flush=True)
            pipeline = Pipeline(data_dir / "dagster_home", data_dir / "warehouse.duckdb", dev, dev_log)
            dev_started = time.time()
            try:
                result["startup_settle_seconds"] = round(pipeline.wait_until_settled(args.settle_timeout), 1)
            finally:  # what the daemon ran before the first drop, kept also when it never settled
                result["startup_runs"] = pipeline.runs_between(dev_started, time.time())
            for number in range(1, args.drops + 1):
                drop = measure_drop(pipeline, env, day, args.rows, args.scale, args.timeout)
                # The runs are read once all have ended: the rest of Gold follows the visible rows.
                pipeline.wait_until_settled(args.settle_timeout)
                drop["runs"] = pipeline.runs_between(drop["landed_at"] - 1, drop["visible_at"])
                result["drops"].append(drop)
                print(f"drop {number:>2}/{args.drops}: {drop['latency_seconds']:6.2f} s, "
                      f"{len(runs_that_made_it_visible(drop))} runs, {drop['key']}", flush=True)
        result["summary"] = report(result["drops"])
        return 0
    except (BenchmarkError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        return record_stop(result, error)
    finally:
        write_result("latency", result, started)


if __name__ == "__main__":
    sys.exit(main())
