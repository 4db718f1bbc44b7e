"""The Snowflake warehouse: Bronze by COPY INTO from the landing bucket's external stage, through
dagster-snowflake; the same `Warehouse` interface the DuckDB default offers."""

from __future__ import annotations

from dagster import EnvVar
from dagster_snowflake import SnowflakeResource

from medallion_platform.bronze.ledger import LEDGER_ROWS_SQL
from medallion_platform.events_flatten import FlattenedView, replace_flattened_view
from medallion_platform.landing import S3LandingZone
from medallion_platform.settings import SNOWFLAKE_VARIABLES, SnowflakeSettings
from medallion_platform.snowflake.bronze import SNOWFLAKE_COPY, CopyForms, ExternalStage, load_source
from medallion_platform.snowflake.events_flatten import SnowflakeFlatten
from medallion_platform.sql_text import date_list, snowflake_literal
from medallion_platform.warehouse import BronzeLoad, Warehouse


class SnowflakeWarehouse(Warehouse):
    snowflake: SnowflakeResource
    # The storage integration the landing stage authenticates with (sql/snowflake/01_integration_and_stage.sql).
    storage_integration: str

    def copy_forms(self) -> CopyForms:
        """The COPY statement forms the Bronze loader sends (snowflake/bronze.py)."""
        return SNOWFLAKE_COPY

    def load_bronze(self, landing, source, objects, days) -> BronzeLoad:
        if not isinstance(landing, S3LandingZone):
            raise TypeError("Snowflake copies from an external stage: the landing zone must be S3")
        stage = ExternalStage.for_landing(landing, storage_integration=self.storage_integration)
        report = load_source(self.snowflake, landing, source, stage, objects, forms=self.copy_forms())
        partition_rows = self.query(f"SELECT count(*) FROM bronze.{source.name} "
                                    f"WHERE _landing_date IN ({date_list(days)})")[0][0]
        rejects = self.query(f"SELECT count(*) FROM bronze.rejects WHERE source = {snowflake_literal(source.name)}")[0][0]
        columns = self.query(
            "SELECT lower(column_name), data_type FROM information_schema.columns "
            f"WHERE table_schema = 'BRONZE' AND table_name = {snowflake_literal(source.name.upper())} ORDER BY ordinal_position")
        return BronzeLoad(report, int(partition_rows), int(rejects), [(name, kind) for name, kind in columns])

    def create_events_view(self, schema: str) -> FlattenedView:
        with self.snowflake.get_connection() as connection:
            return replace_flattened_view(SnowflakeFlatten(connection.cursor()), schema)

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self.snowflake.get_connection() as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            return [column[0].lower() for column in cursor.description], rows


    def ledger_rows(self) -> list[tuple]:
        if not self.query("SELECT 1 FROM information_schema.tables "
                          "WHERE table_schema = 'BRONZE' AND table_name = 'LOAD_LEDGER'"):
            return []
        return self.query(LEDGER_ROWS_SQL)


def snowflake_resource() -> SnowflakeResource:
    """Credentials from SNOWFLAKE_* (settings checked they are set) as `EnvVar`s: Dagster reads them
    when the resource starts and never shows their values. Outside Definitions, call
    `.process_config_and_initialize()` on the result."""
    return SnowflakeResource(**{name.removeprefix("SNOWFLAKE_").lower(): EnvVar(name)
                                for name in SNOWFLAKE_VARIABLES})


def snowflake_warehouse(settings: SnowflakeSettings) -> SnowflakeWarehouse:
    return SnowflakeWarehouse(snowflake=snowflake_resource(), storage_integration=settings.storage_integration)
