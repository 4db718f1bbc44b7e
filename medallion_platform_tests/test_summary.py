"""`medallion summary` reads the warehouse the settings configure, through the same `warehouse` resource
the assets write with: DuckDB on a laptop (test_pipeline.py), Snowflake in production: here the
summary's SQL runs on the harness's fakesnow warehouse, the `warehouse` a Snowflake deployment's
resource is but for its connection."""

from dagster_snowflake import SnowflakeResource

from medallion_platform.summary import warehouse_summary
from medallion_platform_tests.conftest import SNOWFLAKE_ENV
from medallion_platform_tests.fakesnow_harness.warehouse import FakesnowWarehouse


def test_on_snowflake_the_summary_reads_snowflake(tmp_path):
    connection = {name.removeprefix("SNOWFLAKE_").lower(): value for name, value in SNOWFLAKE_ENV.items()}
    warehouse = FakesnowWarehouse(snowflake=SnowflakeResource(**connection), db_path=str(tmp_path / "fakesnow"),
                                  storage_integration="LANDING_S3")
    with warehouse.process_config_and_initialize_cm() as snowflake:
        for statement in (
            "CREATE SCHEMA bronze", "CREATE SCHEMA silver",
            "CREATE TABLE bronze.customers (customer_id VARCHAR)",
            "INSERT INTO bronze.customers VALUES ('C1'), (' C1'), (''), ('C2')",
            "CREATE TABLE bronze.rejects (source VARCHAR, reason VARCHAR)",
            "INSERT INTO bronze.rejects VALUES ('customers', 'age is not INTEGER (thirty)'), "
            "('customers', 'age is not INTEGER (forty)'), ('customers', 'line cut short')",
            "CREATE TABLE silver.customers_quarantine (reason VARCHAR)",
            "INSERT INTO silver.customers_quarantine VALUES ('no customer_id')",
        ):
            snowflake.query(statement)

        printed = [line.split() for line in warehouse_summary(snowflake).splitlines()]
    assert ["bronze", "customers", "4"] in printed
    assert ["bronze", "rejects", "3"] in printed
    assert ["customers", "age", "is", "not", "INTEGER", "2"] in printed
    assert ["customers", "line", "cut", "short", "1"] in printed
    assert ["customers", "no", "customer_id", "1"] in printed
    assert ["customers", "(superseded", "duplicate)", "1"] in printed
