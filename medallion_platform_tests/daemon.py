"""Test harness for the instance as `make dev` runs it: a real `dagster-daemon` (run queue, run
monitoring) on a temporary DAGSTER_HOME holding one of the project's dagster.yaml files, with the
sensors and schedule off so that a test decides which runs are queued (medallion_platform.runs), and
the processes the runs start, read from /proc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey, AssetSelection, DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.workspace.context import BaseWorkspaceRequestContext

from medallion_platform.defs.sensors import refreshed_by_landing
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.runs import LOCATION, code_location, daemon_is_running, queue_run
from medallion_platform.settings import PROJECT_ROOT, get_settings

BIN = Path(sys.executable).parent
LOCK_ERRORS = ("Could not set lock", "Conflicting lock")  # DuckDB's, when another process has the file


def daemon_environment(data_dir: Path, dagster_home: Path) -> dict[str, str]:
    """This process's environment without any MEDALLION_ setting, on `data_dir` and `dagster_home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDALLION_")}
    env.update(MEDALLION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(dagster_home))
    return env


def new_dagster_home(folder: Path, instance_file: Path = PROJECT_ROOT / "dagster.yaml",
                     monitoring_seconds: int | None = None) -> Path:
    """A DAGSTER_HOME holding `instance_file`; with `monitoring_seconds`, its run monitoring's clock (poll,
    and freeing a dead run's slots) compressed to that, as test_deploy does: tests that kill runs then
    wait seconds instead of the laptop's 5 s + 5 s per kill (test_deploy checks the real ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(instance_file.read_text())
    if monitoring_seconds is not None:
        config["run_monitoring"].update(poll_interval_seconds=monitoring_seconds,
                                        free_slots_after_run_end_seconds=monitoring_seconds)
    (folder / "dagster.yaml").write_text(yaml.safe_dump(config))
    return folder


def stop_automation(instance: DagsterInstance, workspace: BaseWorkspaceRequestContext) -> None:
    """Turn every sensor and schedule off before the daemon starts: the test decides which runs exist."""
    repository = next(iter(workspace.get_code_location(LOCATION).get_repositories().values()))
    for sensor in repository.get_sensors():
        instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
    for schedule in repository.get_schedules():
        instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)


@contextmanager
def dagster_daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run` in its own session; SIGTERM to its group on leaving, SIGKILL if it lingers."""
    with open(log, "w") as out:
        process = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            yield process
        finally:
            stop_group(process)


@contextmanager
def daemon_over_landing(data_dir: Path, landing_dir: Path, log: Path, setenv: Callable[[str, str], None],
                        monitoring_seconds: int | None = None):
    """A dagster-daemon on a fresh DAGSTER_HOME in `data_dir` (the laptop's dagster.yaml, automation off;
    `monitoring_seconds`: see new_dagster_home), over the warehouse there and the landing folder
    `landing_dir`; this process's settings set alike through `setenv`. Yields (instance, workspace,
    daemon, its environment)."""
    env = daemon_environment(data_dir, new_dagster_home(data_dir / "dagster_home", monitoring_seconds=monitoring_seconds))
    env["MEDALLION_LANDING_DIR"] = str(landing_dir)
    for name, value in env.items():
        setenv(name, value)
    with DagsterInstance.get() as instance, code_location(instance) as workspace:
        stop_automation(instance, workspace)
        with dagster_daemon(env, log) as daemon:
            yield instance, workspace, daemon, env


