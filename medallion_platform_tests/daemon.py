"""Test harness for the instance as `make dev` runs it: a real `dagster-daemon` (run queue, run
monitoring) on a temporary DAGSTER_HOME holding one of the project's dagster.yaml files, runs submitted
to its QueuedRunCoordinator as the sensors submit them, and the processes they start read from /proc."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import BaseWorkspaceRequestContext, WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

from medallion_platform.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
# workspace.yaml loads the module without naming the location: Dagster names it after the module.
LOCATION = "medallion_platform.definitions"
ASSET_JOB = "__ASSET_JOB"


def daemon_environment(data_dir: Path, dagster_home: Path) -> dict[str, str]:
    """This process's environment without any MEDALLION_ setting, on `data_dir` and `dagster_home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDALLION_")}
    env.update(MEDALLION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(dagster_home))
    return env


def new_dagster_home(folder: Path, instance_file: Path = PROJECT_ROOT / "dagster.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_file, folder / "dagster.yaml")
    return folder


@contextmanager
def submitter(instance: DagsterInstance) -> Iterator[BaseWorkspaceRequestContext]:
    """The code location loaded in this process under the daemon's location name: runs created from it
    are launched by the daemon through its own code server, as the webserver's would be."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=LOCATION,
                             working_directory=str(PROJECT_ROOT)),
        location_name=LOCATION)
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process_context:
        yield process_context.create_request_context()


def stop_automation(instance: DagsterInstance, workspace: BaseWorkspaceRequestContext) -> None:
    """Turn every sensor and schedule off before the daemon starts: the test decides which runs exist."""
    repository = next(iter(workspace.get_code_location(LOCATION).get_repositories().values()))
    for sensor in repository.get_sensors():
        instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
    for schedule in repository.get_schedules():
        instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)


def submit(instance: DagsterInstance, workspace: BaseWorkspaceRequestContext, keys: set[AssetKey],
           partition: str | None) -> DagsterRun:
    """Queue a run of `keys` (and their checks) for `partition`, as a sensor's RunRequest does."""
    location = workspace.get_code_location(LOCATION)
    repository = next(iter(location.get_repositories().values()))
    remote_job = location.get_job(JobSubsetSelector(
        location_name=LOCATION, repository_name=repository.name, job_name=ASSET_JOB, op_selection=None,
        asset_selection=keys))
    plan = location.get_execution_plan(remote_job, {}, step_keys_to_execute=None, known_state=None,
                                       instance=instance).execution_plan_snapshot
    run = instance.create_run(
        job_name=ASSET_JOB, run_id=None, run_config={}, resolved_op_selection=None,
        step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
        parent_run_id=None, tags={"dagster/partition": partition} if partition else {},
        job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan,
        parent_job_snapshot=remote_job.parent_job_snapshot, remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(), asset_selection=frozenset(keys),
        asset_check_selection=None, asset_graph=repository.asset_graph)
    return instance.submit_run(run.run_id, workspace)


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
