"""The two Dagster instance files: the laptop's (DuckDB, one writer) and production's (Postgres)."""

from pathlib import Path

import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster_postgres import DagsterPostgresStorage

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
    assert all(set(value) == {"env"} for value in postgres.values()), postgres
    assert validate_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"]).success
    # Pools without a limit of their own, transactions_change_set among them, run one step at a time
    # (medallion_platform_tests/test_overlapping_runs.py runs two overlapping runs on these settings).
    assert config["concurrency"]["pools"] == {"granularity": "op", "default_limit": 1}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["auto_materialize"] == {"enabled": True, "use_sensors": True}
