"""Day-by-day partition runs (the incremental path) end where one run over all days does, and where an
independent computation from the raw files does: corrections across days and late arrivals included."""

import shutil
import subprocess
import sys
from collections import Counter
from datetime import date

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from medallion_platform.bronze.loader import load_source
from medallion_platform.demo.generate import GenerateConfig, drop_batch, generate
from medallion_platform.landing import LocalLandingZone
from medallion_platform.settings import PROJECT_ROOT
from medallion_platform.sources import SOURCES
from medallion_platform_tests import independent
from medallion_platform_tests.day_runs import DAY_RUN_LAYERS, order_name, warehouse

DAYS = ["2026-11-20", "2026-11-21", "2026-11-22"]
# Day runs that finish out of order, or a late file for an older day: versions are ordered by the data's
# own time, so any order of loading gives the Silver and Gold of one run over all days. Both orders
# start with the latest day (one run, copied): the second reverses every pair of days, the first
# builds the middle day last, between days already loaded on both sides.
OUT_OF_ORDER = [[DAYS[2], DAYS[0], DAYS[1]], [DAYS[2], DAYS[1], DAYS[0]]]
COMPARED = [
    ("silver.customers", "customer_id"),
    ("silver.products", "product_id"),
    ("silver.transactions", "transaction_id"),
    ("gold.vw_daily_sales_analysis", "transaction_date, product_id, customer_id"),
    ("gold.vw_customer_product_affinity", "customer_id, product_id, purchase_month"),
]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """Three generated days (in raw/) delivered to the landing folder every warehouse here reads."""
    folder = tmp_path_factory.mktemp("incremental")
    generate(GenerateConfig(scale=0.0003, seed=3, days=3, start_date=pd.Timestamp(DAYS[0]).date()), folder / "raw")
    for source in ("customers", "products", "transactions", "events"):
        LocalLandingZone(root=str(folder / "landing")).deliver_tree(folder / "raw", source)
    return folder


@pytest.fixture(scope="module")
def out_of_order_process(landed):
    """The out-of-order warehouses (medallion_platform_tests/day_runs.py), built in a process of their own
    while this one builds the others."""
    log = landed / "out_of_order.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "medallion_platform_tests.day_runs", str(landed),
                                    *(",".join(order) for order in OUT_OF_ORDER)],
                                   cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def day_by_day_and_backfill(landed, out_of_order_process):
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MEDALLION_LANDING", raising=False)
        daily_settings, daily_defs = warehouse(landed, env, "daily", DAY_RUN_LAYERS)
        with DagsterInstance.ephemeral() as instance:
            job = daily_defs.resolve_job_def("refresh")
            for day in DAYS:
                assert job.execute_in_process(partition_key=day, instance=instance).success, day
            backfill_settings, backfill_defs = warehouse(landed, env, "backfill")
            backfill = backfill_defs.resolve_job_def("refresh").execute_in_process(
                tags={"dagster/asset_partition_range_start": DAYS[0],
                      "dagster/asset_partition_range_end": DAYS[-1]}, instance=instance)
            assert backfill.success
        yield landed / "raw", daily_settings.duckdb_path, backfill_settings.duckdb_path, backfill


@pytest.fixture(scope="module", params=OUT_OF_ORDER, ids=lambda order: "-".join(day[-2:] for day in order))
def out_of_order(request, day_by_day_and_backfill, out_of_order_process, landed):
    """A warehouse whose days were loaded and built in another order, over the same landed files (asked
    for after the in-order ones, so that both processes build at once)."""
    process, log = out_of_order_process
    assert process.wait(timeout=900) == 0, log.read_text()[-5000:]
    return landed / order_name(request.param) / "warehouse.duckdb"


@pytest.mark.parametrize("table, order", COMPARED)
def test_days_loaded_out_of_order_equal_one_run_over_all_days(out_of_order, day_by_day_and_backfill, table, order):
    backfill = day_by_day_and_backfill[2]
    sql = f"SELECT * EXCLUDE (_load_id, _ingested_at) FROM {table} ORDER BY {order}" if table.startswith("silver") \
        else f"SELECT * FROM {table} ORDER BY {order}"
    pd.testing.assert_frame_equal(_table(out_of_order, sql), _table(backfill, sql))


def _table(path, sql) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


