r"""Load landed files into Bronze exactly once, keeping lineage and every row that cannot be typed.

One loader serves every source in the registry. Each file is loaded in its own transaction:
its good rows into `bronze.<source>`, its bad rows into `bronze.rejects` with the reason, and one
row into `bronze.load_ledger`. Which deliveries load, which are done, duplicates or retried is decided
by `medallion_platform/bronze/ledger.py`, the same for the Snowflake loader: a file delivered again
unchanged, or a retried run, loads nothing twice; a file that failed is tried again.

Records and their number (`_row_number` of a loaded row, `row_number` of a reject: one numbering):
- CSV: a record is a line, or several when a quoted field holds line breaks; its number is the line it
  starts on, the header being line 0 (so the first record is 1, and a reject sits between its
  neighbours). A blank line is no record. A quote left open rejects its own line only.
- JSON lines: the line number (from 1); a blank line is no record.
- JSON array: the element's position (from 1). `.json` and `.jsonl` files are read as whichever of
  the two their content is.
- Parquet: the row's position (from 1).
A text record whose bytes are not UTF-8 is rejected with `raw_record` as DuckDB's BLOB text of its
exact bytes (every byte outside printable ASCII, and `\` and `"`, as `\xNN`): `raw_record::BLOB`
gives the bytes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medallion_platform.bronze.ledger import (
    FileColumns, FileResult, LedgerRow, LoadReport, decide, ledger_history_sql,
)
from medallion_platform.bronze.records import (
    CSV_FIELD, CSV_RECORD, JSON_ARRAY_START, JSON_OBJECT_LINE, MAX_RECORD_BYTES, NOT_JSON, PART_BYTES, PartReader, csv_header,
    csv_multiline, json_array_elements, multiline_table,
)
from medallion_platform.landing import LandedObject, LandingZone, parse_key
from medallion_platform.sources import Source
from medallion_platform.sql_text import quote_ident, sql_literal

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE TABLE IF NOT EXISTS bronze.load_ledger (
    load_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    file_key VARCHAR NOT NULL,
    etag VARCHAR NOT NULL,
    size_bytes BIGINT,
    status VARCHAR NOT NULL,          -- loaded | duplicate | failed
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    duplicate_of VARCHAR,             -- for status duplicate: the key whose content this repeats
    unexpected_columns VARCHAR[],     -- columns the file has that the registry does not know
    missing_columns VARCHAR[],        -- registry columns the file does not have
    error VARCHAR,                    -- for status failed: why the file could not be read
    loaded_at TIMESTAMPTZ NOT NULL,
    file_last_modified TIMESTAMPTZ,   -- with file_key and etag, the delivery this row is about
    attempt INTEGER                   -- 1 for a delivery's first attempt; failed ones are retried
);
ALTER TABLE bronze.load_ledger ADD COLUMN IF NOT EXISTS file_last_modified TIMESTAMPTZ;
ALTER TABLE bronze.load_ledger ADD COLUMN IF NOT EXISTS attempt INTEGER;
CREATE TABLE IF NOT EXISTS bronze.rejects (
    load_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_key VARCHAR NOT NULL,
    row_number BIGINT,                -- the record's number, as _row_number (see the module docstring)
    raw_record VARCHAR,               -- not UTF-8: the bytes as a BLOB literal (raw_record::BLOB)
    reason VARCHAR NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL
);
"""

LINEAGE_COLUMNS = (
    ("_source_file", "VARCHAR"),   # landing key the row came from
    ("_row_number", "BIGINT"),     # the record's number in that file (module docstring), as in rejects
    ("_ingested_at", "TIMESTAMPTZ"),
    ("_load_id", "BIGINT"),        # bronze.load_ledger.load_id; increases with load order
    ("_landing_date", "DATE"),     # the day in the file's key: the Dagster partition it belongs to
    ("_file_last_modified", "TIMESTAMP"),  # when the object landed, UTC: orders versions within a day
)




def ensure_bronze_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(LEDGER_DDL)
    columns = [f"{quote_ident(c.name)} {c.type}" for c in source.columns]
    if source.keep_payload:
        columns.append("payload JSON")
    columns += [f"{name} {type_}" for name, type_ in LINEAGE_COLUMNS]
    con.execute(f"CREATE TABLE IF NOT EXISTS bronze.{source.name} ({', '.join(columns)})")
    for name, type_ in LINEAGE_COLUMNS:  # a table made before a lineage column was added gets it, last
        con.execute(f"ALTER TABLE bronze.{source.name} ADD COLUMN IF NOT EXISTS {name} {type_}")


