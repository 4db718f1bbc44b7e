"""The laptop instance's run launcher: Dagster's default one, which also tells run monitoring whether a
run's process is still alive.

The default launcher cannot: a run whose process died without its code server seeing it (one run in
`medallion demo`'s own process, or any run once `make dev` was restarted) stays STARTED for good and
keeps its warehouse_writer slot. Every run of the laptop instance executes on this machine, so the
process that recorded the run's start (its RUN_START event carries the pid) is looked up in /proc. Not
for the production instance, whose runs may be started on other hosts."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("/proc/stat has no btime line")


def process_start_time(pid: int) -> float | None:
    """When the process `pid` started (epoch seconds), or None if there is none, or only its zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] == "Z":
        return None
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of proc(5): starttime


class LocalRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """FAILED once the process that started the run is gone; RUNNING while it lives, or when that
        cannot be told (no RUN_START yet, no /proc): run monitoring fails a run on anything else."""
        started = self._instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
        pid = started[-1].dagster_event.pid if started else None
        if pid is None or not Path("/proc/stat").exists():
            return CheckRunHealthResult(WorkerStatus.RUNNING, "cannot tell: no pid recorded, or no /proc")
        began = process_start_time(pid)
        # A pid taken by a newer process after the run's own died is not the run's.
        if began is None or began > started[-1].timestamp + 1:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process (pid {pid}) is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"pid {pid} is alive")
