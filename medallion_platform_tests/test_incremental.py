"""Day-by-day partition runs (the incremental path) end where one run over all days does, and where an
independent computation from the raw files does: corrections across days and late arrivals included."""

import shutil

import duckdb
import pandas as pd
import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from medallion_platform.generate import GenerateConfig, generate
from medallion_platform.settings import get_settings
from medallion_platform_tests import independent
from medallion_platform_tests.incremental_job import INCREMENTAL_ASSETS

DAYS = ["2026-11-20", "2026-11-21", "2026-11-22"]
WAREHOUSE_LAYERS = AssetSelection.groups("bronze", "silver", "gold")


# What each day's run builds: everything the compared tables are made of, as the landing sensor's runs
# do (refreshed_by_landing). The whole-history Gold tables are rebuilt whole from Silver on a cadence
# (table materializations, not incremental), so equal Silver gives them equal rows; leaving them out of
# the day runs saves one dbt step, a third of each run. The backfill builds every layer.
DAY_RUN_LAYERS = AssetSelection.groups("bronze", "silver") | AssetSelection.assets(*INCREMENTAL_ASSETS)


def _warehouse(tmp_path, env, name, selection=WAREHOUSE_LAYERS):
    """Definitions over their own warehouse, reading a landing folder already filled with three days."""
    from medallion_platform.definitions import build_definitions

    env.setenv("MEDALLION_DATA_DIR", str(tmp_path / name))
    env.setenv("MEDALLION_LANDING_DIR", str(tmp_path / "landing"))
    env.delenv("MEDALLION_DUCKDB_PATH", raising=False)
    settings = get_settings()
    refresh = define_asset_job("refresh", selection=selection)
    return settings, Definitions.merge(build_definitions(settings), Definitions(jobs=[refresh]))


@pytest.fixture(scope="module")
def day_by_day_and_backfill(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("incremental")
    generate(GenerateConfig(scale=0.0003, seed=3, days=3, start_date=pd.Timestamp(DAYS[0]).date()), tmp_path / "raw")
    with pytest.MonkeyPatch.context() as env:
        for variable in ("MEDALLION_LANDING", "MEDALLION_LANDING_DIR", "MEDALLION_DUCKDB_PATH"):
            env.delenv(variable, raising=False)
        daily_settings, daily_defs = _warehouse(tmp_path, env, "daily", DAY_RUN_LAYERS)
        for source in ("customers", "products", "transactions", "events"):
            daily_settings.landing.deliver_tree(tmp_path / "raw", source)
        with DagsterInstance.ephemeral() as instance:
            job = daily_defs.resolve_job_def("refresh")
            for day in DAYS:
                assert job.execute_in_process(partition_key=day, instance=instance).success, day
            backfill_settings, backfill_defs = _warehouse(tmp_path, env, "backfill")
            backfill = backfill_defs.resolve_job_def("refresh").execute_in_process(
                tags={"dagster/asset_partition_range_start": DAYS[0],
                      "dagster/asset_partition_range_end": DAYS[-1]}, instance=instance)
            assert backfill.success
        yield tmp_path / "raw", daily_settings.duckdb_path, backfill_settings.duckdb_path, backfill


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


def _run_days(tmp_path, name, days):
    """Build `days` in this order on the warehouse in data folder `name` (created if missing)."""
    with pytest.MonkeyPatch.context() as env:
        for variable in ("MEDALLION_LANDING", "MEDALLION_DUCKDB_PATH"):
            env.delenv(variable, raising=False)
        settings, defs = _warehouse(tmp_path, env, name, DAY_RUN_LAYERS)
        with DagsterInstance.ephemeral() as instance:
            job = defs.resolve_job_def("refresh")
            for day in days:
                assert job.execute_in_process(partition_key=day, instance=instance).success, day
        return settings.duckdb_path


@pytest.fixture(scope="module")
def latest_day_first(day_by_day_and_backfill):
    """A warehouse where only the latest day has been built: where both out-of-order sequences start."""
    tmp_path = day_by_day_and_backfill[0].parent
    _run_days(tmp_path, "latest-first", [OUT_OF_ORDER[0][0]])
    return tmp_path / "latest-first"


@pytest.fixture(scope="module", params=OUT_OF_ORDER, ids=lambda order: "-".join(day[-2:] for day in order))
def out_of_order(request, latest_day_first):
    """A warehouse whose days were loaded and built in another order, over the same landed files."""
    first, *rest = request.param
    assert first == OUT_OF_ORDER[0][0]
    name = "order-" + "-".join(day[-2:] for day in request.param)
    shutil.copytree(latest_day_first, latest_day_first.parent / name)
    return _run_days(latest_day_first.parent, name, rest)


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
            SELECT transaction_id FROM silver.transactions_classified WHERE transaction_id IS NOT NULL
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