def load_source(
    con: duckdb.DuckDBPyConnection, landing: LandingZone, source: Source,
    objects: Iterable[LandedObject] | None = None, part_bytes: int = PART_BYTES,
) -> LoadReport:
    """Load every object under the source's prefix (or the given ones) not yet in the ledger, reading
    text files about `part_bytes` at a time."""
    ensure_bronze_tables(con, source)
    landing.configure_duckdb(con)
    if objects is None:
        objects = landing.list_objects(prefix=f"{source.name}/")
    report = LoadReport(source.name)
    for obj in objects:
        report.files.append(_load_object(con, landing, source, obj, part_bytes))
    return report


def _load_object(con, landing: LandingZone, source: Source, obj: LandedObject, part_bytes: int) -> FileResult:
    history = [LedgerRow(*row) for row in con.execute(
        ledger_history_sql("bronze.load_ledger", "?"), [source.name, obj.key, obj.etag]).fetchall()]
    decision = decide(obj, history)
    if decision.action in ("already_loaded", "gave_up"):
        return FileResult(obj.key, decision.action, detail=decision.detail)
    load_id = _next_load_id(con)
    if decision.action == "duplicate":
        _record(con, load_id, source, obj, "duplicate", duplicate_of=decision.duplicate_of)
        return FileResult(obj.key, "duplicate", detail=decision.detail)

    in_transaction = False
    try:
        parse_key(obj.key)
        loaded = rejected = 0
        columns = FileColumns()
        with landing.open_object(obj.key) as stream:
            parts = _staged_parts(con, landing, source, obj, stream, part_bytes)
            if source.format == "parquet" or obj.size <= part_bytes:  # one part: straight into Bronze
                con.execute("BEGIN TRANSACTION")
                in_transaction = True
                for columns in parts:
                    part_loaded, part_rejected = _insert_checked(con, source, obj, load_id)
                    loaded, rejected = loaded + part_loaded, rejected + part_rejected
            else:
                columns = _stage_into_loading_table(con, source, obj, load_id, parts)
                con.execute("BEGIN TRANSACTION")
                in_transaction = True
                loaded, rejected = _move_loading_table(con, source)
        _record(con, load_id, source, obj, "loaded", loaded, rejected, columns=columns, attempt=decision.attempt)
        con.execute("COMMIT")
        in_transaction = False
        return FileResult(obj.key, "loaded", loaded, rejected, detail=str(columns) or None, columns=columns)
    except (duckdb.Error, ValueError, UnicodeDecodeError, OSError) as error:
        if in_transaction:
            con.execute("ROLLBACK")
        message = f"{obj.key}: {type(error).__name__}: {error}".splitlines()[0]
        _record(con, load_id, source, obj, "failed", error=message, attempt=decision.attempt)
        return FileResult(obj.key, "failed", detail=message)
    finally:
        _drop_staging(con)


def _next_load_id(con) -> int:
    """One more than the ledger's highest: DuckDB has one writer, and each id drawn here is recorded in
    the ledger before the next is drawn. Not a sequence: after a process is killed, DuckDB replays its
    committed rows from the WAL but not a sequence's position, and would hand out ids again."""
    return con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM bronze.load_ledger").fetchone()[0]


def _record(con, load_id, source, obj, status, loaded=0, rejected=0, duplicate_of=None,
            columns: FileColumns = FileColumns(), error=None, attempt=1) -> None:
    con.execute(
        "INSERT INTO bronze.load_ledger (load_id, source, file_key, etag, size_bytes, status, rows_loaded, "
        "rows_rejected, duplicate_of, unexpected_columns, missing_columns, error, loaded_at, "
        "file_last_modified, attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?)",
        [load_id, source.name, obj.key, obj.etag, obj.size, status, loaded, rejected, duplicate_of,
         list(columns.unexpected) or None, list(columns.missing) or None, error, obj.last_modified, attempt],
    )


# --- staging: each part of a file becomes the view `_stage(_row_number, _raw, _record_error, <columns>)` ---

