"""Test harness: the project's Dagster UI as a user opens it, for tests that look at what it shows.

    with dagster_webserver(dagster_home, data_dir, log=tmp_path / "webserver.log") as server:
        server.url                     # http://127.0.0.1:<free port>, every code location loaded
        server.graphql(query, {...})   # the `data` of a GraphQL answer; an error answer fails with it

It starts the `.venv`'s `dagster-webserver` on a free 127.0.0.1 port over `dagster_home` (the instance:
runs, materializations) and a workspace file (by default the laptop's workspace.yaml, both locations),
with the settings' data folder `data_dir`, and stops it with its code servers on leaving."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medallion_platform.settings import PROJECT_ROOT
from medallion_platform_tests.conftest import free_port
from medallion_platform_tests.daemon import BIN, daemon_environment, stop_group

LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


@dataclass(frozen=True)
class Webserver:
    url: str
    log: Path

    def graphql(self, query: str, variables: Mapping | None = None, timeout: float = 30) -> dict:
        """POST a query to /graphql; its `data`. GraphQL errors fail with them and the server's log's tail."""
        request = urllib.request.Request(f"{self.url}/graphql", method="POST",
                                         data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise AssertionError(f"GraphQL errors: {answer['errors']}\n{self.log.read_text()[-3000:]}")
        return answer["data"]


@contextmanager
def dagster_webserver(dagster_home: Path, data_dir: Path, *, log: Path,
                      workspace: Path = PROJECT_ROOT / "workspace.yaml",
                      env: Mapping[str, str] | None = None, timeout: float = 180) -> Iterator[Webserver]:
    """The UI over `dagster_home` and `workspace`, settings on `data_dir` plus `env`; yielded once it answers
    and every code location has loaded (a location that fails to load fails with its error)."""
    port = free_port()
    environment = {**daemon_environment(data_dir, dagster_home), **(env or {})}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
            cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            server = Webserver(f"http://127.0.0.1:{port}", log)
            _wait_until_loaded(server, process, timeout)
            yield server
        finally:
            stop_group(process)


def _wait_until_loaded(server: Webserver, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dagster-webserver exited ({process.returncode}):\n{server.log.read_text()[-3000:]}")
        try:
            entries = server.graphql(LOCATIONS, timeout=5)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            entries = []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = {e["name"]: e["locationOrLoadError"]["message"] for e in entries
                      if e["locationOrLoadError"]["__typename"] == "PythonError"}
            assert not errors, errors
            return
        time.sleep(0.5)
    raise AssertionError(f"dagster-webserver did not load its workspace in {timeout} s:\n{server.log.read_text()[-3000:]}")
