"""Scale and speed: the project's full build against the floor of its engine and against pandas, on
the same generated files, in one run.

1. generation: `generate(GenerateConfig(scale, days=1, seed), <data dir>/raw)` (benchmarks/generate_feeds.py),
   as its own process, so its memory is measured too and is given back before the builds;
2. project: the full build of that landing day as `medallion demo` runs it (benchmarks/project_build.py:
   the files delivered to the landing zone, then medallion_job, every check) from an empty warehouse and an empty
   Dagster instance, as its own process: wall time, the peak of the summed RSS of its process tree
   (dbt's processes included), and each step's time from the run's events in the Dagster instance;
3. bare DuckDB: benchmarks/bare_duckdb.sql, the same Silver and Gold rules as one script in one
   process, from the landing files the project loaded;
4. pandas: benchmarks/pandas_medallion.py, the same rules as a straightforward pandas script, up to
   --pandas-max-scale;
5. checks that the three produced the same Gold (vw_daily_sales_analysis, vw_customer_product_affinity,
   money to the cent), and stops naming the first differing rows if not, before printing any timing;
6. prints the times, rows/s, peak memories and ratios; writes benchmarks/results/run-<start>.json.

    .venv/bin/python -m benchmarks.run --scale 0.1 [--pandas-max-scale 0.3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from dagster import DagsterInstance

from benchmarks.agreement import check_gold
from benchmarks.recording import (
    BenchmarkError, add_data_dir_option, fresh_data_dir, record_stop, step_profile, write_result,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PHYSICAL_GB = PAGE_SIZE * os.sysconf("SC_PHYS_PAGES") / 2**30
POLL_SECONDS = 0.2
DAY = "2026-11-20"
TIMEOUT_SECONDS = 4 * 3600
# Where each step of the project's run goes in the summary, and which rows it reads (its throughput's
# numerator): the Bronze steps the files' rows, Silver the Bronze dimensions, the incremental step the
# Bronze transactions, the whole-history Gold step the Silver transactions.
LAYERS = (
    ("bronze", lambda step: step.startswith("bronze__"),
     "SELECT (SELECT count(*) FROM bronze.customers) + (SELECT count(*) FROM bronze.products)"
     " + (SELECT count(*) FROM bronze.transactions) + (SELECT count(*) FROM bronze.events)"
     " + (SELECT count(*) FROM bronze.rejects)"),
    ("silver dbt step (dimensions, classified views)", lambda step: step == "silver_dbt_models",
     "SELECT (SELECT count(*) FROM bronze.customers) + (SELECT count(*) FROM bronze.products)"),
    ("incremental dbt step (silver.transactions, Gold facts)", lambda step: step == "incremental_dbt_models",
     "SELECT count(*) FROM bronze.transactions"),
    ("whole-history Gold dbt step", lambda step: step == "gold_dbt_models", "SELECT count(*) FROM silver.transactions"),
    ("events_flattened", lambda step: step == "gold__events_flattened", "SELECT count(*) FROM bronze.events"),
    ("Python checks", lambda step: True, "SELECT 0"),
)
# The steps the bare DuckDB and pandas scripts do the work of: the three entities' Bronze and the dbt steps
# (whose whole-history Gold tables and tests they do not build: the figure errs in the project's favour
# only by those).
COMPARABLE_STEPS = ("bronze__customers", "bronze__products", "bronze__transactions",
                    "silver_dbt_models", "incremental_dbt_models", "gold_dbt_models")


class TreeMemory(threading.Thread):
    """Polls /proc for the summed resident memory of a process and all its descendants; keeps the peak.
    Pages shared between processes count once per process, so the figure errs high, as `ps` would.
    Above `limit_bytes` it kills the tree (its own process group): the machine is shared, and a
    stage that would take all its memory is a result, not something to wait out."""

    def __init__(self, pid: int, limit_bytes: int):
        super().__init__(daemon=True)
        self.pid, self.limit_bytes, self.peak_bytes, self.exceeded = pid, limit_bytes, 0, False
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            self.peak_bytes = max(self.peak_bytes, sum(_rss(p) for p in _tree(self.pid)))
            if self.peak_bytes > self.limit_bytes and not self.exceeded:
                self.exceeded = True
                os.killpg(self.pid, signal.SIGKILL)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_bytes


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def measured(command: list[str], log_path: Path, env: dict[str, str], memory_limit_gb: float) -> dict:
    """Run a command to its end with its output in log_path: its wall seconds, the peak RSS of its
    process tree, and its last output line (each stage prints its result as JSON there). A failure,
    a tree above memory_limit_gb, or an interrupt (the stage is stopped with its children, its own
    process group) is a BenchmarkError."""
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=log,
                                   text=True, start_new_session=True)
        memory = TreeMemory(process.pid, int(memory_limit_gb * 2**30))
        memory.start()
        try:
            stdout, _ = process.communicate(timeout=TIMEOUT_SECONDS)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            memory.stop()
            raise
        seconds = time.perf_counter() - started
        peak = memory.stop()
        log.write(stdout)
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if memory.exceeded:
        raise BenchmarkError(f"{' '.join(command)} stopped after {seconds:.0f} s: its processes held more than "
                             f"--memory-limit-gb {memory_limit_gb} ({peak / 2**30:.1f} GB); output in {log_path}")
    if process.returncode != 0:
        raise BenchmarkError(f"{' '.join(command)} exited {process.returncode}: {last}; output in {log_path}")
    return {"wall_seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20), **json.loads(last)}


def run_profile(instance: DagsterInstance, run_id: str) -> dict:
    """The run's own duration (the rest of the process is start-up and imports) and its steps'."""
    stats = instance.get_run_stats(run_id)
    return {"run_seconds": round(stats.end_time - stats.start_time, 2), **step_profile(instance, run_id)}


def layers(steps: dict[str, float], warehouse: Path) -> list[dict]:
    """The steps grouped by layer, with the rows each layer reads and its throughput."""
    out, left = [], dict(steps)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name, belongs, rows_sql in LAYERS:
            mine = {step: seconds for step, seconds in left.items() if belongs(step)}
            for step in mine:
                del left[step]
            rows = con.execute(rows_sql).fetchone()[0]
            seconds = round(sum(mine.values()), 2)
            out.append({"layer": name, "seconds": seconds, "rows_read": rows,
                        "rows_per_second": round(rows / seconds) if rows and seconds else None, "steps": mine})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="1.0 = 5M customers, 20M transactions, 20M events")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pandas-max-scale", type=float, default=0.3,
                        help="above this scale the pandas script is not run: it holds every table in memory, ~22 GB at 1.0")
    parser.add_argument("--memory-limit-gb", type=float, default=round(PHYSICAL_GB / 2, 1),
                        help="a stage whose processes hold more is stopped (default: half the machine's memory)")
    add_data_dir_option(parser, "run")
    args = parser.parse_args(argv)

    data_dir = fresh_data_dir(parser, args.data_dir)
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEDALLION_")}
    env.update(MEDALLION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(home))

    result = {"benchmark": "run", "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join([sys.executable, "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
              "scale": args.scale, "seed": args.seed, "landing_day": DAY, "cpus": os.cpu_count(),
              "load_average_at_start": os.getloadavg(), "data_dir": str(data_dir)}
    started = time.time()
    try:
        print(f"generating scale {args.scale}, one day, into {data_dir / 'raw'} ...", flush=True)
        result["generation"] = measured([sys.executable, "-m", "benchmarks.generate_feeds", str(args.scale),
                                         str(args.seed), DAY, str(data_dir / "raw")], data_dir / "generate.log", env,
                                         args.memory_limit_gb)

        print("project: medallion_job (Bronze, Silver, Gold, every check) ...", flush=True)
        project = measured([sys.executable, "-m", "benchmarks.project_build", DAY], data_dir / "project.log", env,
                           args.memory_limit_gb)
        profile = run_profile(DagsterInstance.from_config(str(home)), project["run_id"])
        warehouse = data_dir / "warehouse.duckdb"
        project.update(profile, layers=layers(profile["steps"], warehouse),
                       comparable_steps_seconds=round(sum(profile["steps"][s] for s in COMPARABLE_STEPS), 2))
        result["project"] = project

        print("bare DuckDB: benchmarks/bare_duckdb.sql ...", flush=True)
        landing = data_dir / "landing"
        bare_db = data_dir / "bare.duckdb"
        result["bare_duckdb"] = measured([sys.executable, "-m", "benchmarks.bare_duckdb", str(landing), str(bare_db)],
                                         data_dir / "bare_duckdb.log", env, args.memory_limit_gb)
        pandas_dir = None
        if args.scale <= args.pandas_max_scale:
            print("pandas: benchmarks/pandas_medallion.py ...", flush=True)
            pandas_dir = data_dir / "pandas"
            result["pandas"] = measured([sys.executable, "-m", "benchmarks.pandas_medallion", str(landing),
                                         str(pandas_dir)], data_dir / "pandas.log", env, args.memory_limit_gb)
        else:
            result["pandas"] = {"skipped": f"scale {args.scale} is above --pandas-max-scale {args.pandas_max_scale}"}
            print(f"pandas: skipped, {result['pandas']['skipped']}", flush=True)

        result["gold_rows_agreed"] = check_gold(warehouse, bare_db, pandas_dir)
        result["ratios"] = ratios(result)
        report(result)
        return 0
    except (BenchmarkError, AssertionError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        return record_stop(result, error)
    finally:
        write_result("run", result, started)


def ratios(result: dict) -> dict:
    project, bare, pandas = result["project"], result["bare_duckdb"], result["pandas"]
    out = {"project_wall_over_bare_duckdb": round(project["wall_seconds"] / bare["seconds"], 1),
           "project_comparable_steps_over_bare_duckdb": round(project["comparable_steps_seconds"] / bare["seconds"], 1),
           "project_peak_rss_over_bare_duckdb": round(project["peak_rss_mb"] / bare["peak_rss_mb"], 1),
           # Bronze of the three entities (ledger, lineage, every reject kept) over the bare script reading them
           "project_bronze_over_bare_duckdb_reading": round(
               sum(project["steps"].get(f"bronze__{s}", 0.0) for s in ("customers", "products", "transactions"))
               / bare["bronze_seconds"], 2)}
    if "seconds" in pandas:
        out.update(project_wall_over_pandas=round(project["wall_seconds"] / pandas["seconds"], 1),
                   project_comparable_steps_over_pandas=round(project["comparable_steps_seconds"] / pandas["seconds"], 1),
                   pandas_over_bare_duckdb=round(pandas["seconds"] / bare["seconds"], 1),
                   project_peak_rss_over_pandas=round(project["peak_rss_mb"] / pandas["peak_rss_mb"], 1))
    return out


def report(result: dict) -> None:
    generation, project, bare, pandas = (result[k] for k in ("generation", "project", "bare_duckdb", "pandas"))
    landed = sum(generation["rows"].values())
    print(f"\nGold agrees (rows per view: {result['gold_rows_agreed']}), so the timings are of the same result.")
    print(f"\nscale {result['scale']}: {', '.join(f'{n:,} {s}' for s, n in generation['rows'].items())} "
          f"({landed:,} rows)")
    print(f"generation            {generation['seconds']:>9.2f} s  {generation['rows_per_second']:>12,} rows/s"
          f"  peak RSS {generation['peak_rss_mb']:,} MB")
    print(f"project, process      {project['wall_seconds']:>9.2f} s  {round(landed / project['wall_seconds']):>12,} rows/s"
          f"  peak RSS (process tree) {project['peak_rss_mb']:,} MB")
    print(f"project, run          {project['run_seconds']:>9.2f} s  (from the run's start to its end; the rest of the "
          f"process is start-up and imports)")
    for layer in project["layers"]:
        rate = f"{layer['rows_per_second']:>12,} rows/s" if layer["rows_per_second"] else ""
        print(f"  {layer['layer']:<55} {layer['seconds']:>8.2f} s  {rate}")
        for step, seconds in layer["steps"].items():
            models = project["dbt_models_by_step"].get(step, {})
            if len(layer["steps"]) > 1 or models:
                print(f"    {step:<53} {seconds:>8.2f} s")
            for model, model_seconds in models.items():
                print(f"      {model:<51} {model_seconds:>8.2f} s  (dbt's time for the model)")
    comparable = "comparable steps (3 entities' Bronze, the dbt steps)"
    print(f"  {comparable:<55} {project['comparable_steps_seconds']:>8.2f} s")
    # The bare and pandas scripts read the three entities' files, not the events.
    entity_rows = landed - generation["rows"]["events"]
    print(f"  comparable steps' throughput on the three entities' rows: "
          f"{round(entity_rows / project['comparable_steps_seconds']):,} rows/s")
    for name, script in (("bare DuckDB script", bare), ("pandas script", pandas)):
        if "seconds" in script:
            print(f"{name:<21} {script['seconds']:>9.2f} s  {round(entity_rows / script['seconds']):>12,} rows/s"
                  f"  peak RSS {script['peak_rss_mb']:,} MB (process with start-up {script['wall_seconds']:.2f} s)")
    if "skipped" in pandas:
        print(f"pandas script         skipped: {pandas['skipped']}")
    print("\nratios: " + ", ".join(f"{name} {value}" for name, value in result["ratios"].items()))


if __name__ == "__main__":
    sys.exit(main())