def _staged_parts(con, landing: LandingZone, source: Source, obj: LandedObject,
                  stream: BinaryIO, part_bytes: int) -> Iterator[FileColumns]:
    """Stage the file a part at a time (medallion_platform/bronze/records.py); with each part staged,
    yield how the file's columns differ from the registry's, as far as read."""
    if source.format == "parquet":
        yield _stage_parquet(con, source, sql_literal(landing.duckdb_uri(obj.key)))
    elif source.format == "csv":
        yield from _staged_csv(con, source, PartReader(stream, first_number=0, part_bytes=part_bytes))
    elif source.format in ("json", "jsonl"):
        yield from _staged_json(con, source, PartReader(stream, first_number=1, part_bytes=part_bytes))
    else:
        raise ValueError(f"source {source.name!r}: unsupported format {source.format!r}")


def _drop_staging(con) -> None:
    for name in ("_checked", "_stage", "_parquet"):
        con.execute(f"DROP VIEW IF EXISTS {name}")
    con.execute("DROP TABLE IF EXISTS _raw_in")


def _missing_columns_error(columns: FileColumns) -> str:
    """For tabular files a missing column makes every row unusable: each is rejected with this reason."""
    if not columns.missing:
        return "NULL::VARCHAR"
    return sql_literal(f"file lacks column(s) {', '.join(columns.missing)}")


@contextmanager
def _registered(con, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


INVALID_UTF8 = "record is not UTF-8 (raw_record is its bytes as a BLOB literal)"

# `_records(n, text, bad)` over a registered `_record_bytes(n, b, k)`: record n's first k bytes as text,
# or, when they are not UTF-8, NULL and `bad`, the bytes as DuckDB's BLOB text (see INVALID_UTF8).
RECORDS = ("(SELECT n, text, CASE WHEN text IS NULL THEN b[1:k]::VARCHAR END AS bad "
           "FROM (SELECT n, b, k, try(decode(b[1:k])) AS text FROM _record_bytes))")


def _staged_csv(con, source, reader: PartReader) -> Iterator[FileColumns]:
    """Record n is the one starting on line n, the header being line 0; blank lines are no record. An
    empty field is NULL, quoted or not."""
    header: list[str] | None = None
    for lines in reader.parts():
        if header is None:
            header = csv_header(lines.data)
            width, columns = len(header), FileColumns.compare(source, header)
        multiline = csv_multiline(lines, width)
        rows = multiline.rows
        if multiline.undecided is not None and not reader.at_end and \
                len(lines.data) - lines.offsets[multiline.undecided] < MAX_RECORD_BYTES:
            lines, rows = reader.give_back(lines, multiline.undecided), rows[:-1]
        with _registered(con, "_record_bytes", lines.to_arrow()), \
                _registered(con, "_multiline", multiline_table(rows)):
            _stage_csv_part(con, source, header, columns)
            yield columns
    if header is None:
        csv_header(b"")


def _stage_csv_part(con, source, header: list[str], columns: FileColumns) -> None:
    width = len(header)
    fields = (
        "CASE WHEN NOT contains(_text, '\"') THEN string_split(_text, ',') "
        f"WHEN regexp_full_match(',' || _text, {sql_literal(CSV_RECORD.pattern)}) THEN list_transform("
        f"regexp_extract_all(',' || _text, {sql_literal(CSV_FIELD)}, 1), "
        "f -> CASE WHEN starts_with(f, '\"') THEN replace(f[2:-2], '\"\"', '\"') ELSE f END) END"
    )
    by_position = ", ".join(f"NULLIF(_fields[{k}], '') AS _f{k}" for k in range(1, width + 1))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _raw_in AS SELECT _row_number, _text, _bad, {by_position}, "
        f"CASE WHEN _bad IS NOT NULL THEN {sql_literal(INVALID_UTF8)} "
        "WHEN _error IS NOT NULL THEN _error "
        "WHEN _fields IS NULL THEN 'unparseable CSV line: BAD QUOTE (a quote inside an unquoted field, "
        "or text after a closing quote)' "
        f"WHEN len(_fields) > {width} THEN 'unparseable CSV line: TOO MANY COLUMNS (' || len(_fields) || "
        f"' fields, the header has {width})' "
        f"WHEN len(_fields) < {width} THEN 'unparseable CSV line: MISSING COLUMNS (' || len(_fields) || "
        f"' fields, the header has {width})' END AS _parse_error "
        f"FROM (SELECT *, CASE WHEN _bad IS NULL AND _error IS NULL THEN {fields} END AS _fields FROM ("
        "  SELECT l.n AS _row_number, coalesce(m.text, l.text) AS _text, l.bad AS _bad, m.error AS _error "
        f"  FROM {RECORDS} l LEFT JOIN _multiline m USING (n) "
        "  WHERE l.n > 0 AND NOT coalesce(m.continuation, false) AND (l.bad IS NOT NULL OR l.text <> '')))"
    )
    picked = [f"{'NULL' if c in columns.missing else f'_f{header.index(c) + 1}'}::VARCHAR AS {quote_ident(c)}"
              for c in source.column_names]
    raw = "to_json(struct_pack(" + ", ".join(f"{quote_ident(h)} := _f{k}" for k, h in enumerate(header, 1)) + "))::VARCHAR"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT _row_number, CASE WHEN _parse_error IS NULL THEN {raw} "
        "ELSE coalesce(_bad, _text) END AS _raw, "
        f"coalesce(_parse_error, {_missing_columns_error(columns)}) AS _record_error, {', '.join(picked)} FROM _raw_in"
    )


