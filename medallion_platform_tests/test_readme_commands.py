"""The README's command for running the pipeline by hand, run as the README shows it, from the project
root with `make dev`'s daemon up: it queues one run of the pipeline on the project's instance (no
DAGSTER_HOME in the shell), and that run loads the landed files once and writes nothing to the landing
zone (no demo feeds regenerated, nothing landed again)."""

import os
import shlex
import subprocess
from datetime import date, timedelta

import duckdb

from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.settings import PROJECT_ROOT
from medallion_platform_tests.daemon import daemon_over_landing, wait_for_daemon, wait_for_runs

COMMAND = ".venv/bin/medallion materialize "


def _readme_command() -> list[str]:
    line = next(line for line in (PROJECT_ROOT / "README.md").read_text().splitlines() if line.startswith(COMMAND))
    return shlex.split(line, comments=True)


def _landing_state(folder) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()}


def test_the_readmes_materialize_command_lands_nothing_and_runs_on_the_projects_instance(tmp_path, clean_env):
    command = _readme_command()
    first, last = command[command.index("--partition-range") + 1].split("...")
    data_dir, landing = tmp_path / "data", tmp_path / "data" / "landing"
    days = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
    files = generate(GenerateConfig(scale=0.0002, seed=3, days=days, start_date=date.fromisoformat(first)), landing)
    landed = _landing_state(landing)

    log = tmp_path / "daemon.log"
    with daemon_over_landing(data_dir, landing, log, clean_env.setenv) as (instance, _workspace, daemon, env):
        assert env["DAGSTER_HOME"] == str(data_dir / "dagster_home")  # where medallion puts it by default
        wait_for_daemon(instance, 300)
        shell = {name: value for name, value in env.items() if name != "DAGSTER_HOME"}
        by_hand = subprocess.run(command, cwd=PROJECT_ROOT, env=shell, capture_output=True, text=True, timeout=900)
        assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
        run_id = by_hand.stdout.split()[2].rstrip(":")
        (run,) = wait_for_runs(instance, [run_id], 60, daemon, log)  # on this instance, and finished
        selected = {key.path[0] for key in run.asset_selection}

    assert selected == {"bronze", "silver", "gold", "reports"}  # the pipeline location: no raw feeds
    assert _landing_state(landing) == landed and not (data_dir / "raw").exists()
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute("SELECT status, count(*), count(DISTINCT file_key) FROM bronze.load_ledger GROUP BY 1").fetchall()
        transactions = con.execute("SELECT (SELECT count(*) FROM bronze.transactions)"
                                   " + (SELECT count(*) FROM bronze.rejects WHERE source = 'transactions')").fetchone()[0]
    assert ledger == [("loaded", len(files), len(files))]  # each landed file loaded once
    assert transactions == sum(f.rows for f in files if f.source == "transactions")
