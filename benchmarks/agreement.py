"""Whether the project, the bare DuckDB script and the pandas script produced the same Gold: the
same rows of vw_daily_sales_analysis and vw_customer_product_affinity, money to the cent. A timing
of different results would compare nothing, so benchmarks/run.py checks this before printing any."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Per view: its columns, money as integer cents. `{money}` is how a source spells a money column.
VIEWS = {
    "vw_daily_sales_analysis": (
        "transaction_date, product_id, product_name, product_category, customer_id, customer_type, "
        "total_quantity, num_transactions",
        ("total_sales", "avg_price_per_unit", "avg_transaction_value"),
    ),
    "vw_customer_product_affinity": (
        "customer_id, customer_type, product_id, product_name, product_category, purchase_month, "
        "purchase_count, total_quantity, days_between_first_last_purchase",
        ("total_spent", "avg_purchase_amount"),
    ),
}
SHOWN = 5


class GoldDisagreement(AssertionError):
    """Two implementations produced different Gold rows."""


def _from_warehouse(alias: str, view: str) -> str:
    plain, money = VIEWS[view]
    cents = ", ".join(f"CAST({m} * 100 AS BIGINT) AS {m}_cents" for m in money)
    return f"SELECT {plain}, {cents} FROM {alias}.gold.{view}"


def _from_pandas(folder: Path, view: str) -> str:
    plain, money = VIEWS[view]
    dates = {"transaction_date", "purchase_month"}
    columns = ", ".join(f"CAST({c} AS DATE) AS {c}" if c in dates else c for c in plain.split(", "))
    cents = ", ".join(f"{m}_cents" for m in money)
    return f"SELECT {columns}, {cents} FROM read_parquet('{folder / f'gold.{view}.parquet'}')"


def differences(con: duckdb.DuckDBPyConnection, expected_sql: str, actual_sql: str) -> tuple[int, int, list, list]:
    """Rows only in expected, rows only in actual (as multisets), and the first few of each."""
    only = []
    for left, right in ((expected_sql, actual_sql), (actual_sql, expected_sql)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _only AS ({left}) EXCEPT ALL ({right})")
        only.append((con.execute("SELECT count(*) FROM _only").fetchone()[0],
                     con.execute(f"SELECT * FROM _only ORDER BY ALL LIMIT {SHOWN}").fetchall()))
    return only[0][0], only[1][0], only[0][1], only[1][1]


def check_gold(project_db: Path, bare_db: Path | None = None, pandas_dir: Path | None = None) -> dict:
    """Raise GoldDisagreement naming the first differing rows unless every given implementation's
    Gold equals the project's; the rows compared per view."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{project_db}' AS project (READ_ONLY)")
    if bare_db is not None:
        con.execute(f"ATTACH '{bare_db}' AS bare (READ_ONLY)")
    compared = {}
    for view in VIEWS:
        expected = _from_warehouse("project", view)
        others = {}
        if bare_db is not None:
            others["bare DuckDB"] = _from_warehouse("bare", view)
        if pandas_dir is not None:
            others["pandas"] = _from_pandas(pandas_dir, view)
        for name, actual in others.items():
            missing, extra, first_missing, first_extra = differences(con, expected, actual)
            if missing or extra:
                header = f"({VIEWS[view][0]}, {', '.join(m + '_cents' for m in VIEWS[view][1])})"
                raise GoldDisagreement(
                    f"gold.{view}: {name} differs from the project: {missing} row(s) only in the project's, "
                    f"{extra} only in {name}'s. Columns {header}.\n"
                    f"  first only in the project's: {first_missing}\n  first only in {name}'s: {first_extra}")
        compared[view] = con.execute(f"SELECT count(*) FROM ({expected})").fetchone()[0]
    con.close()
    return compared
