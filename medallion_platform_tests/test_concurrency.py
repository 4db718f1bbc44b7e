"""Runs requested together on one DuckDB warehouse, through the daemon's queue as `make dev` runs it,
one of them started by hand with the README's `medallion materialize` while the others write: no run
meets DuckDB's lock, all succeed, and Gold ends as one run over all the days would leave it.
benchmarks/concurrency.py does the same with 20 runs."""

from datetime import timedelta

from dagster import DagsterInstance

from medallion_platform.cli import main
from medallion_platform_tests.conftest import DAEMON_FIRST_DAY
from medallion_platform_tests.daemon import (
    LOCK_ERRORS,
    daemon_over_landing,
    finished_ok,
    gold_facts,
    landing_runs,
    queue_together,
    reference_alongside,
    wait_for_runs,
)

DAYS = [(DAEMON_FIRST_DAY + timedelta(days=n)).isoformat() for n in (1, 2)]
SOURCES = ["customers", "transactions"]  # products: the base day's file


def test_runs_queued_together_all_succeed_and_gold_equals_one_run(tmp_path, clean_env, daemon_base):
    landing, built_base = daemon_base
    from medallion_platform.definitions import defs  # noqa: PLC0415

    runs = landing_runs(defs, SOURCES, DAYS)
    log = tmp_path / "daemon.log"
    with reference_alongside(tmp_path, landing, runs, built_base) as (data_dir, reference):
        with daemon_over_landing(data_dir, landing, log, clean_env.setenv) as (instance, workspace, daemon, env):
            run_ids = queue_together(instance, workspace, runs, env, timeout=600)
            finished = wait_for_runs(instance, run_ids, 600, daemon, log)
            assert finished_ok(finished), [(r.run_id, r.status.value) for r in finished]
            logs = "".join(str(event.message) for run_id in run_ids for event in instance.all_logs(run_id))
            assert not [error for error in LOCK_ERRORS if error in logs]
        assert gold_facts(data_dir / "warehouse.duckdb") == gold_facts(reference() / "warehouse.duckdb")


def test_without_a_daemon_medallion_materialize_queues_nothing_and_says_why(tmp_path, clean_env, capsys):
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["materialize", "--select", "bronze/customers", "--partition", "2026-11-21"]) == 2
    assert f"no dagster-daemon is running on DAGSTER_HOME={tmp_path / 'home'}" in capsys.readouterr().err
    with DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_runs() == []