def stop_group(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for_runs(instance: DagsterInstance, run_ids: list[str], timeout: float, daemon: subprocess.Popen,
                  log: Path) -> list[DagsterRun]:
    """The runs once all have finished; fails with the daemon's log when they have not in time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert daemon.poll() is None, f"dagster-daemon exited {daemon.returncode}:\n{log.read_text()[-3000:]}"
        runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
        if all(run.is_finished for run in runs):
            return runs
        time.sleep(0.5)
    statuses = {run_id: instance.get_run_by_id(run_id).status.value for run_id in run_ids}
    raise AssertionError(f"runs not finished after {timeout:.0f} s: {statuses}\n{log.read_text()[-3000:]}")


def run_worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The pid the run's worker reported when it started (its "Started process for run" event)."""
    for event in instance.all_logs(run_id):
        data = event.dagster_event.event_specific_data if event.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None:
            return int(pid.value)
    return None


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of each live process whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if parent == pid:
                found.append((int(entry.name), command))
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def finished_ok(runs: list[DagsterRun]) -> bool:
    return all(run.status == DagsterRunStatus.SUCCESS for run in runs)


def landing_runs(defs, sources: list[str], days: list[str]) -> list[tuple[str, str, set]]:
    """(source, day, asset keys) of the run the landing sensor requests for each file: its Bronze
    partition and what follows it (medallion_platform.defs.sensors.refreshed_by_landing)."""
    graph = defs.resolve_asset_graph()
    return [(source, day, refreshed_by_landing(source).resolve(graph)) for day in days for source in sources]


def wait_for_daemon(instance: DagsterInstance, timeout: float) -> None:
    """Until the daemon's heartbeat says it drains the run queue (`medallion materialize` asks the same)."""
    deadline = time.time() + timeout
    while not daemon_is_running(instance):
        assert time.time() < deadline, "the dagster-daemon sent no heartbeat"
        time.sleep(0.5)


def queue_together(instance: DagsterInstance, workspace: BaseWorkspaceRequestContext,
                   runs: list[tuple[str, str, set]], env: dict[str, str], timeout: float) -> list[str]:
    """Queue the landing runs all at once, the last through `medallion materialize` (the README's way, as
    a person would start one while the others write); their run ids, once the command has returned."""
    (*queued, (_, day, keys)) = runs
    run_ids = [queue_run(instance, workspace, k, {"dagster/partition": d}).run_id for _, d, k in queued]
    wait_for_daemon(instance, timeout)
    by_hand = subprocess.run(
        [str(BIN / "medallion"), "materialize", "--partition", day,
         "--select", ",".join(key.to_user_string() for key in keys)],
        env={k: v for k, v in env.items() if k != "DAGSTER_HOME"}, capture_output=True, text=True, timeout=timeout)
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
    return [*run_ids, by_hand.stdout.split()[2].rstrip(":")]


def build_in_process(data_dir: Path, landing_dir: Path, keys: set, first_day: str, last_day: str) -> Path:
    """One in-process run of `keys` over the landing days first_day..last_day, on the warehouse in
    `data_dir` (created if missing); its path."""
    # Imported here: importing the module builds the default definitions.
    from medallion_platform.definitions import build_definitions  # noqa: PLC0415

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDALLION_DATA_DIR", str(data_dir))
        patch.setenv("MEDALLION_LANDING_DIR", str(landing_dir))
        patch.delenv("MEDALLION_DUCKDB_PATH", raising=False)
        settings = get_settings()
        job = build_definitions(settings).get_implicit_global_asset_job_def().get_subset(asset_selection=keys)
        with DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, tags=landing_day_range_tags(first_day, last_day))
        assert result.success
        return settings.duckdb_path


def build_base(data_dir: Path, landing_dir: Path, defs, day: str) -> Path:
    """A warehouse built from landing day `day` alone (every table, view and check, as `medallion demo`
    leaves one) in `data_dir`; its path."""
    everything = AssetSelection.all().resolve(defs.resolve_asset_graph())
    return build_in_process(data_dir, landing_dir, everything, day, day)


def base_and_reference(tmp: Path, landing_dir: Path, defs, runs: list[tuple[str, str, set]],
                       built_base: Path | None = None) -> tuple[Path, Path]:
    """A base warehouse built from the day before the runs' days (build_base), and a copy of it brought
    through all the runs' days by one run of the assets they cover; the base's and the reference's data
    folders. `built_base`: a warehouse build_base already built for that day from these files (the
    daemon_base fixture), whose data folder is copied instead of built again."""
    days = sorted({day for _, day, _ in runs})
    day_before = (date.fromisoformat(days[0]) - timedelta(days=1)).isoformat()
    if built_base is None:
        base = build_base(tmp / "base", landing_dir, defs, day_before)
    else:
        shutil.copytree(built_base.parent, tmp / "base")
        base = tmp / "base" / built_base.name
    (tmp / "reference").mkdir()
    shutil.copyfile(base, tmp / "reference" / base.name)
    build_in_process(tmp / "reference", landing_dir, set().union(*(keys for _, _, keys in runs)), days[0], days[-1])
    return base.parent, tmp / "reference"


@contextmanager
def reference_alongside(tmp: Path, landing_dir: Path, runs: list[tuple[str, str, set]],
                        built_base: Path) -> Iterator[tuple[Path, Callable[[], Path]]]:
    """base_and_reference's two folders from a base build_base already built for the day before the runs'
    (the daemon_base fixture; its data folder is copied), the reference built meanwhile in a process of
    its own: on the second core, while the daemon's runs take turns on the warehouse. Yields the base's
    copy and a function that waits for the reference and gives its folder."""
    days = sorted({day for _, day, _ in runs})
    shutil.copytree(built_base.parent, tmp / "base")
    (tmp / "reference").mkdir()
    shutil.copyfile(built_base, tmp / "reference" / built_base.name)
    keys = sorted(key.to_user_string() for key in set().union(*(keys for _, _, keys in runs)))
    log = tmp / "reference.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "medallion_platform_tests.daemon", str(tmp / "reference"),
                                    str(landing_dir), days[0], days[-1], *keys],
                                   cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)

    def reference() -> Path:
        assert process.wait(timeout=600) == 0, log.read_text()[-5000:]
        return tmp / "reference"

    try:
        yield tmp / "base", reference
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


GOLD_FACTS = ("gold.vw_daily_sales_analysis", "gold.vw_customer_product_affinity")


def gold_facts(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in GOLD_FACTS}


if __name__ == "__main__":  # reference_alongside's process: <data folder> <landing> <first day> <last day> <key>...
    build_in_process(Path(sys.argv[1]), Path(sys.argv[2]), {AssetKey.from_user_string(k) for k in sys.argv[5:]},
                     sys.argv[3], sys.argv[4])
