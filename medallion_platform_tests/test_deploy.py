"""The two Dagster instance files: the laptop's (DuckDB, one writer) and production's (Postgres)."""

from datetime import date
from pathlib import Path

import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster_postgres import DagsterPostgresStorage

from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.runs import code_location, queue_run
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform_tests.daemon import (
    daemon_environment,
    dagster_daemon,
    new_dagster_home,
    stop_automation,
    wait_for_runs,
)
from medallion_platform_tests.postgres import postgres_server

ROOT = Path(__file__).resolve().parent.parent


def load(path: Path) -> dict:
    config = yaml.safe_load(path.read_text())
    result = validate_config(dagster_instance_config_schema(), config)
    assert result.success, [error.message for error in result.errors]
    return config


def test_the_laptop_instance_allows_one_writer_at_a_time():
    config = load(ROOT / "dagster.yaml")
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["auto_materialize"] == {"enabled": True, "use_sensors": True}


def test_the_production_instance_keeps_its_state_in_postgres_and_one_change_set_step_at_a_time():
    config = load(ROOT / "deploy" / "dagster.yaml")
    postgres = config["storage"]["postgres"]["postgres_db"]
    # Every connection setting comes from the environment: no secret, host or name in the file.
    assert all(set(value) == {"env"} for name, value in postgres.items() if name != "scheme"), postgres
    assert validate_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"]).success
    # Pools without a limit of their own, transactions_change_set among them, run one step at a time
    # (medallion_platform_tests/test_overlapping_runs.py runs two overlapping runs on these settings).
    assert config["concurrency"]["pools"] == {"granularity": "op", "default_limit": 1}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["auto_materialize"] == {"enabled": True, "use_sensors": True}


def test_both_instances_fail_dead_runs_and_free_their_pool_slots():
    """Without run monitoring a run killed while holding a pool slot keeps it forever (test_run_monitoring)."""
    for path in (ROOT / "dagster.yaml", ROOT / "deploy" / "dagster.yaml"):
        monitoring = load(path)["run_monitoring"]
        assert monitoring["enabled"] is True, path
        assert 0 < monitoring["free_slots_after_run_end_seconds"] <= 60, path
        assert monitoring["poll_interval_seconds"] <= 30, path


def test_the_production_instance_runs_and_frees_a_dead_runs_slot_on_a_real_postgres(tmp_path, clean_env):
    """deploy/dagster.yaml as deployed (Postgres storage, queued runs, run monitoring), with its pool
    capped at one and its monitoring clock compressed from 30 s / 60 s to 1 s so the test takes seconds.
    A real run through the daemon's queue, then a slot left claimed by a run that has ended (what a
    worker killed mid-step leaves): the monitoring frees it and the next run completes."""
    home = new_dagster_home(tmp_path / "dagster_home", ROOT / "deploy" / "dagster.yaml", monitoring_seconds=1)
    data_dir = tmp_path / "data"
    day = "2026-11-20"
    generate(GenerateConfig(scale=0.0002, seed=4, days=1, start_date=date.fromisoformat(day)), data_dir / "landing")
    with postgres_server() as database:
        env = {**daemon_environment(data_dir, home), **database}
        for name, value in env.items():
            clean_env.setenv(name, value)
        log = tmp_path / "daemon.log"
        with DagsterInstance.get() as instance, code_location(instance) as workspace:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            instance.event_log_storage.set_concurrency_slots(WAREHOUSE_WRITER_POOL, 1)
            stop_automation(instance, workspace)
            with dagster_daemon(env, log) as daemon:
                first = queue_run(instance, workspace, {AssetKey(["bronze", "customers"])}, {"dagster/partition": day})
                [first] = wait_for_runs(instance, [first.run_id], 240, daemon, log)
                assert first.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]

                instance.event_log_storage.claim_concurrency_slot(WAREHOUSE_WRITER_POOL, first.run_id, "bronze__customers")
                second = queue_run(instance, workspace, {AssetKey(["bronze", "products"])}, {"dagster/partition": day})
                [second] = wait_for_runs(instance, [second.run_id], 240, daemon, log)
                assert second.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
            assert not instance.event_log_storage.get_concurrency_info(WAREHOUSE_WRITER_POOL).claimed_slots
            assert "MONITORING" in instance.get_daemon_statuses()
