"""The web events' JSON payload as a flat, typed view whose columns are discovered from the data.

What a Snowflake "JSON-to-view" stored procedure does, as code: no column list is written by hand, so
a path that a new feed version adds becomes a column the next time the view is generated.

Discovery reads every row of `bronze.events` (no sample, so a path that only a few rows carry is not
missed), one nesting level at a time: a pass lists the keys of the objects found so far (`json_keys`),
a second takes the JSON kinds of those keys' values (`json_type`); a last pass tests the values of the
string and integer leaves. Each pass parses a payload once for all its paths. On 1M generated events
(336 MB of JSON; objects at two levels, the root and then device, geo, page and cart) the five passes
take 2 to 3 s on two cores (5 s when they are shared), where `json_group_structure` alone takes 7 to
10 s and leaves the values untested. The rules:

- Nested objects are flattened to one column per leaf; arrays are kept whole as JSON (exploding them
  would change the view's grain from one row per event).
- Types: JSON integers -> BIGINT (if one does not fit, VARCHAR); numbers with a fraction, or integers
  mixed with them -> DOUBLE; true/false -> BOOLEAN; strings -> VARCHAR, or TIMESTAMP when every value is
  an ISO 8601 date-time with seconds (`2026-11-20T10:00:00.123Z`; an offset is converted to UTC, no
  offset means UTC). Anything else is VARCHAR: mixed kinds (a number in one row, a string or an object
  in another; such a value is shown as its JSON text), an object that is always empty, and a path that
  is only ever null (kept, so the column exists before its first value does).
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
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from medallion_platform.bronze.loader import LINEAGE_COLUMNS, quote_ident, sql_literal

SOURCE_TABLE = "bronze.events"
VIEW_NAME = "events_flattened"

ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?"
UTC_OFFSET_AT_END = r"(Z|[+-]\d{2}(:?\d{2})?)$"

# json_type names a value BIGINT (a negative integer), UBIGINT, DOUBLE, BOOLEAN, VARCHAR, OBJECT, ARRAY or
# NULL (a JSON null; a key that is absent gives SQL NULL).
INTEGER_KINDS = frozenset({"BIGINT", "UBIGINT"})
NUMBER_KINDS = INTEGER_KINDS | {"DOUBLE"}

Path = tuple[str, ...]


@dataclass(frozen=True)
class FlatColumn:
    name: str
    type: str
    path: Path | None  # keys from the payload's root; None for a lineage column

    def select_expression(self) -> str:
        if self.path is None:
            return quote_ident(self.name)
        text = _text_of(self.path)
        if self.type == "JSON":  # an array, as JSON; a JSON null becomes NULL as in the other columns
            value = f"nullif(payload->{sql_literal(json_pointer(self.path))}, 'null')"
        elif self.type == "TIMESTAMP":
            value = (f"CASE WHEN regexp_matches({text}, {sql_literal(UTC_OFFSET_AT_END)}) "
                     f"THEN timezone('UTC', CAST({text} AS TIMESTAMPTZ)) ELSE CAST({text} AS TIMESTAMP) END")
        elif self.type == "VARCHAR":
            value = text
        else:
            value = f"CAST({text} AS {self.type})"
        return f"{value} AS {quote_ident(self.name)}"


@dataclass(frozen=True)
class FlattenedView:
    schema: str
    columns: tuple[FlatColumn, ...]  # payload columns in path order, then the lineage columns
    new_paths: tuple[Path, ...]      # paths the existing view (if any) has no column for

    @property
    def qualified_name(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(VIEW_NAME)}"

    @property
    def create_sql(self) -> str:
        select_list = ",\n    ".join(column.select_expression() for column in self.columns)
        return f"CREATE OR REPLACE VIEW {self.qualified_name} AS\nSELECT\n    {select_list}\nFROM {SOURCE_TABLE}"

    @property
    def comment_sql(self) -> list[str]:
        return [f"COMMENT ON COLUMN {self.qualified_name}.{quote_ident(c.name)} IS {sql_literal(json.dumps(c.path))}"
                for c in self.columns if c.path is not None]


def json_pointer(path: Path) -> str:
    """RFC 6901 pointer, which DuckDB's JSON functions accept: exact for keys holding dots or quotes."""
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path)


def dotted_path(path: Path) -> str:
    return ".".join(path)


def column_name_for(path: Path) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", "_".join(path).lower())
    return name if name and not name[0].isdigit() else "_" + name


def generate_flattened_view(con: duckdb.DuckDBPyConnection, schema: str) -> FlattenedView:
    """Discover the payload's paths and types and build the view over them; nothing is executed."""
    previous_names = existing_column_paths(con, schema)
    types = _discover_leaf_types(con)
    paths = sorted(types)
    names = _assign_names(paths, previous_names)
    payload_columns = [FlatColumn(names[path], types[path], path) for path in paths]
    lineage_columns = [FlatColumn(name, type_, None) for name, type_ in LINEAGE_COLUMNS]
    return FlattenedView(
        schema=schema,
        columns=tuple(payload_columns + lineage_columns),
        new_paths=tuple(path for path in paths if path not in previous_names),
    )


