"""Test harness: day partition runs, each sequence on a warehouse of its own, over a landing folder already
filled with the days. `python -m medallion_platform_tests.day_runs <folder> <day,day,...>...` builds
such warehouses in a process of their own, on the second core, while a test builds others in its own
process (test_incremental's out-of-order sequences, test_bad_files' clean day): the same runs, in about
half the time."""

import shutil
import sys
from pathlib import Path

import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from medallion_platform.settings import get_settings
from medallion_platform_tests.incremental_job import INCREMENTAL_ASSETS

WAREHOUSE_LAYERS = AssetSelection.groups("bronze", "silver", "gold")
# What each day's run builds: everything the compared tables are made of, as the landing sensor's runs
# do (refreshed_by_landing). The whole-history Gold tables are rebuilt whole from Silver on a cadence
# (table materializations, not incremental), so equal Silver gives them equal rows; leaving them out of
# the day runs saves one dbt step, a third of each run.
DAY_RUN_LAYERS = AssetSelection.groups("bronze", "silver") | AssetSelection.assets(*INCREMENTAL_ASSETS)


def warehouse(folder: Path, env: pytest.MonkeyPatch, name: str, selection=WAREHOUSE_LAYERS):
    """Settings and definitions (with a `refresh` job of `selection`) over the warehouse in folder/name,
    reading the landing folder folder/landing."""
    from medallion_platform.definitions import build_definitions  # noqa: PLC0415 (reads the settings)

    env.setenv("MEDALLION_DATA_DIR", str(folder / name))
    env.setenv("MEDALLION_LANDING_DIR", str(folder / "landing"))
    env.delenv("MEDALLION_DUCKDB_PATH", raising=False)
    settings = get_settings()
    refresh = define_asset_job("refresh", selection=selection)
    return settings, Definitions.merge(build_definitions(settings), Definitions(jobs=[refresh]))


def run_days(folder: Path, name: str, days: list[str]) -> Path:
    """Run `days` in this order, one partition run each, on the warehouse in folder/name (created if
    missing); its path."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MEDALLION_LANDING", raising=False)
        settings, defs = warehouse(folder, env, name, DAY_RUN_LAYERS)
        with DagsterInstance.ephemeral() as instance:
            job = defs.resolve_job_def("refresh")
            for day in days:
                assert job.execute_in_process(partition_key=day, instance=instance).success, day
        return settings.duckdb_path


def order_name(order: list[str]) -> str:
    return "order-" + "-".join(day[-2:] for day in order)


def build_orders(folder: Path, orders: list[list[str]]) -> None:
    """Each order's warehouse in folder/order_name(order). The orders start with the same day: its run is
    done once and its warehouse copied."""
    [first] = {order[0] for order in orders}
    run_days(folder, "first-day", [first])
    for order in orders:
        shutil.copytree(folder / "first-day", folder / order_name(order))
        run_days(folder, order_name(order), order[1:])


if __name__ == "__main__":
    build_orders(Path(sys.argv[1]), [argument.split(",") for argument in sys.argv[2:]])
