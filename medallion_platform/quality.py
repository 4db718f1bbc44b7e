"""Data-quality measurements the asset checks report: plain SQL over the warehouse, testable alone."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class VolumeAnomaly:
    day: str
    total_sales: float
    band_low: float
    band_high: float


DAILY_TOTALS = """
SELECT transaction_date, sum(total_sales) FROM gold.vw_daily_sales_analysis
GROUP BY transaction_date ORDER BY transaction_date
"""


def daily_sales_anomalies(
    query: Callable[[str], list[tuple]], window_days: int = 28, min_history_days: int = 7, sigmas: float = 3.0,
) -> tuple[int, list[VolumeAnomaly]]:
    """Days whose total sales fall outside mean ± `sigmas` standard deviations of the `window_days`
    before them (by date, not by row: missing days are not counted). Days with fewer than
    `min_history_days` of history are not judged. The band is computed here, not in SQL, so the same
    check runs on every warehouse (`query` runs DAILY_TOTALS on one). Returns (days judged, anomalies)."""
    totals = [(day if isinstance(day, date) else date.fromisoformat(str(day)), float(total))
              for day, total in query(DAILY_TOTALS)]
    judged, anomalies = 0, []
    for day, total in totals:
        history = [t for d, t in totals if day - timedelta(days=window_days) <= d < day]
        if len(history) < min_history_days:
            continue
        judged += 1
        mean = statistics.fmean(history)
        spread = sigmas * (statistics.stdev(history) if len(history) > 1 else 0.0)
        if not mean - spread <= total <= mean + spread:
            anomalies.append(VolumeAnomaly(day.isoformat(), total, mean - spread, mean + spread))
    return judged, anomalies
