"""Silver and Gold: the dbt project in `sql/`, one Dagster asset per model, dbt tests as asset checks."""

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    Config,
    Failure,
    FreshnessPolicy,
    Output,
    TimeWindow,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from medallion_platform.column_lineage import ColumnLineage
from medallion_platform.dbt_project import MedallionDbtCli, dbt_project, prepare_if_dev
from medallion_platform.defs.automation import (
    FOLLOW_UPSTREAM,
    REFRESH_EVERY_15_MINUTES,
    REFRESHED_EVERY_15_MINUTES,
)
from medallion_platform.partitions import LANDING_DAYS, LOOKBACK_DAYS, ONE_RUN_PER_BACKFILL
from medallion_platform.settings import WAREHOUSE_WRITER_POOL, Settings
from medallion_platform.warehouse import Warehouse

# Gold is rebuilt at least daily; a view older than that is stale for the business.
GOLD_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=24))

# Under `dagster dev` an edit in sql/ shows on reload; a deployment reads the manifest its build prepared.
prepare_if_dev()


class MedallionDbtTranslator(DagsterDbtTranslator):
    """Keys are `<schema>/<name>` (silver/customers, gold/vw_daily_sales_analysis), so an asset's key
    is the table it writes; dbt sources map onto the Bronze assets that load them."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]

    def get_asset_spec(self, manifest, unique_id, project) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = manifest["nodes"].get(unique_id)
        if props is not None and props["resource_type"] == "model" and spec.group_name == "gold":
            return spec.replace_attributes(freshness_policy=GOLD_FRESHNESS)
        return spec

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        return spec._replace(description=test["description"] or describe_test(manifest, test))

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        if REFRESHED_EVERY_15_MINUTES in dbt_resource_props["tags"]:
            return REFRESH_EVERY_15_MINUTES
        return FOLLOW_UPSTREAM


SEVERITY_EFFECT = {
    "error": "Severity ERROR: a failure stops the models built on this one.",
    "warn": "Severity WARN: a failure is reported; nothing is stopped.",
}


def describe_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """What a dbt generic test asserts, in words, from its own arguments; a test with a `description:` in
    schema.yml keeps that one."""
    model = manifest["nodes"][test["attached_node"]]
    relation = f"{model['schema']}.{model['name']}"
    kind, arguments = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
    column = f"`{arguments.get('column_name')}`"
    if kind == "unique":
        said = f"No two rows of {relation} share a {column}."
    elif kind == "not_null":
        said = f"{column} is never NULL in {relation}."
    elif kind == "accepted_values":
        said = f"{column} in {relation} takes only the values {', '.join(map(str, arguments['values']))}."
    elif kind == "relationships":
        target = next(manifest["nodes"][n] for n in test["depends_on"]["nodes"] if n != test["attached_node"])
        said = (f"Every {column} in {relation} is a `{arguments['field']}` of "
                f"{target['schema']}.{target['name']}.")
    else:
        raise ValueError(f"{test['original_file_path']}: the {kind} test {test['name']} needs a `description:`")
    if test["config"].get("where") == "__revisited_by_this_run__":
        said += " Tested on the transactions this run revisited (all of them in a full refresh)."
    return f"{said} {SEVERITY_EFFECT[test['config']['severity'].lower()]}"


# Code references: each model's page in the UI links to its SQL file.
TRANSLATOR = MedallionDbtTranslator(DagsterDbtTranslatorSettings(enable_code_references=True))


class DbtBuildConfig(Config):
    full_refresh: bool = False  # rebuild incremental models from all of Bronze (the nightly schedule)


def _build(context: AssetExecutionContext, dbt: MedallionDbtCli, warehouse: Warehouse,
           config: DbtBuildConfig) -> Iterator:
    """dbt build on the selected models, each followed by its tests. A failing ERROR-severity test
    skips the models built on it; WARN tests only report. A partitioned step passes its window, except
    in a full refresh, which rebuilds and tests everything whatever partition it was launched for."""
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    windowed = (context.has_partition_key_range or context.has_partition_key) and not config.full_refresh
    window = landing_window(context.partition_time_window) if windowed else None
    invocation = dbt.cli(args, window=window, context=context, raise_on_error=False)
    events = list(invocation.stream())
    dbt.keep_parse_state(invocation)
    lineage = ColumnLineage(invocation, warehouse, window, dbt.target_dir)
    yield from _with_table_metadata(context, events, warehouse, lineage)
    lineage.save()
    if not invocation.is_successful():
        raise Failure(description=f"dbt build failed: {invocation.get_error()}")


def landing_window(window: TimeWindow) -> tuple[str, str]:
    """The first and last landing day a run covers, widened by the lookback (sql/macros/landing_window.sql)."""
    first_day = window.start.date() - timedelta(days=LOOKBACK_DAYS)
    last_day = window.end.date() - timedelta(days=1)  # the window's end is exclusive
    return first_day.isoformat(), last_day.isoformat()


# Three steps, one per kind of rebuild: the Silver dimensions (and the views, when their SQL
# changes), the models that follow the landing-day partitions (Silver transactions merged on their
# id, and the Gold sales facts rebuilt for the groups a window's files touch), and the Gold tables
# that rank or segment over all history, refreshed on a cadence (defs/automation.py). Blocking
# checks between steps (dbt ERROR tests, as Dagster checks) keep a step off data a failed check
# condemned; within the incremental step, dbt build itself skips the facts when a test on
# silver.transactions fails.
PARTITIONED = "tag:partitioned_by_landing_day"


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select="path:models/silver path:seeds", exclude=PARTITIONED, name="silver_dbt_models",
            backfill_policy=ONE_RUN_PER_BACKFILL, pool=WAREHOUSE_WRITER_POOL)
def silver_dbt_models(context: AssetExecutionContext, dbt: MedallionDbtCli, warehouse: Warehouse,
                      config: DbtBuildConfig):
    """Silver dimensions and classification views: typed, cleaned, deduplicated, quarantined with a reason."""
    yield from _build(context, dbt, warehouse, config)


def incremental_dbt_models_in(pool: str) -> AssetsDefinition:
    """The incremental step in `pool` (Settings.change_set_pool): one at a time across runs, since every
    run replaces the one silver.transactions_revisited."""

    @dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
                select=PARTITIONED, name="incremental_dbt_models",
                partitions_def=LANDING_DAYS, backfill_policy=ONE_RUN_PER_BACKFILL, pool=pool)
    def incremental_dbt_models(context: AssetExecutionContext, dbt: MedallionDbtCli, warehouse: Warehouse,
                               config: DbtBuildConfig):
        """Silver transactions merged on transaction_id for the ids the window's files carry, then the Gold
        sales facts rebuilt for the (day or month, product, customer) groups those files can change."""
        yield from _build(context, dbt, warehouse, config)

    return incremental_dbt_models


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select=f"tag:{REFRESHED_EVERY_15_MINUTES}", name="gold_dbt_models",
            backfill_policy=ONE_RUN_PER_BACKFILL, pool=WAREHOUSE_WRITER_POOL)
def gold_dbt_models(context: AssetExecutionContext, dbt: MedallionDbtCli, warehouse: Warehouse,
                    config: DbtBuildConfig):
    """Gold business tables rebuilt whole, every 15 minutes at most: they rank or segment over all history."""
    yield from _build(context, dbt, warehouse, config)


def dbt_assets_for(settings: Settings) -> list[AssetsDefinition]:
    return [silver_dbt_models, incremental_dbt_models_in(settings.change_set_pool), gold_dbt_models]


def _with_table_metadata(context: AssetExecutionContext, events: list, warehouse: Warehouse,
                         lineage: ColumnLineage) -> Iterator:
    """Attach `dagster/row_count`, a preview of the first rows and the column lineage to each model's
    output. Read after dbt has exited, because DuckDB admits one process at a time to the warehouse file."""
    keys = context.assets_def.keys_by_output_name
    for event in events:
        if isinstance(event, Output) and event.output_name in keys:
            schema, table = keys[event.output_name].path
            yield event.with_metadata({**event.metadata, "dagster/row_count": warehouse.count_rows(schema, table),
                                       "preview": warehouse.preview(schema, table),
                                       **lineage.metadata(event.metadata["unique_id"].value)})
        else:
            yield event