def _staged_json(con, source, reader: PartReader) -> Iterator[FileColumns]:
    """A `.json` or `.jsonl` file is read by its content, whatever its key says: one JSON array if it
    starts with [ (element n is record n; a truncated array fails the file; read whole), else JSON lines
    (the record on line n is record n; blank lines are no record). A file that is neither fails. JSON
    records may omit keys (read as NULL), so a column is missing only if no record has it."""
    keys: set[str] = set()
    object_lines = False
    for lines in reader.parts():
        if lines.first_number == 1 and JSON_ARRAY_START.match(lines.data):
            elements = json_array_elements(lines.data + reader.rest())
            records = pa.table({"n": np.arange(1, len(elements) + 1), "b": elements,
                                "k": pc.binary_length(elements)})
            invalid, object_lines = "'record is not a JSON object'", True
        else:
            object_lines = object_lines or bool(JSON_OBJECT_LINE.search(lines.data))
            records, invalid = lines.to_arrow(), "'line is not a JSON object'"
        with _registered(con, "_record_bytes", records):
            keys |= _stage_json_part(con, source, invalid)
            yield FileColumns.compare(source, sorted(keys))
    if not object_lines:
        raise ValueError(NOT_JSON)


def _stage_json_part(con, source, invalid: str) -> set[str]:
    """Stage one part; return the keys its JSON objects have."""
    paths = "[" + ", ".join(sql_literal("$." + json.dumps(c)) for c in source.column_names) + "]"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _raw_in AS SELECT _row_number, line, bad, _ok, "
        f"CASE WHEN _ok THEN json_extract_string(line, {paths}) END AS _values FROM ("
        "  SELECT n AS _row_number, coalesce(text, bad) AS line, bad, "
        "  coalesce(try(json_type(text)) = 'OBJECT', false) AS _ok "
        f"  FROM {RECORDS} WHERE bad IS NOT NULL OR trim(text) <> '')"
    )
    picked = [f"_values[{k}] AS {quote_ident(c)}" for k, c in enumerate(source.column_names, 1)]
    payload = ", CASE WHEN _ok THEN line::JSON END AS payload" if source.keep_payload else ""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _stage AS SELECT _row_number, line AS _raw, "
        f"CASE WHEN bad IS NOT NULL THEN {sql_literal(INVALID_UTF8)} "
        f"WHEN NOT _ok THEN {invalid} END AS _record_error, {', '.join(picked)}{payload} FROM _raw_in"
    )
    return {k for (k,) in con.execute("SELECT DISTINCT unnest(json_keys(line)) FROM _raw_in WHERE _ok").fetchall()}