def create_flattened_view(con: duckdb.DuckDBPyConnection, view: FlattenedView) -> None:
    """Replace the view and its path comments in one transaction, so no reader sees a view without them."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(view.schema)}")
        con.execute(view.create_sql)
        for statement in view.comment_sql:
            con.execute(statement)
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise


def existing_column_paths(con: duckdb.DuckDBPyConnection, schema: str) -> dict[Path, str]:
    """Path -> column name of the view as it is now (empty if there is none), read from the comments."""
    rows = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? AND comment IS NOT NULL",
        [schema, VIEW_NAME],
    ).fetchall()
    return {tuple(json.loads(comment)): name for name, comment in rows}


def _discover_leaf_types(con) -> dict[Path, str]:
    """Every leaf path of the payload with its view type."""
    kinds = _discover_leaf_kinds(con)
    tests = {path: test for path, kinds_of in kinds.items() if (test := _value_test(kinds_of))}
    every_value_passes = _check_values(con, tests)
    return {path: _view_type(kinds_of, every_value_passes.get(path)) for path, kinds_of in kinds.items()}


def _discover_leaf_kinds(con) -> dict[Path, frozenset[str]]:
    """Every leaf path with the JSON kinds of its values (JSON null left out), level by level."""
    leaves: dict[Path, frozenset[str]] = {}
    parents: list[Path] = [()]
    while parents:
        keys_of = _keys_of(con, parents)
        always_empty = [parent for parent in parents if parent and not keys_of[parent]]
        leaves.update({parent: frozenset() for parent in always_empty})
        children = [parent + (key,) for parent in parents for key in sorted(keys_of[parent])]
        kinds = _kinds_of(con, children) if children else {}
        parents = [path for path in children if kinds[path] == {"OBJECT"}]
        leaves.update({path: kinds[path] for path in children if kinds[path] != {"OBJECT"}})
    return leaves


def _keys_of(con, parents: list[Path]) -> dict[Path, set[str]]:
    """The keys each parent object has in any row."""
    rows = con.execute(
        f"SELECT DISTINCT json_keys(payload, {_pointer_list(parents)}) FROM {SOURCE_TABLE}").fetchall()
    keys: dict[Path, set[str]] = {parent: set() for parent in parents}
    for (keys_per_parent,) in rows:
        for parent, parent_keys in zip(parents, keys_per_parent):
            keys[parent].update(parent_keys or ())
    return keys


def _kinds_of(con, paths: list[Path]) -> dict[Path, frozenset[str]]:
    kinds = ", ".join(f"list(DISTINCT kinds[{i}]) FILTER (WHERE kinds[{i}] <> 'NULL')"
                      for i in range(1, len(paths) + 1))
    row = con.execute(
        f"SELECT {kinds} FROM (SELECT json_type(payload, {_pointer_list(paths)}) AS kinds FROM {SOURCE_TABLE})"
    ).fetchone()
    return {path: frozenset(found or ()) for path, found in zip(paths, row)}


def _value_test(kinds: frozenset[str]) -> Callable[[str], str] | None:
    """For kinds whose type depends on the values: SQL that tests one value, given its text."""
    if kinds == {"VARCHAR"}:
        # The CASE casts only what matched: a failing TRY_CAST costs far more than the regex.
        return lambda text: (f"CASE WHEN regexp_full_match({text}, {sql_literal(ISO_TIMESTAMP)}) "
                             f"THEN TRY_CAST({text} AS TIMESTAMP) IS NOT NULL ELSE false END")
    if kinds and kinds <= INTEGER_KINDS:
        return lambda text: f"TRY_CAST({text} AS BIGINT) IS NOT NULL"
    return None


def _check_values(con, tests: dict[Path, Callable[[str], str]]) -> dict[Path, bool]:
    """Whether every non-null value of each path passes its test, in one pass over the table."""
    if not tests:
        return {}
    aggregates = ", ".join(f"bool_and({test(f'texts[{i}]')}) FILTER (WHERE texts[{i}] IS NOT NULL)"
                           for i, test in enumerate(tests.values(), start=1))
    row = con.execute(
        f"SELECT {aggregates} FROM (SELECT json_extract_string(payload, {_pointer_list(list(tests))}) AS texts "
        f"FROM {SOURCE_TABLE})"
    ).fetchone()
    return dict(zip(tests, row))


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
    return "VARCHAR"  # mixed kinds


def _pointer_list(paths: list[Path]) -> str:
    """A SQL list of JSON pointers: DuckDB's JSON functions then parse each payload once for all of them."""
    return "[" + ", ".join(sql_literal(json_pointer(path)) for path in paths) + "]"


def _text_of(path: Path) -> str:
    """SQL for the path's value as text: a string unquoted, anything else as JSON text, null as NULL."""
    return f"payload->>{sql_literal(json_pointer(path))}"


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
