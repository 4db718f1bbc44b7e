"""gold.events_flattened on Snowflake: the Snowflake SQL behind events_flatten.FlattenDialect. The rules
(paths, types, names) are that module's; `bronze.events.payload` is a VARIANT (snowflake/bronze.py
parses each JSON line with TRY_PARSE_JSON).

- Discovery, one query per nesting level: FLATTEN (not recursive) of each object found so far, with
  TYPEOF of each value. Not `RECURSIVE => TRUE`: one level's KEY is the key exactly, where a recursive
  FLATTEN writes a path as text (`b['e.f']`) that would have to be parsed back; and fakesnow, which the
  tests run on, ignores RECURSIVE (it returns the first level only). TYPEOF's names map onto the
  rules' kinds: INTEGER -> BIGINT, DECIMAL and DOUBLE -> DOUBLE, NULL_VALUE (JSON null) left out.
- Values: `payload:"a"."b"`, every key quoted (a `"` doubled), cast with `::` (strict, as on DuckDB):
  VARCHAR is `::VARCHAR` (a string unquoted, anything else its JSON text, JSON null NULL); TIMESTAMP is
  TIMESTAMP_NTZ in UTC; an array (JSON) stays a VARIANT, JSON null made NULL by STRIP_NULL_VALUE.
- Names: the rules' lower-case names, upper-cased in quotes: what an unquoted name resolves to, so
  `SELECT device_os FROM gold.events_flattened` works. Each payload column's path is its comment,
  given in the CREATE VIEW's column list: one statement, so no reader sees the view without them
  (Snowflake commits DDL statement by statement); read back from INFORMATION_SCHEMA.COLUMNS.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from medallion_platform.events_flatten import (
    BIGINT_TEST,
    ISO_TIMESTAMP,
    SOURCE_TABLE,
    TIMESTAMP_TEST,
    UTC_OFFSET,
    VIEW_NAME,
    FlatColumn,
    FlattenDialect,
    FlattenedView,
    Path,
)
from medallion_platform.sql_text import quote_ident, snowflake_literal as literal

# TYPEOF's names that differ from the rules' (DOUBLE, VARCHAR, BOOLEAN, OBJECT and ARRAY are the same).
KINDS = {"INTEGER": "BIGINT", "DECIMAL": "DOUBLE"}

# The CASE casts only what matched, as on DuckDB.
TESTS: dict[str, Callable[[str], str]] = {
    TIMESTAMP_TEST: lambda text: (f"CASE WHEN REGEXP_LIKE({text}, {literal(ISO_TIMESTAMP)}) "
                                  f"THEN TRY_CAST({text} AS TIMESTAMP_TZ) IS NOT NULL ELSE FALSE END"),
    BIGINT_TEST: lambda text: f"TRY_TO_NUMBER({text}) BETWEEN {-2**63} AND {2**63 - 1}",
}


def identifier(name: str) -> str:
    return quote_ident(name.upper())


def variant_at(path: Path) -> str:
    """The payload's value at the path: `payload:"a"."b"`, so any key is read as it is."""
    return "payload" + (":" + ".".join(quote_ident(key) for key in path) if path else "")


class SnowflakeFlatten(FlattenDialect):
    def __init__(self, cursor):
        self.cursor = cursor

    def _rows(self, sql: str) -> list[tuple]:
        self.cursor.execute(sql)
        return self.cursor.fetchall()

    def child_kinds(self, parents: list[Path]) -> dict[Path, frozenset[str]]:
        levels = "\nUNION ALL\n".join(
            f"SELECT DISTINCT {i} AS parent, f.key, TYPEOF(f.value) AS kind FROM {SOURCE_TABLE} AS e, "
            f"LATERAL FLATTEN(input => e.{variant_at(parent)}) AS f" for i, parent in enumerate(parents))
        kinds: dict[Path, frozenset[str]] = {}
        for parent, key, kind in self._rows(levels):
            path = parents[parent] + (key,)
            kinds[path] = kinds.get(path, frozenset()) | ({KINDS.get(kind, kind)} - {"NULL_VALUE"})
        return kinds

    def every_value_passes(self, tests: dict[Path, str]) -> dict[Path, bool]:
        texts = {path: f"{variant_at(path)}::VARCHAR" for path in tests}
        aggregates = ", ".join(f"BOOLAND_AGG(CASE WHEN {texts[path]} IS NOT NULL THEN {TESTS[test](texts[path])} END)"
                               for path, test in tests.items())
        return dict(zip(tests, self._rows(f"SELECT {aggregates} FROM {SOURCE_TABLE}")[0]))

    def create_sql(self, view_name: str, columns: list[FlatColumn]) -> str:
        column_list = ",\n    ".join(
            identifier(column.name) + (f" COMMENT {literal(json.dumps(column.path))}" if column.path else "")
            for column in columns)
        select_list = ",\n    ".join(f"{_value(column)} AS {identifier(column.name)}" for column in columns)
        return (f"CREATE OR REPLACE VIEW {view_name} (\n    {column_list}\n) AS\nSELECT\n    {select_list}\n"
                f"FROM {SOURCE_TABLE}")

    def existing_column_paths(self, schema: str) -> dict[Path, str]:
        rows = self._rows(f"SELECT column_name, comment FROM information_schema.columns "
                          f"WHERE table_schema = {literal(schema.upper())} "
                          f"AND table_name = {literal(VIEW_NAME.upper())} AND comment IS NOT NULL")
        return {tuple(json.loads(comment)): name.lower() for name, comment in rows}

    def replace_view(self, view: FlattenedView) -> None:
        self.cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {view.schema}")
        self.cursor.execute(view.create_sql)


def _value(column: FlatColumn) -> str:
    if column.path is None:
        return identifier(column.name)
    value = variant_at(column.path)
    text = f"{value}::VARCHAR"
    if column.type == "JSON":
        return f"STRIP_NULL_VALUE({value})"
    if column.type == "TIMESTAMP":
        return (f"CASE WHEN REGEXP_LIKE({text}, {literal('.*' + UTC_OFFSET)}) "
                f"THEN CONVERT_TIMEZONE('UTC', {text}::TIMESTAMP_TZ)::TIMESTAMP_NTZ ELSE {text}::TIMESTAMP_NTZ END")
    return f"{value}::{column.type}"  # VARCHAR, BIGINT, DOUBLE, BOOLEAN: Snowflake's names too
