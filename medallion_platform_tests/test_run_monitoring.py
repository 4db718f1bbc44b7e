"""A run killed while it holds the warehouse_writer slot does not wedge the instance: with the laptop's
dagster.yaml and a real `dagster-daemon`, the dead run is failed, its slot freed, the next run
completes without anyone stepping in, and the dbt process the dead run started dies with it; whether
the run was launched by the daemon or ran in `medallion demo`'s own process."""

import os
import signal
import subprocess
import time
from datetime import date

import pytest
from dagster import AssetSelection, DagsterInstance, DagsterRunStatus, RunsFilter

from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.runs import code_location, queue_run
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform_tests.daemon import (
    BIN,
    alive,
    children,
    daemon_environment,
    dagster_daemon,
    new_dagster_home,
    run_worker_pid,
    stop_automation,
    wait_for_runs,
)

DAY = "2026-11-20"
BRONZE_TO_GOLD = AssetSelection.all()
# The successor: Bronze and the Silver dbt step, where both tests' runs are killed (their first dbt
# step). It needs the writer slot the dead run held and redoes the step the kill cut short; the dbt
# steps after it would only add time.
SUCCESSOR = AssetSelection.groups("bronze", "silver") - AssetSelection.assets(
    "silver/transactions_revisited", "silver/transactions", "silver/transactions_quarantine")


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout:.0f} s")


@pytest.fixture
def laptop_daemon(tmp_path, clean_env):
    """A real dagster-daemon on the laptop's dagster.yaml (its monitoring clock compressed to 1 s),
    sensors and schedule off; yields what the tests drive it with: the instance, a workspace to queue
    runs from, the daemon, its log, the environment, the Bronze-to-Gold selection the killed runs run and
    the successor's (SUCCESSOR)."""
    home = new_dagster_home(tmp_path / "dagster_home", monitoring_seconds=1)
    env = daemon_environment(tmp_path / "data", home)
    for name, value in env.items():
        clean_env.setenv(name, value)
    from medallion_platform.definitions import defs  # noqa: PLC0415 (reads the settings just set)

    keys, successor_keys = (selection.resolve(defs.resolve_asset_graph()) for selection in (BRONZE_TO_GOLD, SUCCESSOR))
    log = tmp_path / "daemon.log"
    with DagsterInstance.get() as instance, code_location(instance) as workspace:
        stop_automation(instance, workspace)
        with dagster_daemon(env, log) as daemon:
            yield instance, workspace, daemon, log, env, keys, successor_keys


def successor_completes(laptop_daemon, killed_run_id: str) -> None:
    """The killed run is failed, and a run queued after it, redoing the killed step, completes with nobody
    freeing anything."""
    instance, workspace, daemon, log, _, _, successor_keys = laptop_daemon
    successor = queue_run(instance, workspace, successor_keys, {"dagster/partition": DAY})
    first, second = wait_for_runs(instance, [killed_run_id, successor.run_id], 180, daemon, log)
    assert first.status == DagsterRunStatus.FAILURE
    assert second.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    assert not instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL).claimed_slots


def test_a_killed_run_frees_its_slot_and_its_dbt_child_dies(laptop_daemon, tmp_path):
    instance, workspace, _, _, _, keys, _ = laptop_daemon
    generate(GenerateConfig(scale=0.0005, seed=3, days=1, start_date=date.fromisoformat(DAY)),
             tmp_path / "data" / "landing")
    killed = queue_run(instance, workspace, keys, {"dagster/partition": DAY})

    def dbt_child():
        worker = run_worker_pid(instance, killed.run_id)
        found = [pid for pid, command in children(worker) if "dbt" in command] if worker else []
        return (worker, found[0]) if found else None

    worker, dbt = wait_for(dbt_child, 120, "dbt process under the first run's worker")
    assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL).claimed_slots
    os.kill(worker, signal.SIGKILL)
    # The dbt child goes with its run, instead of writing the warehouse for the rest of its build.
    wait_for(lambda: not alive(dbt), 3, f"end of the dead run's dbt process {dbt}")
    successor_completes(laptop_daemon, killed.run_id)


def test_a_killed_demo_is_failed_and_frees_its_slot(laptop_daemon):
    """`medallion demo` runs in its own process, which no code server watches: the laptop's run launcher
    tells run monitoring that the process is gone."""
    instance, _, _, _, env, _, _ = laptop_daemon
    demo = subprocess.Popen([str(BIN / "medallion"), "demo", "--scale", "0.0002", "--days", "1", "--start-date", DAY],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def dbt_child_holding_the_slot():
        found = [pid for pid, command in children(demo.pid) if "dbt" in command]
        claimed = instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL).claimed_slots
        return found if found and claimed else None

    [dbt] = wait_for(dbt_child_holding_the_slot, 180, "dbt process of the demo's run holding the slot")
    demo.kill()
    demo.wait()
    wait_for(lambda: not alive(dbt), 3, f"end of the dead demo's dbt process {dbt}")
    [killed] = instance.get_runs(RunsFilter(job_name="medallion_job"))  # after the demo_feeds run
    successor_completes(laptop_daemon, killed.run_id)


def test_a_dbt_orphaned_before_it_could_arm_its_death_signal_exits_at_once(tmp_path):
    """The race the demo test can hit: the parent killed between dbt's start and its prctl. dbt learns its
    starter's pid from MEDALLION_DBT_PARENT_PID; when its parent is no longer that process, it stops."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that is nobody's parent any more
    orphan = subprocess.run([str(BIN / "medallion-dbt"), "--version"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MEDALLION_DBT_PARENT_PID": str(gone.pid)})
    assert (orphan.returncode, orphan.stdout) == (1, "")
    adopted = subprocess.run([str(BIN / "medallion-dbt"), "--version"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "MEDALLION_DBT_PARENT_PID": str(os.getpid())})
    assert adopted.returncode == 0 and "Core" in adopted.stdout
