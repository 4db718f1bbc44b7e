"""The dbt project in sql/, the dbt Dagster runs on it, and its manifest, prepared as a build step.

`make install` runs `python -m medallion_platform.dbt_project`, which parses the project into
sql/target/manifest.json when it is missing or older than a file in sql/. Importing the definitions only
reads that manifest: a deployment never starts dbt to load its code. Under `dagster dev` (`make dev`) an
edit in sql/ is parsed again on the next reload of the code location.

Everything a dbt invocation needs from the settings (the warehouse file, DuckDB's limits, the target)
and from its step (the landing window) goes to that dbt process alone (medallion_platform/dbt_cli.py):
this process's environment is never written, so two sets of definitions in one process each run dbt on
their own warehouse, and one step's window never reaches another's dbt.
"""

import fcntl
import os
import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject
from dagster_dbt.errors import DagsterDbtManifestNotFoundError
from packaging.version import Version

from medallion_platform.dbt_cli import DBT_PARENT_PID, assignments
from medallion_platform.settings import DBT_PROJECT_DIR, DEFAULT_DBT_EXECUTABLE, Settings, get_settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# The first and last landing day of a partitioned step, as sql/macros/landing_window.sql reads them (it says
# why environment variables rather than --vars).
WINDOW_VARIABLES = ("MEDALLION_MIN_LANDING_DATE", "MEDALLION_MAX_LANDING_DATE")
PARSE_STATE = "partial_parse.msgpack"


class MedallionDbtCli(DbtCliResource):
    """DbtCliResource bound to one Settings (dbt_resource), without two costs paid on every run, each for
    something this project does not use:
    - the `dbt --version` subprocess dagster-dbt runs to learn the version: it imports every installed
      adapter (Snowflake's connector among them) and asks the package index for updates, ~6 s a run;
      the installed dbt-core says the same;
    - the dbt adapter dagster-dbt opens in this process (1-2 s a step) to fetch row counts and column
      metadata: row counts are read after dbt exits (defs/dbt.py), and without an adapter dagster-dbt
      skips only those fetches.
    Each dbt it starts gets, as its own environment variables (medallion_platform/dbt_cli.py), the values
    sql/profiles.yml reads, the step's landing window (empty: every day) and the pid of this process, so
    that dbt can tell when it was orphaned before it could arrange to die with this process."""

    # What sql/profiles.yml reads, from the settings.
    profile_variables: dict[str, str]
    # Settings.dbt_target_dir: each invocation's artifacts, and the parse state the next one starts from.
    target_dir: str

    def cli(self, args: Sequence[str], *, window: tuple[str, str] | None = None, target_path: Path | None = None,
            context=None, **kwargs) -> DbtCliInvocation:
        """`window`: the first and last landing day this invocation's models process."""
        target_path = Path(target_path or self._get_unique_target_path(context=context))
        self._start_from_parse_state(target_path)
        variables = {**self.profile_variables, **dict(zip(WINDOW_VARIABLES, window or ("", ""))),
                     DBT_PARENT_PID: str(os.getpid()),
                     # dagster-dbt copies dbt's lines to this process's stdout: colour codes only on a terminal.
                     "DBT_USE_COLORS": str(sys.stdout.isatty()).lower()}
        return super().cli([*assignments(variables), *args], target_path=target_path, context=context, **kwargs)

    def _get_unique_target_path(self, *, context) -> Path:
        return Path(self.target_dir) / super()._get_unique_target_path(context=context).name

    def _start_from_parse_state(self, target_path: Path) -> None:
        """Seed the invocation with the parse state the latest one kept (keep_parse_state), so it parses
        only what changed instead of the whole project (~3 s a step)."""
        kept = Path(self.target_dir) / PARSE_STATE
        if kept.exists() and not (target_path / PARSE_STATE).exists():
            target_path.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, target_path / PARSE_STATE)

    def keep_parse_state(self, invocation: DbtCliInvocation) -> None:
        """Keep a finished invocation's parse state for the next one (_start_from_parse_state)."""
        state = Path(invocation.target_path) / PARSE_STATE
        if state.exists():
            Path(self.target_dir).mkdir(parents=True, exist_ok=True)
            staged = Path(self.target_dir) / f".{PARSE_STATE}.{os.getpid()}"
            shutil.copyfile(state, staged)
            staged.replace(Path(self.target_dir) / PARSE_STATE)

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource(settings: Settings, executable: str = DEFAULT_DBT_EXECUTABLE) -> MedallionDbtCli:
    """The dbt of these settings: their warehouse (the profile's output of that name) and file;
    `executable` replaces medallion-dbt (a test harness's stand-in)."""
    return MedallionDbtCli(
        project_dir=dbt_project, dbt_executable=executable, target=settings.warehouse,
        target_dir=str(settings.dbt_target_dir),
        profile_variables={"MEDALLION_DUCKDB_PATH": str(settings.duckdb_path),
                           "MEDALLION_DUCKDB_THREADS": str(settings.duckdb_threads),
                           "MEDALLION_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit})


def manifest_is_stale() -> bool:
    manifest = Path(dbt_project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for folder in ("models", "macros", "seeds", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def prepare_manifest(settings: Settings) -> None:
    """Parse the project into sql/target when the manifest is missing or older than the SQL, with the dbt
    and profile the runs use. One process at a time (`make dev` loads the code in several)."""
    target = dbt_project.project_dir / dbt_project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale():
            dbt_resource(settings).cli(["parse", "--quiet"], target_path=target).wait()


def prepare_if_dev() -> None:
    """Under `dagster dev`, parse an edit in sql/ when the code location loads. Elsewhere the build has
    prepared the manifest; if it has not, say how to."""
    if dbt_project.preparer.using_dagster_dev():
        prepare_manifest(get_settings())
    elif not dbt_project.manifest_path.exists():
        raise DagsterDbtManifestNotFoundError(f"{dbt_project.manifest_path} is missing: prepare it with `make install` "
                                              "(or `python -m medallion_platform.dbt_project`)")


if __name__ == "__main__":
    prepare_manifest(get_settings())
