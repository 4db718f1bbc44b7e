"""Gold: the web events' JSON payload as a flat, typed view, its columns discovered from the data."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, TableColumn, TableSchema, asset

from medallion_platform.defs.automation import FOLLOW_UPSTREAM
from medallion_platform.defs.dbt import GOLD_FRESHNESS
from medallion_platform.events_flatten import VIEW_NAME, dotted_path
from medallion_platform.partitions import ONE_RUN_PER_BACKFILL
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform.warehouse import Warehouse

SCHEMA = "gold"


@asset(
    key=[SCHEMA, VIEW_NAME],
    deps=[["bronze", "events"]],
    group_name="gold",
    pool=WAREHOUSE_WRITER_POOL,
    backfill_policy=ONE_RUN_PER_BACKFILL,
    freshness_policy=GOLD_FRESHNESS,
    automation_condition=FOLLOW_UPSTREAM,
    description=(
        f"`{SCHEMA}.{VIEW_NAME}`: one row per web event in bronze.events, one typed column per leaf of "
        "its JSON payload (device_os, geo_city, cart_value, ...) plus the lineage columns. The columns are "
        "discovered from every payload at each materialization, so a path a feed adds becomes a column; "
        "arrays stay JSON. Rules in medallion_platform/events_flatten.py."
    ),
)
def events_flattened(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    view = warehouse.create_events_view(SCHEMA)
    row_count = warehouse.count_rows(SCHEMA, VIEW_NAME)
    new_paths = [dotted_path(path) for path in view.new_paths]
    if new_paths:
        context.log.info(f"{len(new_paths)} path(s) new since the previous view: {', '.join(new_paths)}")
    return MaterializeResult(metadata={
        "dagster/row_count": row_count,
        "dagster/column_schema": TableSchema(columns=[
            TableColumn(column.name, column.type,
                        description=f"payload path {dotted_path(column.path)}" if column.path is not None
                        else "lineage, as in bronze.events")
            for column in view.columns
        ]),
        "preview": warehouse.preview(SCHEMA, VIEW_NAME),
        "new_paths": MetadataValue.json(new_paths),
        "view_sql": MetadataValue.md(f"```sql\n{view.create_sql}\n```"),
    })
