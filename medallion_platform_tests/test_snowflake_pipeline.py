"""MEDALLION_WAREHOUSE=snowflake runs the same graph to Gold as DuckDB, with the same numbers.

Both runs use the real definitions and land the same generated feeds on moto's S3 server on 127.0.0.1
(MEDALLION_LANDING=s3): DuckDB reads the `s3://` objects with httpfs; Snowflake, played by fakesnow
(the production definitions with fakesnow_harness's warehouse and dbt injected), COPYs them from an
external stage on the bucket, and dbt runs the same models with dbt-snowflake.
Every Silver and Gold table must then hold the same rows on both, gold.events_flattened (the view the
Python asset generates from the events' payloads) included. What fakesnow cannot show (Snowflake's own
semantics, pipes, streams, tasks) is listed in the README.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import boto3
import duckdb
import pytest
from dagster import (
    AssetSelection, DagsterInstance, Definitions, ExecuteInProcessResult, build_sensor_context, define_asset_job,
)
from moto.server import ThreadedMotoServer

from medallion_platform.bronze.loader import LINEAGE_COLUMNS
from medallion_platform.definitions import build_definitions
from medallion_platform.defs.sensors import landed_files_to_bronze
from medallion_platform.demo.generate import DirtyRates, GenerateConfig, generate
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.report import latest_check_results, write_report
from medallion_platform.settings import PROJECT_ROOT, SettingsError, get_settings
from medallion_platform.sources import SOURCES
from medallion_platform_tests.conftest import MEDALLION_VARIABLES, SNOWFLAKE_ENV
from medallion_platform_tests.fakesnow_harness.fake_dbt import fake_snowflake
from medallion_platform_tests.fakesnow_harness.warehouse import fakesnow_definitions
from medallion_platform_tests.snapshots import differences, money_total, snapshot_rows

DAYS = ("2026-11-20", "2026-11-21")
# Dirty as the demo feeds are, but without lines no CSV parser accepts: fakesnow runs COPY without
# ON_ERROR, so such a line fails its whole file there (test_snowflake_bronze.py pins that).
FEEDS = GenerateConfig(scale=0.0002, seed=21, days=len(DAYS), start_date=date.fromisoformat(DAYS[0]),
                       dirty=DirtyRates(unparseable=0.0))
WAREHOUSE_LAYERS = AssetSelection.groups("bronze", "silver", "gold", "reports")
# Distinctive values of every secret a deployment sets, to look for in what the runs write.
SECRETS = {"AWS_ACCESS_KEY_ID": "AKIAMEDALLIONLEAK7Q2Z", "AWS_SECRET_ACCESS_KEY": "medallion-aws-secret-8c41f0",
           "SNOWFLAKE_PASSWORD": "medallion-snowflake-password-3b9e",
           "MEDALLION_ALERT_WEBHOOK_URL": "https://hooks.invalid/services/medallion-webhook-token-d75a"}
# When and in which order each warehouse loaded a file differ by nature, and so does when it landed
# (each warehouse's files are landed under their own prefix); every other column must not.
LOAD_TIMING_COLUMNS = ("_ingested_at", "_load_id", "_file_last_modified")
EVENTS_VIEW = "gold.events_flattened"
TABLES = ("silver.customers", "silver.products", "silver.transactions", "gold.vw_daily_sales_analysis",
          "gold.vw_customer_product_affinity", "gold.sales_by_country", "gold.top_products",
          "gold.client_activity", "gold.customer_sales_report", "gold.inventory_status", EVENTS_VIEW)
# The events view's payload column types as DuckDB and Snowflake (INFORMATION_SCHEMA.COLUMNS) name them.
SNOWFLAKE_TYPES = {"BIGINT": "NUMBER", "DOUBLE": "FLOAT", "BOOLEAN": "BOOLEAN", "VARCHAR": "TEXT",
                   "TIMESTAMP": "TIMESTAMP_NTZ", "JSON": "VARIANT"}


def read_duckdb_tables(path) -> dict:
    """Each table of TABLES as a snapshot, without the columns that say when a file was loaded."""
    with duckdb.connect(str(path), read_only=True) as con:
        columns = {t: [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {t})").fetchall()
                       if c not in LOAD_TIMING_COLUMNS] for t in TABLES}
        return {t: snapshot_rows(con.execute(f"SELECT {', '.join(columns[t])} FROM {t}")) for t in TABLES}


def events_view_types(cursor, warehouse: str) -> list[tuple[str, str]]:
    """The events view's columns and types, as the warehouse describes them."""
    if warehouse == "duckdb":
        cursor.execute(f"SELECT column_name, column_type FROM (DESCRIBE {EVENTS_VIEW})")
    else:
        cursor.execute("SELECT lower(column_name), data_type FROM information_schema.columns "
                       "WHERE table_schema = 'GOLD' AND table_name = 'EVENTS_FLATTENED' ORDER BY ordinal_position")
    return cursor.fetchall()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_warehouse_layers(env: pytest.MonkeyPatch, raw, data_dir, prefix: str, fakesnow_dir=None, **variables: str):
    """Land the feeds under `prefix`, then Bronze, Silver and Gold over their days in one run, on the
    real definitions with these settings (Snowflake played by fakesnow over `fakesnow_dir`, if given);
    the settings and the run's result."""
    env.setenv("MEDALLION_DATA_DIR", str(data_dir))
    env.setenv("MEDALLION_S3_PREFIX", prefix)
    for name, value in variables.items():
        env.setenv(name, value)
    settings = get_settings()
    for source in SOURCES:
        settings.landing.deliver_tree(raw, source)
    location = build_definitions(settings) if fakesnow_dir is None else fakesnow_definitions(settings, fakesnow_dir)
    defs = Definitions.merge(location,
                             Definitions(jobs=[define_asset_job("warehouse", selection=WAREHOUSE_LAYERS)]))
    # An instance on disk, as a deployment's: its event log and compute logs are there to read afterwards.
    (data_dir / "dagster_home").mkdir(parents=True)
    with DagsterInstance.local_temp(str(data_dir / "dagster_home")) as instance:
        result = defs.resolve_job_def("warehouse").execute_in_process(
            tags=landing_day_range_tags(DAYS[0], DAYS[-1]), instance=instance, raise_on_error=False)
        write_report(latest_check_results(instance, defs), settings.reports_dir)
    return settings, result


