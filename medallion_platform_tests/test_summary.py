"""`medallion summary` reads the warehouse the settings configure, through the same `warehouse` resource
the assets write with: DuckDB on a laptop, Snowflake (here fakesnow) in production."""

from medallion_platform import cli
from medallion_platform.definitions import warehouse_resource
from medallion_platform.settings import get_settings
from medallion_platform_tests.conftest import snowflake_environment


def test_on_snowflake_the_summary_reads_snowflake_not_a_duckdb_file(clean_env, tmp_path, capsys):
    snowflake_environment(clean_env, tmp_path, "landing", "http://127.0.0.1:9")
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("MEDALLION_FAKESNOW_DIR", str(tmp_path / "fakesnow"))
    clean_env.setenv("AWS_ACCESS_KEY_ID", "testing")  # the stage's keys, read when the resource starts
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with warehouse_resource(get_settings()).process_config_and_initialize_cm() as snowflake:
        for statement in (
            "CREATE SCHEMA bronze", "CREATE SCHEMA silver",
            "CREATE TABLE bronze.customers (customer_id VARCHAR)",
            "INSERT INTO bronze.customers VALUES ('C1'), ('C2'), ('C3')",
            "CREATE TABLE bronze.rejects (source VARCHAR, reason VARCHAR)",
            "INSERT INTO bronze.rejects VALUES ('customers', 'age is not INTEGER (thirty)'), "
            "('customers', 'age is not INTEGER (forty)'), ('customers', 'line cut short')",
            "CREATE TABLE silver.customers_classified (_status VARCHAR, _quarantine_reason VARCHAR)",
            "INSERT INTO silver.customers_classified VALUES ('valid', NULL), ('quarantined', 'no customer_id'), "
            "('superseded', NULL)",
        ):
            snowflake.query(statement)

    assert cli.main(["summary"]) == 0

    printed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["bronze", "customers", "3"] in printed
    assert ["bronze", "rejects", "3"] in printed
    assert ["customers", "age", "is", "not", "INTEGER", "2"] in printed
    assert ["customers", "line", "cut", "short", "1"] in printed
    assert ["customers", "no", "customer_id", "1"] in printed
    assert ["customers", "(superseded", "duplicate)", "1"] in printed
