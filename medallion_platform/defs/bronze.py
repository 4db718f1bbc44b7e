"""Bronze: every landed file loaded once into `bronze.<source>`, with lineage; bad rows to rejects."""

import warnings

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BetaWarning,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    build_column_schema_change_checks,
)
from medallion_platform.bronze.loader import LoadReport
from medallion_platform.landing import KEY_PATTERN, LandingZone
from medallion_platform.partitions import LANDING_DAYS, ONE_RUN_PER_BACKFILL
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform.sources import SOURCES, Source
from medallion_platform.warehouse import Warehouse

LANDED_COLUMNS_CHECK = "landed_file_columns"


def _bronze_asset(source: Source):
    key = ["bronze", source.name]

    @asset(
        key=key,
        deps=[["landing", source.name]],
        group_name="bronze",
        kinds={"table"},
        pool=WAREHOUSE_WRITER_POOL,
        partitions_def=LANDING_DAYS,
        backfill_policy=ONE_RUN_PER_BACKFILL,
        description=(
            f"`bronze.{source.name}`: {source.description} Partitioned by landing day: a partition is "
            f"the files under `{source.name}/<day>/`. Every row of every landed file, loaded "
            "exactly once (ledger: bronze.load_ledger), typed per the source registry; rows that do "
            "not type go to bronze.rejects with the reason."
        ),
        check_specs=[AssetCheckSpec(
            LANDED_COLUMNS_CHECK, asset=key,
            description="The files loaded by this materialization have exactly the registry's columns.",
        )],
    )
    def bronze_table(context: AssetExecutionContext, warehouse: Warehouse, landing: LandingZone):
        days = sorted(context.partition_keys)
        # Only the partition's days are listed (on a local folder, listing hashes each file): a run
        # costs what it loads, not what has ever landed.
        listed = [obj for day in days for obj in landing.list_objects(prefix=f"{source.name}/{day}/")]
        for obj in listed:
            if not KEY_PATTERN.match(obj.key):
                context.log.warning(f"{obj.key}: not of the form <source>/<YYYY-MM-DD>/<file>; not loaded")
        objects = [obj for obj in listed if KEY_PATTERN.match(obj.key)]
        load = warehouse.load_bronze(landing, source, objects, days)
        report = load.report
        for result in report.files:
            if result.status != "already_loaded":
                context.log.info(f"{result.key}: {result.status} {result.rows_loaded} rows, "
                                 f"{result.rows_rejected} rejected{'; ' + result.detail if result.detail else ''}")
        if report.failures:
            yield _landed_columns_check(report)
            raise Failure(
                description=f"{len(report.failures)} file(s) of {source.name} could not be read; the other "
                "files are loaded and the failures recorded in bronze.load_ledger: "
                + "; ".join(f.detail or f.key for f in report.failures),
                metadata={"failed_files": MetadataValue.json([f.key for f in report.failures])},
            )
        yield MaterializeResult(metadata={
            "dagster/row_count": load.partition_rows,
            "dagster/column_schema": TableSchema(columns=[TableColumn(n, t) for n, t in load.columns]),
            "rows_loaded": report.rows_loaded,
            "rows_rejected": report.rows_rejected,
            "rejects_total": load.rejects_total,
            "files_loaded": report.count("loaded"),
            "files_duplicate": report.count("duplicate"),
            "files_already_loaded": report.count("already_loaded"),
        })
        yield _landed_columns_check(report)

    return bronze_table


def _landed_columns_check(report: LoadReport) -> AssetCheckResult:
    """Warn when a feed starts sending other columns: the load goes on, the change is visible."""
    drifted = {f.key: str(f.columns) for f in report.files if f.status == "loaded" and str(f.columns)}
    return AssetCheckResult(
        check_name=LANDED_COLUMNS_CHECK,
        passed=not drifted,
        severity=AssetCheckSeverity.WARN,
        metadata={"files_with_column_changes": len(drifted), "files_checked": report.count("loaded"),
                  "files_with_other_columns": MetadataValue.json(drifted)},
    )


bronze_assets = [_bronze_asset(source) for source in SOURCES.values()]

# A change in a Bronze table's own columns (a registry edit) between materializations is reported too.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)
    bronze_column_schema_checks = build_column_schema_change_checks(assets=bronze_assets)
