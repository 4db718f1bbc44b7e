"""No hidden channels: settings read the environment and write nothing, each dbt invocation gets its
warehouse and landing window in its own process, and importing the definitions starts no process."""

import os
import subprocess
import sys
from contextlib import contextmanager

import duckdb
from dagster import AssetKey, DagsterInstance, materialize

from medallion_platform.settings import get_settings

ENVIRONMENT_WRITES = ("os.putenv", "os.unsetenv")
_recording: list[list[str]] = []


def _record_environment_writes(event: str, args: tuple) -> None:
    if _recording and event in ENVIRONMENT_WRITES:
        name = args[0].decode() if isinstance(args[0], bytes) else args[0]
        _recording[-1].append(name)


# os.environ's writes raise these audit events (a hook cannot be removed, so it records only when asked).
sys.addaudithook(_record_environment_writes)


@contextmanager
def environment_writes():
    """The names of the environment variables this process sets or unsets inside the block."""
    names: list[str] = []
    _recording.append(names)
    try:
        yield names
    finally:
        _recording.remove(names)


def test_get_settings_writes_no_environment_variable(clean_env, tmp_path):
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path))
    before = dict(os.environ)
    with environment_writes() as writes:
        get_settings()
    assert writes == []
    assert dict(os.environ) == before


def _has_seed(path) -> bool:
    if not path.exists():
        return False
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'silver' "
                           "AND table_name = 'country_aliases'").fetchone()[0] == 1


def test_two_definitions_in_one_process_each_run_dbt_on_their_own_warehouse(clean_env, tmp_path):
    """Settings read later must not redirect the dbt of definitions built earlier (two warehouses in one
    process, as tests and tools build them)."""
    from medallion_platform.definitions import build_definitions  # noqa: PLC0415 (builds the default defs)

    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "first"))
    first = get_settings()
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "second"))
    second = get_settings()
    first_defs, second_defs = build_definitions(first), build_definitions(second)
    seed = AssetKey(["silver", "country_aliases"])
    with DagsterInstance.ephemeral() as instance:
        result = materialize(first_defs.assets, selection=[seed], resources=first_defs.resources, instance=instance)
        assert result.success
        assert _has_seed(first.duckdb_path) and not _has_seed(second.duckdb_path)
        result = materialize(second_defs.assets, selection=[seed], resources=second_defs.resources, instance=instance)
        assert result.success
        assert _has_seed(second.duckdb_path)


def _compiled(invocation) -> str:
    invocation.wait()
    assert invocation.is_successful(), invocation.get_error()
    (result,) = invocation.get_artifact("run_results.json")["results"]
    return result["compiled_code"]


def test_a_landing_window_reaches_its_own_dbt_invocation_only(local_settings, monkeypatch, tmp_path):
    """The window goes to the dbt process it is for: not through this process's environment, not into
    the next invocation; a window left in this process's environment reaches no dbt."""
    from medallion_platform.dbt_project import dbt_resource  # noqa: PLC0415

    monkeypatch.setenv("MEDALLION_MIN_LANDING_DATE", "2020-01-01")
    monkeypatch.setenv("MEDALLION_MAX_LANDING_DATE", "2020-01-02")
    local_settings.data_dir.mkdir(parents=True)  # the warehouse's folder, as the definitions create it
    before = dict(os.environ)
    dbt = dbt_resource(local_settings)
    inline = ["compile", "--inline", "select {{ landing_window_is_set() }} as is_set, {{ in_landing_window('d') }} as w"]
    with environment_writes() as writes:
        windowed = _compiled(dbt.cli(inline, window=("2026-11-19", "2026-11-20"), target_path=tmp_path / "a"))
        following = _compiled(dbt.cli(inline, target_path=tmp_path / "b"))
    assert writes == []
    assert dict(os.environ) == before
    assert "True as is_set" in windowed
    assert "cast('2026-11-19' as date)" in windowed and "cast('2026-11-20' as date)" in windowed
    assert "False as is_set" in following and "2020-01-01" not in following and "2026-11-19" not in following


def test_importing_the_definitions_starts_no_dbt(tmp_path):
    """A deployment imports a manifest prepared at build time (make install); even one older than the SQL
    beside it is not re-parsed on import."""
    from medallion_platform.dbt_project import dbt_project  # noqa: PLC0415

    manifest = dbt_project.manifest_path
    stat = manifest.stat()
    probe = ("import sys\n"
             "def hook(event, args):\n"
             "    if event == 'subprocess.Popen' and 'dbt' in str(args[0]):\n"
             "        print('STARTED', args[1], flush=True)\n"
             "        raise SystemExit(3)\n"
             "sys.addaudithook(hook)\n"
             "import medallion_platform.definitions\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DAGSTER_IS_DEV"))}
    env["MEDALLION_DATA_DIR"] = str(tmp_path / "data")
    os.utime(manifest, (stat.st_atime, 0))  # older than every file in sql/
    try:
        imported = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                  timeout=300)
    finally:
        os.utime(manifest, (stat.st_atime, stat.st_mtime))
    assert imported.returncode == 0, imported.stdout + imported.stderr[-3000:]
