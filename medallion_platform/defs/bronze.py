"""Bronze: every landed file loaded once into `bronze.<source>`, with lineage; bad rows to rejects."""

import sys
import warnings

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BetaWarning,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    build_column_schema_change_checks,
)
from tqdm import tqdm

from medallion_platform.bronze.ledger import MAX_ATTEMPTS, LoadReport
from medallion_platform.landing import KEY_PATTERN, LandingZone, is_marker
from medallion_platform.partitions import LANDING_DAYS, ONE_RUN_PER_BACKFILL
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform.sources import SOURCES, Source
from medallion_platform.warehouse import Warehouse

LANDED_COLUMNS_CHECK = "landed_file_columns"
LANDED_FILES_CHECK = "landed_files_loaded"


def _bronze_asset(source: Source):
    key = ["bronze", source.name]

    @asset(
        key=key,
        deps=[["landing", source.name]],
        group_name="bronze",
        pool=WAREHOUSE_WRITER_POOL,
        partitions_def=LANDING_DAYS,
        backfill_policy=ONE_RUN_PER_BACKFILL,
        description=(
            f"`bronze.{source.name}`: {source.description} Partitioned by landing day: a partition is "
            f"the files under `{source.name}/<day>/`. Every row of every landed file, loaded "
            "exactly once (ledger: bronze.load_ledger), typed per the source registry; rows that do "
            "not type go to bronze.rejects with the reason."
        ),
        check_specs=[
            AssetCheckSpec(
                LANDED_COLUMNS_CHECK, asset=key,
                description="The files loaded by this materialization have exactly the registry's columns.",
            ),
            AssetCheckSpec(
                LANDED_FILES_CHECK, asset=key,
                description=(
                    "Every file landed for these days could be read: a file that cannot (empty, truncated, "
                    "not its source's format, unreachable) fails this check, named with its error in "
                    f"bronze.load_ledger. It is tried again on later runs, up to {MAX_ATTEMPTS} attempts; "
                    "the other files load and flow on meanwhile."),
            ),
        ],
    )
    def bronze_table(context: AssetExecutionContext, warehouse: Warehouse, landing: LandingZone):
        days = sorted(context.partition_keys)
        # Only the partition's days are listed (on a local folder, listing hashes each file): a run
        # costs what it loads, not what has ever landed.
        listed = [obj for day in days for obj in landing.list_objects(prefix=f"{source.name}/{day}/")]
        objects = []
        for obj in listed:
            if is_marker(obj.key):
                context.log.info(f"{obj.key}: a marker file (its name starts with _ or .), not data; not loaded")
            elif not KEY_PATTERN.match(obj.key):
                context.log.warning(f"{obj.key}: not of the form <source>/<YYYY-MM-DD>/<file>; not loaded")
            else:
                objects.append(obj)
        # A bar over the files, on stderr when it is a terminal (`medallion demo` in a shell): a load at
        # scale takes minutes. Where stderr is a file (the run's logs under `make dev`) there is none.
        with tqdm(objects, desc=f"bronze/{source.name}", unit=" files", file=sys.stderr, disable=None) as files:
            load = warehouse.load_bronze(landing, source, files, days)
        report = load.report
        for result in report.files:
            if result.status != "already_loaded":
                context.log.info(f"{result.key}: {result.status} {result.rows_loaded} rows, "
                                 f"{result.rows_rejected} rejected{'; ' + result.detail if result.detail else ''}")
        # A file that cannot be read does not hold back the good ones: they are materialized, and flow on
        # to Silver and Gold in this run; the bad file fails a check and is logged as an error.
        for failure in report.failures:
            context.log.error(f"ALERT bronze/{source.name}: {failure.detail}")
        yield MaterializeResult(metadata={
            "dagster/row_count": load.partition_rows,
            "dagster/column_schema": TableSchema(columns=[TableColumn(n, t) for n, t in load.columns]),
            "preview": warehouse.preview("bronze", source.name),
            "rows_loaded": report.rows_loaded,
            "rows_rejected": report.rows_rejected,
            "rejects_total": load.rejects_total,
            "files_loaded": report.count("loaded"),
            "files_duplicate": report.count("duplicate"),
            "files_already_loaded": report.count("already_loaded"),
            "files_failed": len(report.failures),
        })
        yield _landed_columns_check(report)
        yield _landed_files_check(report)

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


def _landed_files_check(report: LoadReport) -> AssetCheckResult:
    failed = {f.key: f.detail for f in report.failures}
    return AssetCheckResult(
        check_name=LANDED_FILES_CHECK,
        passed=not failed,
        severity=AssetCheckSeverity.ERROR,
        description=("Could not read: " + "; ".join(failed.values())) if failed else None,
        metadata={"files_failed": len(failed), "failed_files": MetadataValue.json(failed),
                  "files_seen": len(report.files)},
    )


bronze_assets = [_bronze_asset(source) for source in SOURCES.values()]

# A change in a Bronze table's own columns (a registry edit) between materializations is reported too.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)
    bronze_column_schema_checks = build_column_schema_change_checks(assets=bronze_assets)