@pytest.mark.parametrize("table, order", [
    ("silver.transactions", "transaction_id"),
    ("gold.vw_daily_sales_analysis", "transaction_date, product_id, customer_id"),
    ("gold.vw_customer_product_affinity", "customer_id, product_id, purchase_month"),
])
def test_day_by_day_equals_one_run_over_all_days(day_by_day_and_backfill, table, order):
    _, daily, backfill, _ = day_by_day_and_backfill
    lineage = "EXCLUDE (_load_id, _ingested_at)" if table == "silver.transactions" else ""
    sql = f"SELECT * {lineage} FROM {table} ORDER BY {order}"
    pd.testing.assert_frame_equal(_table(daily, sql), _table(backfill, sql))


def test_day_by_day_gold_equals_the_independent_computation(day_by_day_and_backfill):
    raw, daily, _, _ = day_by_day_and_backfill
    expected = independent.daily_sales(raw)
    actual = _table(daily, "SELECT transaction_date, product_id, customer_id, total_quantity, "
                           "CAST(round(total_sales * 100) AS BIGINT) AS total_cents, num_transactions "
                           "FROM gold.vw_daily_sales_analysis")
    actual["transaction_date"] = pd.to_datetime(actual["transaction_date"]).dt.date
    keys = ["transaction_date", "product_id", "customer_id"]
    merged = expected.merge(actual, on=keys, how="outer", suffixes=("_expected", "_actual"), indicator=True)
    assert (merged["_merge"] == "both").all()
    for column in ("total_quantity", "total_cents", "num_transactions"):
        assert (merged[f"{column}_expected"] == merged[f"{column}_actual"]).all(), column


def test_the_feeds_exercise_what_incremental_runs_must_get_right(day_by_day_and_backfill):
    """Without cross-day corrections and late arrivals the equalities above would prove little."""
    raw, daily, _, _ = day_by_day_and_backfill
    moved = _table(daily, """
        SELECT count(*) AS n FROM (
            SELECT trim(transaction_id) FROM bronze.transactions WHERE trim(transaction_id) <> ''
            GROUP BY 1 HAVING count(DISTINCT _landing_date) > 1)""")["n"][0]
    late = _table(daily, "SELECT count(*) AS n FROM silver.transactions WHERE transaction_date < _landing_date")["n"][0]
    # Sales whose customer first lands on a later day: a later run must flip has_known_customer.
    known_later = _table(daily, """
        SELECT count(*) AS n FROM silver.transactions JOIN (
            SELECT customer_id, min(_landing_date) AS first_landed FROM silver.customers_classified
            WHERE customer_id IS NOT NULL GROUP BY 1) AS customers USING (customer_id)
        WHERE customers.first_landed > transactions._landing_date""")["n"][0]
    assert moved > 0 and late > 0 and known_later > 0


def test_a_backfill_is_one_run_over_the_range(day_by_day_and_backfill):
    *_, backfill = day_by_day_and_backfill
    partitions = {e.partition for e in backfill.get_asset_materialization_events()
                  if e.asset_key.to_user_string() == "bronze/transactions"}
    assert partitions == set(DAYS)



RESENT_DIMENSIONS = ("customers", "products")
# Every table or view a day's run changes rows of: an incremental run must leave each as the nightly
# full refresh over the same Bronze does.
CHANGED_BY_A_DAY = [f"silver.{entity}{suffix}" for entity in RESENT_DIMENSIONS
                    for suffix in ("_classified", "", "_quarantine")] + [
    "silver.transactions", "silver.transactions_quarantine", "gold.vw_daily_sales_analysis",
    "gold.vw_customer_product_affinity"]
# What the full refresh must rebuild rather than leave as it was: emptied before it runs.
EMPTIED_BEFORE_THE_REFRESH = ("silver.customers_classified", "silver.products_classified",
                              "silver.transactions_quarantine")


