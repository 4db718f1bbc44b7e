"""Day-by-day partition runs (the incremental path) end where one run over all days does, and where an
independent computation from the raw files does: corrections across days and late arrivals included."""

import subprocess
import sys

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.landing import LocalLandingZone
from medallion_platform.settings import PROJECT_ROOT
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

