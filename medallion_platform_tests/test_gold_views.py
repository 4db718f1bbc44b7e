"""The Gold business views, every row and column, against an independent computation from the raw files
(independent.py), on the one pipeline run of conftest.py. Money is compared in cents, exactly; money
averages to the cent, rounded half away from zero with Decimal; other ratios within 1e-9."""

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from medallion_platform_tests import independent

COUNTRIES = {"United States", "United Kingdom", "Germany", "France", "Spain", "Canada", "Mexico", "Brazil",
             "Japan", "Australia"}


def _cents_average(cents, count) -> float:
    return float((Decimal(int(cents)) / 100 / int(count)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _gold(con, sql: str, date_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = con.execute(sql).df()
    for column in date_columns:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _same(expected, actual) -> bool:
    if pd.isna(expected) or pd.isna(actual):
        return pd.isna(expected) and pd.isna(actual)
    return expected == actual


def _close(expected, actual) -> bool:
    """An exact Fraction against the warehouse's floating point."""
    if pd.isna(expected) or pd.isna(actual):
        return pd.isna(expected) and pd.isna(actual)
    return abs(float(expected) - float(actual)) < 1e-9


def _assert_equal_rows(expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str],
                       approximate: tuple[str, ...] = ()) -> pd.DataFrame:
    """The same keys on both sides, and every other column of `actual` equal to `expected`'s:
    exactly, or within 1e-9 for the `approximate` (fractional) columns. Returns the rows side by side."""
    merged = expected.merge(actual, on=keys, how="outer", suffixes=("_expected", "_actual"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) > 0
    for column in actual.columns.difference(keys):
        compare = _close if column in approximate else _same
        equal = [compare(e, a) for e, a in zip(merged[f"{column}_expected"], merged[f"{column}_actual"])]
        assert all(equal), merged.loc[[not ok for ok in equal], keys + [f"{column}_expected", f"{column}_actual"]]
    return merged


def test_sales_by_country_equals_an_independent_computation(pipeline, con):
    raw = pipeline[0].raw_dir
    actual = _gold(con, "SELECT country, CAST(round(total_sales * 100) AS BIGINT) AS total_cents, number_of_sales, "
                        "number_of_customers FROM gold.sales_by_country")
    _assert_equal_rows(independent.sales_by_country(raw), actual, ["country"])
    # Every spelling in the feed maps to its country; orphans and unknown countries keep their revenue.
    assert set(actual["country"]) == COUNTRIES | {"Unknown"}
    assert actual["total_cents"].sum() == independent.valid_transactions(raw)["cents"].sum()


def test_top_products_equals_an_independent_computation(pipeline, con):
    actual = _gold(con, "SELECT product_id, product_name, category, total_quantity_sold, "
                        "CAST(round(total_revenue * 100) AS BIGINT) AS total_cents, revenue_rank "
                        "FROM gold.top_products")
    _assert_equal_rows(independent.top_products(pipeline[0].raw_dir), actual, ["product_id"])
    assert sorted(actual["revenue_rank"]) == list(range(1, len(actual) + 1))
    assert actual["product_name"].isna().any()  # orphan products sold and are ranked too


def test_client_activity_equals_an_independent_computation(pipeline, con):
    actual = _gold(con, "SELECT customer_id, customer_type, number_of_purchases, "
                        "CAST(round(total_spent * 100) AS BIGINT) AS total_cents, last_purchase_date "
                        "FROM gold.client_activity", date_columns=("last_purchase_date",))
    _assert_equal_rows(independent.client_activity(pipeline[0].raw_dir), actual, ["customer_id"])
    assert {"Regular", "Premium", "VIP", "Unknown"} <= set(actual["customer_type"])


def test_customer_sales_report_equals_an_independent_computation(pipeline, con):
    raw = pipeline[0].raw_dir
    actual = _gold(con, "SELECT customer_id, first_purchase_date, last_purchase_date, orders, "
                        "CAST(round(revenue * 100) AS BIGINT) AS total_cents, as_of_date, recency_days, "
                        "recency_score, frequency_score, monetary_score, rfm_segment, average_order_value "
                        "FROM gold.customer_sales_report",
                   date_columns=("first_purchase_date", "last_purchase_date", "as_of_date"))
    expected = independent.customer_sales_report(raw)
    expected["average_order_value"] = [_cents_average(c, n) for c, n in zip(expected["total_cents"], expected["orders"])]
    _assert_equal_rows(expected, actual, ["customer_id"])
    assert set(actual["as_of_date"]) == {independent.as_of_date(raw)}
    # The generated customers spread over the segments rather than collapsing into one or two.
    assert len(set(actual["rfm_segment"])) >= 5, actual["rfm_segment"].value_counts()


def test_inventory_status_equals_an_independent_computation(pipeline, con):
    actual = _gold(con, "SELECT product_id, product_name, category, stock_quantity, as_of_date, units_sold_30d, "
                        "avg_daily_units_30d, days_of_cover, is_low_stock FROM gold.inventory_status",
                   date_columns=("as_of_date",))
    merged = _assert_equal_rows(independent.inventory_status(pipeline[0].raw_dir), actual, ["product_id"],
                                approximate=("avg_daily_units_30d", "days_of_cover"))
    assert merged["is_low_stock_actual"].any() and not merged["is_low_stock_actual"].all()