@dataclass
class Outcome:
    """What the tests read of one warehouse's run."""
    success: bool
    built: set[str]  # the asset keys it materialized
    failures: list[str]  # its failed steps' errors
    dashboard: dict  # the Gold dashboard's charts and the rows behind each, from its materialization

    @classmethod
    def of(cls, result: ExecuteInProcessResult) -> Outcome:
        events = result.get_asset_materialization_events()
        page = next((e.materialization.metadata for e in events
                     if e.asset_key.to_user_string() == "reports/gold_dashboard"), {})
        return cls(result.success, {e.asset_key.to_user_string() for e in events},
                   [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure],
                   {k: page[k].value for k in ("charts", "rows_behind_each_chart") if k in page})


def duckdb_side(raw: str, data_dir: str, out: str) -> None:
    """The DuckDB run of `both_warehouses`, in a process of its own (started with this process's
    environment, as the fixture set it): its Outcome as JSON in `out`."""
    with pytest.MonkeyPatch.context() as env:
        _, result = run_warehouse_layers(env, Path(raw), Path(data_dir), "duckdb/")
    outcome = Outcome.of(result)
    Path(out).write_text(json.dumps({**asdict(outcome), "built": sorted(outcome.built)}))


@contextmanager
def duckdb_side_alongside(raw: Path, data_dir: Path) -> Iterator[Callable[[], Outcome]]:
    """duckdb_side started now, on the second core while this process runs the Snowflake side; yields a
    function that waits for it and gives its Outcome."""
    out, log = data_dir.parent / "duckdb_outcome.json", data_dir.parent / "duckdb_side.log"
    code = "import sys; from medallion_platform_tests.test_snowflake_pipeline import duckdb_side; duckdb_side(*sys.argv[1:])"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-c", code, str(raw), str(data_dir), str(out)], cwd=PROJECT_ROOT,
                                   stdout=output, stderr=subprocess.STDOUT)

    def outcome() -> Outcome:
        assert process.wait(timeout=600) == 0, log.read_text()[-5000:]
        found = json.loads(out.read_text())
        return Outcome(found["success"], set(found["built"]), found["failures"], found["dashboard"])

    try:
        yield outcome
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@dataclass
class Runs:
    on_duckdb: Outcome
    on_snowflake: Outcome
    duckdb_tables: dict
    snowflake_tables: dict
    ledger: list[tuple]  # source, status, files in Snowflake's bronze.load_ledger
    view_types: dict[str, list[tuple[str, str]]]  # warehouse -> the events view's (column, type)
    bronze_events: dict[str, int]  # warehouse -> rows in bronze.events
    data_dirs: list  # each run's MEDALLION_DATA_DIR: its instance, dbt's artifacts and logs, reports


