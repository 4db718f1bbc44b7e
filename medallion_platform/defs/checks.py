"""Asset checks written in Python: what SQL tests cannot say well (a statistical band over history)."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from medallion_platform.quality import daily_sales_anomalies
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform.warehouse import Warehouse


@asset_check(
    asset=["gold", "vw_daily_sales_analysis"],
    name="daily_sales_volume_in_band",
    pool=WAREHOUSE_WRITER_POOL,
    description="Each day's total sales lie within mean ± 3 standard deviations of the 28 days before it "
                "(days with under 7 days of history are not judged). A day outside warns.",
)
def daily_sales_volume_in_band(warehouse: Warehouse) -> AssetCheckResult:
    judged, anomalies = daily_sales_anomalies(warehouse.query)
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


# The reconciliation of Bronze with Silver is a dbt test (sql/tests/generic/reconciles_with_bronze.sql),
# so that dbt build itself holds back the Gold facts built in the same step as silver.transactions.
quality_checks = [daily_sales_volume_in_band]
