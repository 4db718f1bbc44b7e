"""Runs queued on the instance the daemon drains, as the sensors queue them: how a run started by hand
(`medallion materialize`) takes its turn behind the warehouse_writer pool instead of racing it."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster import AssetKey, DagsterInstance, DagsterRun
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import BaseWorkspaceRequestContext, WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

from medallion_platform.settings import PROJECT_ROOT

# The location's name in workspace.yaml and deploy/workspace.yaml: a run must name the location the
# daemon knows.
LOCATION = "medallion_platform"
MODULE = "medallion_platform.definitions"
ASSET_JOB = "__ASSET_JOB"


@contextmanager
def code_location(instance: DagsterInstance) -> Iterator[BaseWorkspaceRequestContext]:
    """The definitions loaded in this process under the daemon's location name: a run created from them
    is launched by the daemon through its own code server."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=MODULE,
                             working_directory=str(PROJECT_ROOT)),
        location_name=LOCATION)
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process_context:
        yield process_context.create_request_context()


def queue_run(instance: DagsterInstance, workspace: BaseWorkspaceRequestContext, keys: set[AssetKey],
              tags: Mapping[str, str]) -> DagsterRun:
    """Queue a run of `keys` and their checks, with `tags` (its partition or range), for the daemon."""
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
        parent_run_id=None, tags=dict(tags), job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan,
        parent_job_snapshot=remote_job.parent_job_snapshot, remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(), asset_selection=frozenset(keys),
        asset_check_selection=None, asset_graph=repository.asset_graph)
    return instance.submit_run(run.run_id, workspace)


def daemon_is_running(instance: DagsterInstance) -> bool:
    """A dagster-daemon with a recent heartbeat drains this instance's run queue."""
    return all(status.healthy for status in instance.get_daemon_statuses(["QUEUED_RUN_COORDINATOR"]).values())