@pytest.fixture(scope="module")
def both_warehouses(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snowflake_pipeline")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    try:
        with pytest.MonkeyPatch.context() as env:
            for variable in (*MEDALLION_VARIABLES, *SNOWFLAKE_ENV, "AWS_PROFILE"):
                env.delenv(variable, raising=False)
            for name, value in SECRETS.items():
                env.setenv(name, value)
            env.setenv("AWS_DEFAULT_REGION", "us-east-1")
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="landing")
            env.setenv("MEDALLION_LANDING", "s3")
            env.setenv("MEDALLION_S3_BUCKET", "landing")
            env.setenv("MEDALLION_S3_ENDPOINT_URL", endpoint)

            generate(FEEDS, tmp / "raw")
            fakesnow_dir = tmp / "fakesnow"
            with duckdb_side_alongside(tmp / "raw", tmp / "duckdb") as duckdb_outcome:
                _, snowflake_result = run_warehouse_layers(
                    env, tmp / "raw", tmp / "snowflake", "snowflake/", fakesnow_dir, MEDALLION_WAREHOUSE="snowflake",
                    MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION="LANDING_S3",
                    **{**SNOWFLAKE_ENV, "SNOWFLAKE_PASSWORD": SECRETS["SNOWFLAKE_PASSWORD"]})
                on_duckdb, on_snowflake = duckdb_outcome(), Outcome.of(snowflake_result)

            assert on_duckdb.success and on_snowflake.success, on_duckdb.failures + on_snowflake.failures
            duckdb_path = tmp / "duckdb" / "warehouse.duckdb"
            duckdb_tables = read_duckdb_tables(duckdb_path)
            with duckdb.connect(str(duckdb_path), read_only=True) as con:
                view_types = {"duckdb": events_view_types(con.cursor(), "duckdb")}
                bronze_events = {"duckdb": con.execute("SELECT count(*) FROM bronze.events").fetchone()[0]}
            with fake_snowflake(fakesnow_dir):
                import snowflake.connector  # noqa: PLC0415  (patched by fake_snowflake)

                with snowflake.connector.connect(account="fake", user="test", password="x",
                                                 database="MEDALLION") as snow:
                    snowflake_tables = {t: snapshot_rows(snow.cursor().execute(
                        f"SELECT {', '.join(duckdb_tables[t][0])} FROM {t}")) for t in TABLES}
                    ledger = snow.cursor().execute(
                        "SELECT source, status, count(*) FROM bronze.load_ledger GROUP BY 1, 2").fetchall()
                    view_types["snowflake"] = events_view_types(snow.cursor(), "snowflake")
                    bronze_events["snowflake"] = snow.cursor().execute(
                        "SELECT count(*) FROM bronze.events").fetchone()[0]
            yield Runs(on_duckdb, on_snowflake, duckdb_tables, snowflake_tables, ledger, view_types, bronze_events,
                       [tmp / "duckdb", tmp / "snowflake"])
    finally:
        server.stop()


def test_a_new_landing_sensor_requests_no_run_for_what_snowflake_bronze_loaded(both_warehouses):
    """The first tick of a new sensor reads Snowflake's bronze.load_ledger, as on DuckDB
    (test_sensors.py): every file the run loaded is done, none is requested again."""
    settings = get_settings()  # the Snowflake run's settings are still the environment's
    assert settings.snowflake is not None
    defs = fakesnow_definitions(settings, both_warehouses.data_dirs[1].parent / "fakesnow")
    with build_sensor_context(cursor=None, definitions=defs, resources={
            "landing": settings.landing, "warehouse": defs.resources["warehouse"]}) as context:
        result = landed_files_to_bronze(context)
    landed = settings.landing.list_objects()
    assert landed and result.run_requests == []
    assert f"{len(landed)} file(s) already in Bronze" in result.skip_reason.skip_message


def test_no_secret_is_written_by_a_run(both_warehouses):
    """The credentials both runs were given (S3 keys, the Snowflake password, a webhook URL) appear nowhere
    they wrote: the instance's event log and compute logs, dbt's artifacts and logs, the check reports,
    the DuckDB warehouse."""
    files = [path for folder in both_warehouses.data_dirs for path in folder.rglob("*") if path.is_file()]
    written = [str(path) for path in files]
    assert any("compute_logs" in name for name in written) and any(name.endswith("dbt.log") for name in written)
    assert any(name.endswith("checks.md") for name in written) and any(name.endswith(".db") for name in written)
    leaks = [(str(path), name) for path in files for name, secret in SECRETS.items()
             if secret.encode() in path.read_bytes()]
    assert leaks == []


def test_both_runs_reach_gold(both_warehouses):
    runs = both_warehouses
    assert runs.on_duckdb.success, runs.on_duckdb.failures
    assert runs.on_snowflake.success, runs.on_snowflake.failures
    for run in (runs.on_duckdb, runs.on_snowflake):
        assert {f"{t.replace('.', '/')}" for t in TABLES} <= run.built


def test_the_gold_dashboard_has_the_same_charts_over_the_same_rows_on_both(both_warehouses):
    """Its queries run on either warehouse (through the `warehouse` resource) and read the same rows."""
    on_duckdb, on_snowflake = both_warehouses.on_duckdb.dashboard, both_warehouses.on_snowflake.dashboard
    # 8 of the 9: one chart has no rows in these small, less dirty feeds and says there is nothing to show.
    assert on_duckdb == on_snowflake and on_duckdb["charts"] == 8


