"""Two incremental runs that overlap in production end where the same two runs one after the other do.

Every incremental run replaces the one silver.transactions_revisited and merges it into Silver and the
Gold facts, so that step must not run in two runs at once on Snowflake, whose writers the production
instance does not otherwise limit. Here: Snowflake played by fakesnow, the landing zone on moto's S3
server, Bronze loaded for three days of sales feeds and Silver and the Gold facts built for the first; then the incremental step for
the second and third day as two real `dagster job execute` processes started together on an
instance with the production instance's concurrency settings (deploy/dagster.yaml), against the same
two runs in order on a copy of the same warehouse. fakesnow admits one process at a time to its
database files, so steps that overlap fail there rather than merge each other's change set as Snowflake
would let them: either way the runs must not overlap.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from dagster import AssetSelection, DagsterEventType, DagsterInstance, Definitions, define_asset_job

from medallion_platform.demo.generate import DirtyRates, GenerateConfig, generate
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.settings import CHANGE_SET_POOL, get_settings
from medallion_platform_tests.conftest import snowflake_environment
from medallion_platform_tests.fakesnow_harness.fake_dbt import DB_PATH_VARIABLE, fake_snowflake
from medallion_platform_tests.fakesnow_harness.warehouse import fakesnow_definitions
from medallion_platform_tests.incremental_job import INCREMENTAL_ASSETS, incremental_job
from medallion_platform_tests.snapshots import differences, snapshot_rows

ROOT = Path(__file__).resolve().parent.parent
DAYS = ("2026-11-20", "2026-11-21", "2026-11-22")
FEEDS = GenerateConfig(scale=0.0002, seed=8, days=len(DAYS), start_date=date.fromisoformat(DAYS[0]),
                       dirty=DirtyRates(unparseable=0.0))
SALES_FEEDS = ("customers", "products", "transactions")  # the events feed reaches no table compared here
BRONZE = [f"bronze/{source}" for source in SALES_FEEDS]
TABLES = {"silver.transactions": "transaction_id",
          "gold.vw_daily_sales_analysis": "transaction_date, product_id, customer_id",
          "gold.vw_customer_product_affinity": "customer_id, product_id, purchase_month"}


def _use(env: pytest.MonkeyPatch, folder: Path) -> Definitions:
    """Definitions over the warehouse (fakesnow files) and data folder under `folder`."""
    env.setenv("MEDALLION_DATA_DIR", str(folder / "data"))
    env.setenv(DB_PATH_VARIABLE, str(folder / "fakesnow"))  # for incremental_job in other processes
    jobs = [define_asset_job("bronze", selection=AssetSelection.assets(*BRONZE)),
            define_asset_job("first_day", selection=AssetSelection.groups("silver") | AssetSelection.assets(*INCREMENTAL_ASSETS))]
    return Definitions.merge(fakesnow_definitions(get_settings(), folder / "fakesnow"), Definitions(jobs=jobs))


def _tables(folder: Path) -> dict:
    with fake_snowflake(folder / "fakesnow"):
        import snowflake.connector  # noqa: PLC0415  (patched by fake_snowflake)

        with snowflake.connector.connect(account="fake", user="test", password="x", database="MEDALLION") as snow:
            return {table: snapshot_rows(snow.cursor().execute(
                f"SELECT * EXCLUDE (_load_id, _ingested_at) FROM {table} ORDER BY {order}"
                if table.startswith("silver") else f"SELECT * FROM {table} ORDER BY {order}"))
                for table, order in TABLES.items()}


def _production_instance(home: Path) -> None:
    """A local instance (SQLite) with the production instance's concurrency settings and the pool limit
    deploy/dagster.yaml says to set after deploying (what `dagster instance concurrency set
    transactions_change_set 1` does), its storage created here rather than by two runs at once."""
    production = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump({"concurrency": production["concurrency"],
                                                       "telemetry": {"enabled": False}}))
    with DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots(CHANGE_SET_POOL, 1)


def _step_intervals(home: Path) -> list[tuple[float, float]]:
    """When each run's incremental dbt step started and ended."""
    intervals = []
    with DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            times = {entry.dagster_event.event_type: entry.timestamp for entry in instance.all_logs(run.run_id)
                     if entry.is_dagster_event and entry.step_key == "incremental_dbt_models"}
            intervals.append((times[DagsterEventType.STEP_START], times[DagsterEventType.STEP_SUCCESS]))
    return sorted(intervals)


def test_overlapping_incremental_runs_end_where_the_same_runs_in_order_do(tmp_path, s3_bucket, s3_endpoint,
                                                                          clean_env):
    env = snowflake_environment(clean_env, s3_bucket, s3_endpoint)
    generate(FEEDS, tmp_path / "raw")
    base = tmp_path / "base"
    defs = _use(env, base)
    for source in SALES_FEEDS:
        get_settings().landing.deliver_tree(tmp_path / "raw", source)
    with DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("bronze").execute_in_process(
            tags=landing_day_range_tags(DAYS[0], DAYS[-1]), instance=instance).success
        assert defs.resolve_job_def("first_day").execute_in_process(
            partition_key=DAYS[0], instance=instance).success
    for copy in ("in_order", "overlapping"):
        shutil.copytree(base, tmp_path / copy)

    _use(env, tmp_path / "overlapping")
    home = tmp_path / "overlapping" / "dagster_home"
    _production_instance(home)
    env.setenv("DAGSTER_HOME", str(home))
    dagster = Path(sys.executable).with_name("dagster")
    runs = [subprocess.Popen([str(dagster), "job", "execute", "-m", "medallion_platform_tests.incremental_job",
                              "-a", "incremental_job", "--tags", json.dumps({"dagster/partition": day})],
                             env=dict(os.environ), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for day in DAYS[1:]]
    try:
        # Meanwhile, on its own copy, the same two runs one after the other in this process: the second
        # core is otherwise idle while the overlapping runs wait for each other.
        _use(env, tmp_path / "in_order")
        with DagsterInstance.ephemeral() as instance:
            for day in DAYS[1:]:
                assert incremental_job().execute_in_process(partition_key=day, instance=instance).success
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert [run.returncode for run in runs] == [0, 0], "\n".join(output[-3000:] for output in outputs)

    (first_start, first_end), (second_start, _) = _step_intervals(home)
    assert first_end <= second_start, "the two runs' incremental steps ran at the same time"
    in_order, overlapping = _tables(tmp_path / "in_order"), _tables(tmp_path / "overlapping")
    assert all(rows for _, rows in in_order.values())
    assert differences(in_order, overlapping) == []
