"""Data-quality measurements the asset checks report: plain SQL over the warehouse, testable alone."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

RECONCILED_ENTITIES = ("customers", "products", "transactions")


@dataclass(frozen=True)
class Reconciliation:
    entity: str
    bronze: int
    silver: int
    quarantined: int
    superseded: int

    @property
    def unaccounted(self) -> int:
        """Bronze rows that are in none of Silver, quarantine or superseded (or counted twice, if < 0)."""
        return self.bronze - (self.silver + self.quarantined + self.superseded)


def reconcile(con: duckdb.DuckDBPyConnection, entity: str) -> Reconciliation:
    """Count each Bronze row's fate from the tables themselves, not from the classification view alone."""
    bronze, silver, quarantined, superseded = con.execute(
        f"SELECT (SELECT count(*) FROM bronze.{entity}), (SELECT count(*) FROM silver.{entity}),"
        f" (SELECT count(*) FROM silver.{entity}_quarantine),"
        f" (SELECT count(*) FROM silver.{entity}_classified WHERE _status = 'superseded')"
    ).fetchone()
    return Reconciliation(entity, bronze, silver, quarantined, superseded)


@dataclass(frozen=True)
class VolumeAnomaly:
    day: str
    total_sales: float
    band_low: float
    band_high: float


def daily_sales_anomalies(
    con: duckdb.DuckDBPyConnection, window_days: int = 28, min_history_days: int = 7, sigmas: float = 3.0,
) -> tuple[int, list[VolumeAnomaly]]:
    """Days whose total sales fall outside mean ± `sigmas` standard deviations of the `window_days`
    before them. Days with fewer than `min_history_days` of history are not judged.
    Returns (days judged, anomalies)."""
    rows = con.execute(
        f"""
        WITH daily AS (
            SELECT transaction_date AS day, sum(total_sales)::DOUBLE AS total_sales
            FROM gold.vw_daily_sales_analysis GROUP BY 1
        ), banded AS (
            SELECT day, total_sales,
                   avg(total_sales) OVER previous_days AS mean,
                   stddev_samp(total_sales) OVER previous_days AS sd,
                   count(*) OVER previous_days AS history
            FROM daily
            WINDOW previous_days AS (ORDER BY day RANGE BETWEEN INTERVAL {int(window_days)} DAYS PRECEDING
                                AND INTERVAL 1 DAY PRECEDING)
        )
        SELECT day::VARCHAR, total_sales, mean - ? * coalesce(sd, 0), mean + ? * coalesce(sd, 0)
        FROM banded WHERE history >= ? ORDER BY day
        """,
        [sigmas, sigmas, min_history_days],
    ).fetchall()
    anomalies = [VolumeAnomaly(day, total, low, high) for day, total, low, high in rows
                 if not low <= total <= high]
    return len(rows), anomalies
