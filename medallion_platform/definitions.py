"""The medallion pipeline as one Dagster code location, the only one a production workspace lists.

landing (objects feeds drop in the landing zone, external: never written here) -> bronze (exactly once)
-> silver / gold (dbt). Which landing zone and warehouse (DuckDB or Snowflake) is decided by
medallion_platform.settings; the assets are the same on both, through the `warehouse` resource and dbt's
profile. The demo's feeds are a location of their own (medallion_platform/demo/).
"""

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor
from dagster_duckdb import DuckDBResource

from medallion_platform.catalog import catalogued
from medallion_platform.code_references import with_code_references
from medallion_platform.dbt_project import dbt_resource
from medallion_platform.defs.alerts import ALERT_WEBHOOK_VARIABLE, AlertChannel, alert_sensors
from medallion_platform.defs.automation import follow_bronze, nightly_full_refresh, nightly_full_refresh_job
from medallion_platform.defs.bronze import bronze_assets, bronze_column_schema_checks
from medallion_platform.defs.checks import quality_checks
from medallion_platform.defs.dashboard import build_gold_dashboard
from medallion_platform.defs.dbt import dbt_assets_for
from medallion_platform.defs.events import events_flattened
from medallion_platform.defs.landing import landing_specs
from medallion_platform.defs.sensors import landing_sensors
from medallion_platform.settings import DEFAULT_DBT_EXECUTABLE, Settings, get_settings
from medallion_platform.warehouse import DuckDBWarehouse, Warehouse

# The main job, for the landing days its run is tagged with: landed files all the way to Gold.
medallion_job = define_asset_job(
    "medallion_job", selection=AssetSelection.all(),
    description="Load the files landed on the run's landing days into Bronze, build Silver and Gold with "
                "their checks.",
)


def warehouse_resource(settings: Settings) -> Warehouse:
    """The `warehouse` every asset and check that reads or writes the warehouse takes."""
    if settings.snowflake is None:
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
        return DuckDBWarehouse(duckdb=DuckDBResource(database=str(settings.duckdb_path), connection_config={
            "threads": settings.duckdb_threads, "memory_limit": settings.duckdb_memory_limit}))
    # Imported only now: the Snowflake connector costs seconds of start-up.
    from medallion_platform.snowflake.warehouse import snowflake_warehouse  # noqa: PLC0415

    return snowflake_warehouse(settings.snowflake)


def build_definitions(settings: Settings, *, warehouse: Warehouse | None = None,
                      dbt_executable: str = DEFAULT_DBT_EXECUTABLE) -> Definitions:
    """The code location for these settings; `warehouse` and `dbt_executable` replace the ones the
    settings choose (a test harness's stand-ins)."""
    return Definitions(
        assets=catalogued(with_code_references([
            *landing_specs,
            *bronze_assets,
            *dbt_assets_for(settings),
            events_flattened,
            build_gold_dashboard(settings.reports_dir),
        ]), settings),
        asset_checks=[*bronze_column_schema_checks, *quality_checks],
        jobs=[medallion_job, nightly_full_refresh_job],
        sensors=[*landing_sensors, follow_bronze, *alert_sensors],
        schedules=[nightly_full_refresh],
        resources={
            "landing": settings.landing,
            "warehouse": warehouse or warehouse_resource(settings),
            "dbt": dbt_resource(settings, dbt_executable),
            "alerts": AlertChannel(webhook_url=EnvVar(ALERT_WEBHOOK_VARIABLE) if settings.alert_webhook else None),
        },
        # One process per run: steps share the DuckDB file, and per-step process start-up (~4 s of
        # imports each) would cost more than the steps themselves at demo scale.
        executor=in_process_executor,
    )


defs = build_definitions(get_settings())
