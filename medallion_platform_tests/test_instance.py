"""A fresh local instance is created once, whichever command comes first: Dagster's SQLite storage is
not safe to create from several processes at once (two alembic heads, and every later command fails),
and `make dev` alone starts three (webserver, daemon, code server) on the same DAGSTER_HOME."""

import os
import subprocess
import sys
import time

from dagster import DagsterInstance

# What each medallion command does first: pick and prepare the instance, then use it. Each process
# waits for the `go` file, so that all six reach the instance in the same instant.
COMMAND_START = """
import sys, time
from pathlib import Path
from dagster import DagsterInstance
from medallion_platform.cli import use_dagster_home
folder = Path(sys.argv[1])
(folder / f"ready.{sys.argv[2]}").touch()
while not (folder / "go").exists():
    time.sleep(0.01)
use_dagster_home(folder / "data")
with DagsterInstance.get() as instance:
    instance.get_runs(limit=1)
    instance.event_log_storage.get_concurrency_info("warehouse_writer")
"""
PROCESSES = 6


def start_together(folder, env) -> list[subprocess.CompletedProcess]:
    folder.mkdir()
    processes = [subprocess.Popen([sys.executable, "-c", COMMAND_START, str(folder), str(n)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for n in range(PROCESSES)]
    deadline = time.time() + 120
    while len(list(folder.glob("ready.*"))) < PROCESSES and time.time() < deadline:
        time.sleep(0.05)
    (folder / "go").touch()
    return [(process.wait(timeout=120), process.stdout.read()) for process in processes]


def test_commands_started_together_on_a_fresh_instance_leave_it_usable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_HOME"))}
    for attempt in range(2):  # without the lock, lost on the first attempt in practice
        folder = tmp_path / f"attempt{attempt}"
        results = start_together(folder, env)
        assert [code for code, _ in results] == [0] * PROCESSES, "\n".join(out[-1500:] for _, out in results)
        with DagsterInstance.from_config(str(folder / "data" / "dagster_home")) as instance:
            assert instance.get_runs() == []
