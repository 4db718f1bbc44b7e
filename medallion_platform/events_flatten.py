"""The web events' JSON payload as a flat, typed view whose columns are discovered from the data.

What a Snowflake "JSON-to-view" stored procedure does, as code: no column list is written by hand, so
a path that a new feed version adds becomes a column the next time the view is generated.

One set of rules for both warehouses; only their SQL differs, behind `FlattenDialect`: DuckDB's here
(`DuckDBFlatten`), Snowflake's in medallion_platform/snowflake/events_flatten.py. Discovery reads every
row of `bronze.events` (no sample, so a path that only a few rows carry is not missed), one nesting
level at a time: a pass lists the keys of the objects found so far with the JSON kinds of their values,
and descends into the keys whose values are objects; a last pass tests the values of the string and
integer leaves. The rules:

- Nested objects are flattened to one column per leaf, down to paths of MAX_DEPTH keys (each level
  costs a pass; an object deeper still is one column, its JSON text); arrays are kept whole as JSON
  (exploding them would change the view's grain from one row per event).
- Types: JSON integers -> BIGINT (if one does not fit 64 bits, VARCHAR); numbers with a fraction, or
  integers mixed with them -> DOUBLE; true/false -> BOOLEAN; strings -> VARCHAR, or TIMESTAMP when every
  value is an ISO 8601 date-time with seconds (`2026-11-20T10:00:00.123Z`; an offset is converted to
  UTC, no offset means UTC). Anything else is VARCHAR: mixed kinds (a number in one row, a string or an
  object in another; such a value is shown as its JSON text), an object that is always empty, and a
  path that is only ever null (kept, so the column exists before its first value does).
- Names: the path's keys joined by `_`, lower-cased, every character outside [a-z0-9_] replaced by `_`,
  and a leading `_` before a digit (`device.os` -> `device_os`, `page.utm-source` -> `page_utm_source`).
  A path keeps the name it had in the existing view; a new path whose name is taken (by the lineage
  columns or another path) gets `_2`, `_3`, ... in path order. Each column's comment holds its path as
  a JSON array of keys, which is how the next generation knows the existing paths and their names.
- Values are cast strictly: a later value that does not fit the column's type makes a query fail
  rather than read as NULL, until the view is generated again from the new data.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from medallion_platform.bronze.loader import LINEAGE_COLUMNS
from medallion_platform.sql_text import quote_ident, sql_literal

SOURCE_TABLE = "bronze.events"
VIEW_NAME = "events_flattened"
MAX_DEPTH = 8

UTC_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)"
ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?" + UTC_OFFSET + "?"

# The JSON kinds of values, as DuckDB's json_type names them: BIGINT (a negative integer), UBIGINT, DOUBLE,
# BOOLEAN, VARCHAR, OBJECT or ARRAY (its NULL, a JSON null, is left out). A dialect names its own so.
INTEGER_KINDS = frozenset({"BIGINT", "UBIGINT"})
NUMBER_KINDS = INTEGER_KINDS | {"DOUBLE"}

# What every value of a path must be when its kinds alone do not decide its type.
TIMESTAMP_TEST = "an ISO 8601 date-time with seconds that the warehouse reads"
BIGINT_TEST = "an integer within 64 bits"

Path = tuple[str, ...]


@dataclass(frozen=True)
class FlatColumn:
    name: str
    type: str  # BIGINT, DOUBLE, BOOLEAN, VARCHAR, TIMESTAMP or JSON; a lineage column's as in bronze.events
    path: Path | None  # keys from the payload's root; None for a lineage column


@dataclass(frozen=True)
class FlattenedView:
    schema: str
    columns: tuple[FlatColumn, ...]  # payload columns in path order, then the lineage columns
    new_paths: tuple[Path, ...]      # paths the existing view (if any) has no column for
    create_sql: str                  # CREATE OR REPLACE VIEW, in the warehouse's dialect

    @property
    def qualified_name(self) -> str:
        """Unquoted, so each warehouse resolves it as it does its other names (GOLD on Snowflake)."""
        return f"{self.schema}.{VIEW_NAME}"


class FlattenDialect(ABC):
    """The SQL that differs between warehouses; the rules and the level-by-level discovery are shared."""

    @abstractmethod
    def child_kinds(self, parents: list[Path]) -> dict[Path, frozenset[str]]:
        """Every key that any row's object at one of the parent paths has, as parent + (key,), with
        the kinds of its values (JSON null left out), in one pass over the table."""

    @abstractmethod
    def every_value_passes(self, tests: dict[Path, str]) -> dict[Path, bool]:
        """Whether every non-null value of each path passes its test (TIMESTAMP_TEST or BIGINT_TEST),
        in one pass over the table."""

    @abstractmethod
    def create_sql(self, view_name: str, columns: list[FlatColumn]) -> str:
        """CREATE OR REPLACE VIEW over SOURCE_TABLE with these columns, each value cast to its type."""

    @abstractmethod
    def existing_column_paths(self, schema: str) -> dict[Path, str]:
        """Path -> column name of the view as it is now (empty if there is none), read from the comments."""

    @abstractmethod
    def replace_view(self, view: FlattenedView) -> None:
        """Create the schema if missing and run `view.create_sql`, each payload column's path its comment
        by the time a reader sees the view."""


def dotted_path(path: Path) -> str:
    return ".".join(path)


def column_name_for(path: Path) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", "_".join(path).lower())
    return name if name and not name[0].isdigit() else "_" + name


def replace_flattened_view(dialect: FlattenDialect, schema: str) -> FlattenedView:
    """Discover the payload's paths and types, replace the view with one over them, and describe it."""
    previous_names = dialect.existing_column_paths(schema)
    types = _discover_leaf_types(dialect)
    paths = sorted(types)
    names = _assign_names(paths, previous_names)
    payload_columns = [FlatColumn(names[path], types[path], path) for path in paths]
    columns = payload_columns + [FlatColumn(name, type_, None) for name, type_ in LINEAGE_COLUMNS]
    view = FlattenedView(
        schema=schema,
        columns=tuple(columns),
        new_paths=tuple(path for path in paths if path not in previous_names),
        create_sql=dialect.create_sql(f"{schema}.{VIEW_NAME}", columns),
    )
    dialect.replace_view(view)
    return view


