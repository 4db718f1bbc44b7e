"""The Bronze asset itself, materialized by Dagster over a landing folder: metadata, checks, failures."""

import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from medallion_platform.defs.bronze import LANDED_COLUMNS_CHECK, bronze_assets
from medallion_platform.landing import LocalLandingZone
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.warehouse import DuckDBWarehouse

HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"
BRONZE_CUSTOMERS = next(a for a in bronze_assets if a.key.path == ["bronze", "customers"])
BOTH_DAYS = landing_day_range_tags("2026-11-20", "2026-11-21")  # one run over the two landing days


@pytest.fixture
def resources(tmp_path):
    duckdb = DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))
    return {"landing": LocalLandingZone(root=str(tmp_path / "landing")), "duckdb": duckdb,
            "warehouse": DuckDBWarehouse(duckdb=duckdb)}


def land(resources, key: str, text: str) -> None:
    path = resources["landing"]._root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_feed_sending_another_column_loads_and_warns_naming_the_file(resources):
    land(resources, "customers/2026-11-20/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    land(resources, "customers/2026-11-21/b.csv",
         f"{HEADER},loyalty_tier\nC2,Bob,b@x.com,USA,VIP,2024-01-01,40,M,1,gold\n")
    result = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["dagster/row_count"].value, metadata["files_loaded"].value) == (2, 2)

    only_first_day = materialize([BRONZE_CUSTOMERS], resources=resources, partition_key="2026-11-20")
    metadata = only_first_day.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["dagster/row_count"].value, metadata["files_already_loaded"].value) == (1, 1)
    assert "_load_id" in [c.name for c in metadata["dagster/column_schema"].schema.columns]
    check = result.get_asset_check_evaluations()[0]
    assert (check.check_name, check.passed, check.severity.value) == (LANDED_COLUMNS_CHECK, False, "WARN")
    assert check.metadata["files_with_other_columns"].value == {
        "customers/2026-11-21/b.csv": "unexpected columns: loyalty_tier"}

    again = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)  # nothing new: nothing to warn about
    check = again.get_asset_check_evaluations()[0]
    assert check.passed and check.metadata["files_checked"].value == 0


def test_an_unreadable_file_fails_the_asset_naming_it_after_loading_the_rest(resources):
    land(resources, "customers/2026-11-20/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    land(resources, "customers/2026-11-21/empty.csv", "")
    result = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "customers/2026-11-21/empty.csv: ValueError: CSV file is empty" in \
        failure.event_specific_data.error.message
    with resources["duckdb"].get_connection() as con:
        assert con.execute("SELECT count(*) FROM bronze.customers").fetchone()[0] == 1
    retry = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)  # the failure is recorded, not retried forever
    assert retry.success