def test_snowflake_bronze_was_loaded_by_copy_from_the_stage(both_warehouses):
    loaded = {source: count for source, status, count in both_warehouses.ledger if status == "loaded"}
    assert set(loaded) == {"customers", "products", "transactions", "events"}
    assert all(count == 2 for count in loaded.values())  # one file per source and day


def test_every_silver_and_gold_table_is_the_same_on_both(both_warehouses):
    duckdb_tables, snowflake_tables = both_warehouses.duckdb_tables, both_warehouses.snowflake_tables
    assert all(rows for _, rows in duckdb_tables.values())
    assert differences(duckdb_tables, snowflake_tables) == []
    for table, column in [("silver.transactions", "total_amount"), ("gold.vw_daily_sales_analysis", "total_sales"),
                          ("gold.top_products", "total_revenue"), ("gold.customer_sales_report", "revenue")]:
        assert money_total(snowflake_tables, table, column) == money_total(duckdb_tables, table, column) > 0


def test_the_events_view_has_the_same_columns_types_and_values_on_both(both_warehouses):
    """Beyond the whole-table comparison above: the columns of each type, event by event, and the counts."""
    on_duckdb, on_snowflake = both_warehouses.view_types["duckdb"], both_warehouses.view_types["snowflake"]
    assert [name for name, _ in on_snowflake] == [name for name, _ in on_duckdb]
    lineage = {name for name, _ in LINEAGE_COLUMNS}  # typed as in each warehouse's Bronze
    payload = [(kind, SNOWFLAKE_TYPES[duckdb_kind]) for (name, kind), (_, duckdb_kind) in zip(on_snowflake, on_duckdb)
               if name not in lineage]
    assert [kind for kind, _ in payload] == [expected for _, expected in payload]
    assert {kind for name, kind in on_duckdb if name not in lineage} == {"VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP"}
    picked = ("event_type", "event_timestamp", "device_os", "geo_city", "page_referrer", "cart_items", "cart_value",
              "_source_file", "_row_number", "_landing_date")
    events = {}
    for warehouse in ("duckdb", "snowflake"):
        columns, rows = getattr(both_warehouses, f"{warehouse}_tables")[EVENTS_VIEW]
        events[warehouse] = {row[columns.index("event_id")]: {c: row[columns.index(c)] for c in picked} for row in rows}
    assert events["snowflake"] == events["duckdb"]
    assert len(events["duckdb"]) == both_warehouses.bronze_events["duckdb"] \
        == both_warehouses.bronze_events["snowflake"]
    with_cart = [e for e in events["duckdb"].values() if e["cart_items"] is not None]
    assert 0 < len(with_cart) < len(events["duckdb"])
    assert all(e["event_type"] in ("add_to_cart", "remove_from_cart", "checkout", "purchase") for e in with_cart)
    assert all(isinstance(e["event_timestamp"], datetime) and e["event_timestamp"].tzinfo is None
               for e in events["snowflake"].values())


@pytest.mark.parametrize("variables, message", [
    ({}, "MEDALLION_WAREHOUSE=snowflake needs SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, "
         "SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE"),
    ({**SNOWFLAKE_ENV, "SNOWFLAKE_ACCOUNT": "xy12345.snowflakecomputing.com"}, "SNOWFLAKE_ACCOUNT="),
    ({**SNOWFLAKE_ENV, "MEDALLION_LANDING": "local"}, "set MEDALLION_LANDING=s3"),
    ({**SNOWFLAKE_ENV}, "needs MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION"),
    ({**SNOWFLAKE_ENV, "MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION": "s3 landing"},
     "MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION='s3 landing' is not an identifier"),
])
def test_bad_snowflake_settings_stop_start_up_naming_the_setting(clean_env, variables, message):
    for name in SNOWFLAKE_ENV:
        clean_env.delenv(name, raising=False)
    clean_env.setenv("MEDALLION_WAREHOUSE", "snowflake")
    clean_env.setenv("MEDALLION_LANDING", "s3")
    clean_env.setenv("MEDALLION_S3_BUCKET", "landing")
    for name, value in variables.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_settings()


def test_snowflake_modules_are_imported_only_when_snowflake_is_chosen(tmp_path):
    """The connector costs seconds of start-up: the default (DuckDB) definitions never import it."""
    code = ("import sys, medallion_platform.definitions; "
            "print(sorted(m for m in sys.modules if m.startswith(('snowflake.connector', 'dagster_snowflake', "
            "'medallion_platform.snowflake'))))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "SNOWFLAKE_"))}
    env["MEDALLION_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