def _stage_parquet(con, source, uri) -> FileColumns:
    """Read where it lies, by DuckDB's reader, as often as staging needs (at most twice)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _parquet AS SELECT * FROM read_parquet({uri}, file_row_number=true)")
    present = [r[0] for r in con.execute("DESCRIBE _parquet").fetchall() if r[0] != "file_row_number"]
    columns = FileColumns.compare(source, present)
    picked = [f"{'NULL' if c in columns.missing else quote_ident(c)} AS {quote_ident(c)}" for c in source.column_names]
    raw = "to_json(struct_pack(" + ", ".join(f"{quote_ident(h)} := {quote_ident(h)}" for h in present) + "))::VARCHAR"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT file_row_number + 1 AS _row_number, {raw} AS _raw, "
        f"{_missing_columns_error(columns)} AS _record_error, {', '.join(picked)} FROM _parquet"
    )
    return columns


def _check(con, source: Source, obj: LandedObject, load_id: int) -> str:
    """Type the staged part as the view `_checked`, with `_reason` (every reason that applies, NULL for a
    good row) and `_good`; return the select list of a Bronze row from it."""
    typed, problems, good = [], ["_record_error"], ["_record_error IS NULL"]
    for column in source.columns:
        ident = quote_ident(column.name)
        if column.type == "VARCHAR":
            typed.append(f"{ident}::VARCHAR AS {ident}")
            continue
        typed.append(f"TRY_CAST({ident} AS {column.type}) AS {ident}")
        fails = f"{ident} IS NOT NULL AND TRY_CAST({ident} AS {column.type}) IS NULL"
        good.append(f"NOT ({fails})")
        problems.append(f"CASE WHEN {fails} THEN {sql_literal(f'{column.name} is not {column.type} (')} || {ident}::VARCHAR || ')' END")
    # `_good` says what `_reason IS NULL` says, without building the reason's text for every row
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _checked AS SELECT *, {' AND '.join(good)} AS _good, "
        f"NULLIF(concat_ws('; ', {', '.join(problems)}), '') AS _reason FROM _stage"
    )
    _, day, _ = parse_key(obj.key)
    payload = ", payload" if source.keep_payload else ""
    last_modified = sql_literal(obj.last_modified_utc.isoformat())
    return (f"{', '.join(typed)}{payload}, {sql_literal(obj.key)} AS _source_file, _row_number, now() AS _ingested_at, "
            f"{load_id} AS _load_id, DATE {sql_literal(day)} AS _landing_date, "
            f"TIMESTAMP {last_modified} AS _file_last_modified")


def _insert_checked(con, source: Source, obj: LandedObject, load_id: int) -> tuple[int, int]:
    """Good rows of the staged part to Bronze, the rest to rejects."""
    row = _check(con, source, obj, load_id)
    loaded = con.execute(f"INSERT INTO bronze.{source.name} SELECT {row} FROM _checked WHERE _good").fetchone()[0]
    if loaded == con.execute("SELECT count(*) FROM _stage").fetchone()[0]:
        return loaded, 0  # nothing to reject: spare the second pass over the part
    rejected = con.execute(
        f"INSERT INTO bronze.rejects SELECT {load_id}, {sql_literal(source.name)}, {sql_literal(obj.key)}, "
        "_row_number, _raw, _reason, now() FROM _checked WHERE NOT _good ORDER BY _row_number"
    ).fetchone()[0]
    return loaded, rejected


# A file of several parts is staged a part at a time into this table, each part committed (DuckDB holds
# the rows one transaction appends in memory until it commits), then moved into Bronze and rejects in one
# transaction of two statements. The table only exists during such a load; one a killed load left
# behind is replaced by the next.
def _loading_table(source: Source) -> str:
    return f"bronze._loading_{source.name}"


def _stage_into_loading_table(con, source: Source, obj: LandedObject, load_id: int,
                              parts: Iterator[FileColumns]) -> FileColumns:
    loading = _loading_table(source)
    con.execute(f"CREATE OR REPLACE TABLE {loading} AS SELECT *, NULL::VARCHAR AS _reason, NULL::VARCHAR AS _raw "
                f"FROM bronze.{source.name} LIMIT 0")
    columns = FileColumns()
    for columns in parts:
        row = _check(con, source, obj, load_id)
        con.execute(f"INSERT INTO {loading} SELECT {row}, _reason, CASE WHEN NOT _good THEN _raw END FROM _checked")
    return columns


def _move_loading_table(con, source: Source) -> tuple[int, int]:
    loading = _loading_table(source)
    loaded = con.execute(
        f"INSERT INTO bronze.{source.name} SELECT * EXCLUDE (_reason, _raw) FROM {loading} WHERE _reason IS NULL"
    ).fetchone()[0]
    rejected = con.execute(
        f"INSERT INTO bronze.rejects SELECT _load_id, {sql_literal(source.name)}, _source_file, _row_number, _raw, "
        f"_reason, now() FROM {loading} WHERE _reason IS NOT NULL ORDER BY _row_number"
    ).fetchone()[0]
    con.execute(f"DROP TABLE {loading}")
    return loaded, rejected
