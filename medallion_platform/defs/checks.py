"""Asset checks written in Python: what dbt tests cannot say about a single model."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check
from dagster_duckdb import DuckDBResource

from medallion_platform.quality import RECONCILED_ENTITIES, daily_sales_anomalies, reconcile
from medallion_platform.settings import DUCKDB_WRITER_POOL


def _reconciliation_check(entity: str):
    @asset_check(
        asset=["silver", entity],
        name="bronze_rows_reconcile",
        blocking=True,  # an ERROR here keeps Gold from building on rows that went missing
        additional_deps=[["bronze", entity], ["silver", f"{entity}_quarantine"]],
        pool=DUCKDB_WRITER_POOL,
        description=f"Every bronze.{entity} row is in silver.{entity}, in silver.{entity}_quarantine, "
                    "or superseded by a later version of its key: nothing is lost, nothing counted twice.",
    )
    def bronze_rows_reconcile(duckdb: DuckDBResource) -> AssetCheckResult:
        with duckdb.get_connection() as con:
            counts = reconcile(con, entity)
        return AssetCheckResult(
            passed=counts.unaccounted == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={"unaccounted_rows": counts.unaccounted, "bronze_rows": counts.bronze, "silver_rows": counts.silver,
                      "quarantined_rows": counts.quarantined, "superseded_rows": counts.superseded},
        )

    return bronze_rows_reconcile


@asset_check(
    asset=["gold", "vw_daily_sales_analysis"],
    name="daily_sales_volume_in_band",
    pool=DUCKDB_WRITER_POOL,
    description="Each day's total sales lie within mean ± 3 standard deviations of the 28 days before it "
                "(days with under 7 days of history are not judged). A day outside warns.",
)
def daily_sales_volume_in_band(duckdb: DuckDBResource) -> AssetCheckResult:
    with duckdb.get_connection() as con:
        judged, anomalies = daily_sales_anomalies(con)
    return AssetCheckResult(
        passed=not anomalies,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "anomalous_day_count": len(anomalies),
            "days_judged": judged,
            "anomalous_days": MetadataValue.json([
                {"day": a.day, "total_sales": round(a.total_sales, 2),
                 "band": [round(a.band_low, 2), round(a.band_high, 2)]} for a in anomalies]),
        },
    )


quality_checks = [*(_reconciliation_check(entity) for entity in RECONCILED_ENTITIES), daily_sales_volume_in_band]
