"""Silver and Gold: the dbt project in `sql/`, one Dagster asset per model, dbt tests as asset checks."""

import json
import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    Config,
    Failure,
    FreshnessPolicy,
    Output,
    TimeWindow,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from medallion_platform.defs.automation import FOLLOW_UPSTREAM
from medallion_platform.partitions import LANDING_DAYS, LOOKBACK_DAYS, ONE_RUN_PER_BACKFILL
from medallion_platform.settings import DBT_PROJECT_DIR, DUCKDB_WRITER_POOL

# Gold is rebuilt at least daily; a view older than that is stale for the business.
GOLD_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=48), warn_window=timedelta(hours=24))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The dbt installed beside this interpreter, so nothing depends on PATH or an activated venv.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def _manifest_is_stale(project: DbtProject) -> bool:
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for folder in ("models", "macros", "seeds") for p in (DBT_PROJECT_DIR / folder).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


# Parse only when the SQL changed since the last parse: a fresh clone, or an edit in sql/.
if _manifest_is_stale(dbt_project):
    dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


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
        if spec.group_name == "gold":
            spec = spec.replace_attributes(freshness_policy=GOLD_FRESHNESS)
        return spec

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        return FOLLOW_UPSTREAM


TRANSLATOR = MedallionDbtTranslator()


class DbtBuildConfig(Config):
    full_refresh: bool = False  # rebuild incremental models from all of Bronze (the nightly schedule)


def _build(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource,
           config: DbtBuildConfig) -> Iterator:
    """dbt build on the selected models, each followed by its tests. A failing ERROR-severity test
    stops the models below it; WARN tests only report. A partitioned step passes its window as vars."""
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    if context.has_partition_key_range or context.has_partition_key:
        args += ["--vars", json.dumps(landing_window_vars(context.partition_time_window))]
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    events = list(invocation.stream())
    yield from _with_row_counts(context, events, duckdb)
    if not invocation.is_successful():
        raise Failure(description=f"dbt build failed: {invocation.get_error()}")


def landing_window_vars(window: TimeWindow) -> dict[str, str]:
    """The landing days a run covers, widened by the lookback, as the vars the incremental models read."""
    first_day = window.start.date() - timedelta(days=LOOKBACK_DAYS)
    last_day = window.end.date() - timedelta(days=1)  # the window's end is exclusive
    return {"min_landing_date": first_day.isoformat(), "max_landing_date": last_day.isoformat()}


# Four steps. Silver before Gold, so that blocking checks on Silver (dbt tests and the Python
# reconciliation checks) run between them and a failed one keeps Gold off bad data. Within each
# layer, the incremental models that follow the landing-day partitions apart from the full rebuilds.
PARTITIONED = "tag:partitioned_by_landing_day"


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select="path:models/silver path:seeds", exclude=PARTITIONED, name="silver_dbt_models",
            backfill_policy=ONE_RUN_PER_BACKFILL, pool=DUCKDB_WRITER_POOL)
def silver_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource,
                        config: DbtBuildConfig):
    """Silver dimensions and classification views: typed, cleaned, deduplicated, quarantined with a reason."""
    yield from _build(context, dbt, duckdb, config)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select=f"path:models/silver,{PARTITIONED}", name="silver_incremental_dbt_models",
            partitions_def=LANDING_DAYS, backfill_policy=ONE_RUN_PER_BACKFILL, pool=DUCKDB_WRITER_POOL)
def silver_incremental_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource,
                        config: DbtBuildConfig):
    """Silver transactions, merged on transaction_id for the ids the window's files carry."""
    yield from _build(context, dbt, duckdb, config)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select="path:models/gold", exclude=PARTITIONED, name="gold_dbt_models",
            backfill_policy=ONE_RUN_PER_BACKFILL, pool=DUCKDB_WRITER_POOL)
def gold_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource,
                        config: DbtBuildConfig):
    """Gold business views rebuilt whole: they rank or segment over all history."""
    yield from _build(context, dbt, duckdb, config)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=TRANSLATOR,
            select=f"path:models/gold,{PARTITIONED}", name="gold_incremental_dbt_models",
            partitions_def=LANDING_DAYS, backfill_policy=ONE_RUN_PER_BACKFILL, pool=DUCKDB_WRITER_POOL)
def gold_incremental_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource,
                        config: DbtBuildConfig):
    """Gold sales facts, rebuilt for the dates (and months) the window's files can change."""
    yield from _build(context, dbt, duckdb, config)


DBT_ASSETS = [silver_dbt_models, silver_incremental_dbt_models, gold_dbt_models, gold_incremental_dbt_models]


def _with_row_counts(context: AssetExecutionContext, events: list, warehouse: DuckDBResource) -> Iterator:
    """Attach `dagster/row_count` to each model's output. Counted after dbt has exited, because
    DuckDB admits one process at a time to the warehouse file."""
    keys = context.assets_def.keys_by_output_name
    outputs = [e for e in events if isinstance(e, Output) and e.output_name in keys]
    counts: dict[str, int] = {}
    if outputs:
        with warehouse.get_connection() as con:
            for event in outputs:
                schema, name = keys[event.output_name].path
                counts[event.output_name] = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
    for event in events:
        if isinstance(event, Output) and event.output_name in counts:
            yield event.with_metadata({**event.metadata, "dagster/row_count": counts[event.output_name]})
        else:
            yield event
