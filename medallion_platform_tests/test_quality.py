"""The measurements behind the Python asset checks, on crafted warehouse tables."""

import duckdb
import pytest

from medallion_platform.quality import daily_sales_anomalies


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA gold")
    yield connection
    connection.close()


def sql_on(con):
    return lambda sql: con.execute(sql).fetchall()


def daily_sales(con, totals: dict[str, float]) -> None:
    con.execute("CREATE OR REPLACE TABLE gold.vw_daily_sales_analysis (transaction_date DATE, total_sales DECIMAL(18,2))")
    for day, total in totals.items():  # split each day over two rows, as the view has many per day
        con.execute("INSERT INTO gold.vw_daily_sales_analysis VALUES (?, ?), (?, ?)", [day, total / 2, day, total / 2])


def test_a_spike_outside_the_trailing_band_is_reported_and_normal_days_are_not(con):
    days = {f"2026-10-{d:02d}": 1000 + (d % 5) * 20 for d in range(1, 31)}
    days["2026-10-31"] = 5000
    daily_sales(con, days)
    judged, anomalies = daily_sales_anomalies(sql_on(con))
    assert judged == 31 - 7  # the first 7 days have too little history
    assert [a.day for a in anomalies] == ["2026-10-31"]
    assert anomalies[0].band_low < 1100 < anomalies[0].band_high < 5000


def test_a_drop_is_reported_too_and_short_history_is_not_judged(con):
    daily_sales(con, {"2026-10-01": 1000, "2026-10-02": 1010, "2026-10-03": 10})
    assert daily_sales_anomalies(sql_on(con)) == (0, [])
    days = {f"2026-10-{d:02d}": 1000 + (d % 3) * 10 for d in range(1, 15)}
    days["2026-10-15"] = 100
    daily_sales(con, days)
    assert [a.day for a in daily_sales_anomalies(sql_on(con))[1]] == ["2026-10-15"]


def test_only_the_28_days_before_a_day_form_its_band(con):
    # Wild swings two months ago must not widen today's band: 1500 is a spike against October alone.
    days = {f"2026-08-{d:02d}": 0 if d % 2 else 5000 for d in range(1, 32)}
    days |= {f"2026-10-{d:02d}": 1000 + (d % 2) for d in range(1, 31)}
    days["2026-10-31"] = 1500
    daily_sales(con, days)
    _, anomalies = daily_sales_anomalies(sql_on(con))
    assert [a.day for a in anomalies] == ["2026-10-31"]