def _discover_leaf_types(dialect: FlattenDialect) -> dict[Path, str]:
    """Every leaf path of the payload with its view type."""
    kinds = _discover_leaf_kinds(dialect)
    tests = {path: test for path, kinds_of in kinds.items() if (test := _value_test(kinds_of))}
    every_value_passes = dialect.every_value_passes(tests) if tests else {}
    return {path: _view_type(kinds_of, every_value_passes.get(path)) for path, kinds_of in kinds.items()}


def _discover_leaf_kinds(dialect: FlattenDialect) -> dict[Path, frozenset[str]]:
    """Every leaf path with the JSON kinds of its values, level by level."""
    leaves: dict[Path, frozenset[str]] = {}
    parents: list[Path] = [()]
    while parents:
        kinds = dialect.child_kinds(parents)
        with_keys = {path[:-1] for path in kinds}
        leaves.update({parent: frozenset() for parent in parents if parent and parent not in with_keys})
        deeper = len(parents[0]) + 1 < MAX_DEPTH
        parents = sorted(path for path, kinds_of in kinds.items() if kinds_of == {"OBJECT"} and deeper)
        leaves.update({path: kinds_of for path, kinds_of in kinds.items() if path not in parents})
    return leaves


def _value_test(kinds: frozenset[str]) -> str | None:
    if kinds == {"VARCHAR"}:
        return TIMESTAMP_TEST
    if kinds and kinds <= INTEGER_KINDS:
        return BIGINT_TEST
    return None


def _view_type(kinds: frozenset[str], every_value_passes: bool | None) -> str:
    if not kinds:
        return "VARCHAR"  # only ever null, or always an empty object: kept, typed once values arrive
    if kinds == {"ARRAY"}:
        return "JSON"
    if kinds == {"BOOLEAN"}:
        return "BOOLEAN"
    if kinds <= INTEGER_KINDS:
        return "BIGINT" if every_value_passes else "VARCHAR"
    if kinds <= NUMBER_KINDS:
        return "DOUBLE"
    if kinds == {"VARCHAR"}:
        return "TIMESTAMP" if every_value_passes else "VARCHAR"
    return "VARCHAR"  # mixed kinds, or an object deeper than MAX_DEPTH


def _assign_names(paths: list[Path], previous_names: dict[Path, str]) -> dict[Path, str]:
    """Known paths keep their names; new ones take their derived name, or the next free `_<n>` after it."""
    names = {path: previous_names[path] for path in paths if path in previous_names}
    taken = {name for name, _ in LINEAGE_COLUMNS} | set(names.values())
    for path in paths:
        if path in names:
            continue
        base = name = column_name_for(path)
        suffix = 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        names[path] = name
        taken.add(name)
    return names


# The CASE casts only what matched: a failing TRY_CAST costs far more than the regex.
_DUCKDB_TESTS: dict[str, Callable[[str], str]] = {
    TIMESTAMP_TEST: lambda text: (f"CASE WHEN regexp_full_match({text}, {sql_literal(ISO_TIMESTAMP)}) "
                                  f"THEN TRY_CAST({text} AS TIMESTAMP) IS NOT NULL ELSE false END"),
    BIGINT_TEST: lambda text: f"TRY_CAST({text} AS BIGINT) IS NOT NULL",
}