@pytest.fixture(scope="module")
def resent_incrementally_and_refreshed(landed, day_by_day_and_backfill, tmp_path_factory):
    """The three days built day by day, then: a late file re-sending customers for the first day that
    reaches Bronze but whose run stops there (its dbt step never runs); an incremental run of the last
    day, with files re-sending 10% of the customers and of the products, which classifies the stranded
    file's customers too (test_a_run_classifies_the_dimension_files_an_earlier_run_left_in_bronze);
    and the stopped run's retry, whose window rebuilds the first day's sales. Then a copy of that
    warehouse, rebuilt by the nightly full refresh from the same Bronze. Both warehouses' paths."""
    folder = tmp_path_factory.mktemp("resent")
    shutil.copytree(landed / "landing", folder / "landing")
    shutil.copytree(day_by_day_and_backfill[1].parent, folder / "incremental")
    config = GenerateConfig(scale=0.0003, seed=3)
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MEDALLION_LANDING", raising=False)
        settings, defs = warehouse(folder, env, "incremental", DAY_RUN_LAYERS)
        drop_batch(config, "customers", config.rows("customers") // 7, date.fromisoformat(DAYS[0]),
                   folder / "landing", resend=True)
        with duckdb.connect(str(settings.duckdb_path)) as con:
            load_source(con, LocalLandingZone(root=str(folder / "landing")), SOURCES["customers"])
        for source in RESENT_DIMENSIONS:
            drop_batch(config, source, config.rows(source) // 10, date.fromisoformat(DAYS[2]), folder / "landing",
                       resend=True)
        with DagsterInstance.ephemeral() as instance:
            job = defs.resolve_job_def("refresh")
            assert job.execute_in_process(partition_key=DAYS[2], instance=instance).success
            with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
                stranded_classified = rows_of(con, STRANDED_CUSTOMERS)
            assert job.execute_in_process(partition_key=DAYS[0], instance=instance).success
        shutil.copytree(folder / "incremental", folder / "full")
        with duckdb.connect(str(folder / "full" / settings.duckdb_path.name)) as con:
            for table in EMPTIED_BEFORE_THE_REFRESH:  # a refresh that left any of them incremental would show
                con.execute(f"DELETE FROM {table}")
        full_settings, full_defs = warehouse(folder, env, "full")
        with DagsterInstance.ephemeral() as instance:
            assert full_defs.resolve_job_def("nightly_full_refresh").execute_in_process(
                partition_key=DAYS[2], instance=instance).success
    return settings.duckdb_path, full_settings.duckdb_path, stranded_classified


# The stranded file's customers and their statuses in silver.customers_classified.
STRANDED_CUSTOMERS = (f"SELECT customer_id, _status FROM silver.customers_classified "
                      f"WHERE _source_file LIKE 'customers/{DAYS[0]}/%_drop%'")


def rows_of(con, sql) -> Counter:
    return Counter(con.execute(sql).fetchall())


@pytest.mark.parametrize("table", CHANGED_BY_A_DAY)
def test_a_re_send_day_run_incrementally_equals_a_full_refresh(resent_incrementally_and_refreshed, table):
    incremental, full, _ = resent_incrementally_and_refreshed
    seen = {}
    for path in (incremental, full):  # each file on its own: the views name their database
        with duckdb.connect(str(path), read_only=True) as con:
            seen[path] = rows_of(con, f"SELECT * FROM {table}")
    only_incremental, only_full = seen[incremental] - seen[full], seen[full] - seen[incremental]
    assert not only_incremental and not only_full, (table, list(only_incremental)[:3], list(only_full)[:3])


def test_a_run_classifies_the_dimension_files_an_earlier_run_left_in_bronze(resent_incrementally_and_refreshed):
    """The last day's run, whose window does not hold the first day, still classified the late file that
    reached Bronze under the first day with no dbt step after it: a dimension's run classifies the loads
    its table holds no row of yet, whatever day they are for."""
    incremental, _, stranded_classified = resent_incrementally_and_refreshed
    with duckdb.connect(str(incremental), read_only=True) as con:
        stranded = con.execute(f"SELECT count(*) FROM bronze.customers "
                               f"WHERE _source_file LIKE 'customers/{DAYS[0]}/%_drop%'").fetchone()[0]
    assert stranded > 0 and sum(stranded_classified.values()) == stranded


def test_the_re_sends_exercise_what_incremental_dimensions_must_get_right(resent_incrementally_and_refreshed):
    """Re-sent versions that win, late ones that win and that lose, from a file whose own run never
    classified it, and rows without a key quarantined by the day's run: without them the equality above
    would prove little."""
    incremental, _, _ = resent_incrementally_and_refreshed
    counts = _table(incremental, """
        SELECT entity, _status AS status, _landing_date AS landing_date FROM (
            SELECT 'customers' AS entity, * FROM silver.customers_classified
            UNION ALL BY NAME SELECT 'products' AS entity, * FROM silver.products_classified)
        WHERE _source_file LIKE '%_drop%' GROUP BY ALL""")
    statuses = {(row.entity, str(row.landing_date)[:10], row.status) for row in counts.itertuples()}
    assert {("customers", DAYS[2], "valid"), ("products", DAYS[2], "valid"),
            ("customers", DAYS[0], "valid"), ("customers", DAYS[0], "superseded")} <= statuses, statuses
    quarantined = _table(incremental, f"""
        SELECT count(*) AS n FROM silver.customers_quarantine WHERE _source_file NOT LIKE '%/{DAYS[0]}/%'""")
    assert quarantined["n"][0] > 0
