"""Tables read as comparable snapshots, to show two warehouses hold the same rows: money exactly,
DOUBLE to 1e-9, instants in UTC, rows in one order whatever order a warehouse returns them in."""

from datetime import datetime, timezone
from decimal import Decimal


def snapshot_rows(cursor) -> tuple[list[str], list[tuple]]:
    """Column names (lower case) and the rows as comparable values, in one order on both warehouses."""
    columns = [d[0].lower() for d in cursor.description]
    rows = [tuple(_comparable(v) for v in row) for row in cursor.fetchall()]
    return columns, sorted(rows, key=lambda row: [_order(v) for v in row])


def _order(value) -> tuple:
    if value is None:
        return (2, 0)
    if isinstance(value, (int, float, Decimal)):  # int, Decimal and float compare by value
        return (0, value)
    return (1, str(value))


def _comparable(value):
    """Money and counts exactly (Decimal and int compare by value), DOUBLE to 1e-9, instants in UTC."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    return value


def differences(on_duckdb: dict, on_snowflake: dict) -> list[str]:
    found = []
    for relation, (columns, expected) in on_duckdb.items():
        actual_columns, actual = on_snowflake[relation]
        if actual_columns != columns:
            found.append(f"{relation}: columns {actual_columns} != {columns}")
        elif len(actual) != len(expected):
            found.append(f"{relation}: {len(actual)} rows on Snowflake, {len(expected)} on DuckDB")
        elif actual != expected:
            pairs = [(e, a) for e, a in zip(expected, actual) if e != a]
            found.append(f"{relation}: {len(pairs)} rows differ, first: DuckDB {pairs[0][0]} / Snowflake {pairs[0][1]}")
    return found


def money_total(snapshot: dict, relation: str, column: str) -> Decimal:
    columns, rows = snapshot[relation]
    at = columns.index(column)
    return sum((Decimal(r[at]) for r in rows if r[at] is not None), Decimal(0))