class DuckDBFlatten(FlattenDialect):
    """DuckDB's JSON functions, over paths given as RFC 6901 pointers, each pass parsing a payload once
    for all its paths. On 1M generated events (336 MB of JSON; objects at two levels, the root and then
    device, geo, page and cart) the five passes take 2 to 3 s on two cores (5 s when they are shared),
    where `json_group_structure` alone takes 7 to 10 s and leaves the values untested."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def child_kinds(self, parents: list[Path]) -> dict[Path, frozenset[str]]:
        """Two passes: the keys each parent has in any row (`json_keys`), then their kinds (`json_type`)."""
        rows = self.con.execute(
            f"SELECT DISTINCT json_keys(payload, {_pointer_list(parents)}) FROM {SOURCE_TABLE}").fetchall()
        keys: dict[Path, set[str]] = {parent: set() for parent in parents}
        for (keys_per_parent,) in rows:
            for parent, parent_keys in zip(parents, keys_per_parent):
                keys[parent].update(parent_keys or ())
        children = [parent + (key,) for parent in parents for key in sorted(keys[parent])]
        if not children:
            return {}
        kinds = ", ".join(f"list(DISTINCT kinds[{i}]) FILTER (WHERE kinds[{i}] <> 'NULL')"
                          for i in range(1, len(children) + 1))
        row = self.con.execute(
            f"SELECT {kinds} FROM (SELECT json_type(payload, {_pointer_list(children)}) AS kinds FROM {SOURCE_TABLE})"
        ).fetchone()
        return {path: frozenset(found or ()) for path, found in zip(children, row)}

    def every_value_passes(self, tests: dict[Path, str]) -> dict[Path, bool]:
        aggregates = ", ".join(f"bool_and({_DUCKDB_TESTS[test](f'texts[{i}]')}) FILTER (WHERE texts[{i}] IS NOT NULL)"
                               for i, test in enumerate(tests.values(), start=1))
        row = self.con.execute(
            f"SELECT {aggregates} FROM (SELECT json_extract_string(payload, {_pointer_list(list(tests))}) AS texts "
            f"FROM {SOURCE_TABLE})"
        ).fetchone()
        return dict(zip(tests, row))

    def create_sql(self, view_name: str, columns: list[FlatColumn]) -> str:
        select_list = ",\n    ".join(self._select_expression(column) for column in columns)
        return f"CREATE OR REPLACE VIEW {view_name} AS\nSELECT\n    {select_list}\nFROM {SOURCE_TABLE}"

    def _select_expression(self, column: FlatColumn) -> str:
        if column.path is None:
            return quote_ident(column.name)
        text = _text_of(column.path)
        if column.type == "JSON":  # an array, as JSON; a JSON null becomes NULL as in the other columns
            value = f"nullif(payload->{sql_literal(json_pointer(column.path))}, 'null')"
        elif column.type == "TIMESTAMP":
            value = (f"CASE WHEN regexp_matches({text}, {sql_literal(UTC_OFFSET + '$')}) "
                     f"THEN timezone('UTC', CAST({text} AS TIMESTAMPTZ)) ELSE CAST({text} AS TIMESTAMP) END")
        elif column.type == "VARCHAR":
            value = text
        else:
            value = f"CAST({text} AS {column.type})"
        return f"{value} AS {quote_ident(column.name)}"

    def existing_column_paths(self, schema: str) -> dict[Path, str]:
        rows = self.con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ? AND comment IS NOT NULL",
            [schema, VIEW_NAME],
        ).fetchall()
        return {tuple(json.loads(comment)): name for name, comment in rows}

    def replace_view(self, view: FlattenedView) -> None:
        """The view, then its comments, in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {view.schema}")
            self.con.execute(view.create_sql)
            for column in view.columns:
                if column.path is not None:
                    self.con.execute(f"COMMENT ON COLUMN {view.qualified_name}.{quote_ident(column.name)} "
                                     f"IS {sql_literal(json.dumps(column.path))}")
            self.con.execute("COMMIT")
        except duckdb.Error:
            self.con.execute("ROLLBACK")
            raise


def json_pointer(path: Path) -> str:
    """RFC 6901 pointer, which DuckDB's JSON functions accept: exact for keys holding dots or quotes."""
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path)


def _pointer_list(paths: list[Path]) -> str:
    """A SQL list of JSON pointers: DuckDB's JSON functions then parse each payload once for all of them."""
    return "[" + ", ".join(sql_literal(json_pointer(path)) for path in paths) + "]"


def _text_of(path: Path) -> str:
    """SQL for the path's value as text: a string unquoted, anything else as JSON text, null as NULL."""
    return f"payload->>{sql_literal(json_pointer(path))}"
