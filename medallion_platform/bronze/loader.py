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

import csv
import json
import re
from contextlib import contextmanager
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa

from medallion_platform.bronze.ledger import (
    FileColumns, FileResult, LedgerRow, LoadReport, decide, ledger_history_sql,
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
    objects: list[LandedObject] | None = None,
) -> LoadReport:
    """Load every object under the source's prefix (or the given ones) not yet in the ledger."""
    ensure_bronze_tables(con, source)
    landing.configure_duckdb(con)
    if objects is None:
        objects = landing.list_objects(prefix=f"{source.name}/")
    report = LoadReport(source.name)
    for obj in objects:
        report.files.append(_load_object(con, landing, source, obj))
    return report


def _load_object(con, landing: LandingZone, source: Source, obj: LandedObject) -> FileResult:
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
        # Stage outside the transaction: temp-table rowids are only final once committed.
        columns = _stage(con, landing, source, obj)
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        loaded, rejected = _insert_staged(con, source, obj, load_id)
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
        for name in ("_checked", "_stage"):
            con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in ("_raw_in",):
            con.execute(f"DROP TABLE IF EXISTS {name}")


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


# --- staging: every format becomes the view `_stage(_row_number, _raw, _record_error, <columns>)` ---

def _stage(con, landing: LandingZone, source: Source, obj: LandedObject) -> FileColumns:
    """Read the file into temp objects; return how its columns differ from the registry's."""
    if source.format == "parquet":
        return _stage_parquet(con, source, sql_literal(landing.duckdb_uri(obj.key)))
    if source.format == "csv":
        return _stage_csv(con, source, landing.read_object(obj.key))
    if source.format in ("json", "jsonl"):
        return _stage_json(con, source, landing.read_object(obj.key))
    raise ValueError(f"source {source.name!r}: unsupported format {source.format!r}")


def _missing_columns_error(columns: FileColumns) -> str:
    """For tabular files a missing column makes every row unusable: each is rejected with this reason."""
    if not columns.missing:
        return "NULL::VARCHAR"
    return sql_literal(f"file lacks column(s) {', '.join(columns.missing)}")


# --- text records: numbered and split here, so a broken one is rejected alone and keeps its bytes ---

def _split_lines(data: bytes) -> pa.LargeBinaryArray:
    """The file's lines, each with its line break, as one Arrow array over the bytes themselves (no
    copy, no Python object per line): newlines are found a chunk at a time, which keeps the
    temporaries small."""
    buffer, chunk = np.frombuffer(data, np.uint8), 1 << 24
    breaks = [np.flatnonzero(buffer[at:at + chunk] == 10) + at for at in range(0, len(buffer), chunk)]
    offsets = np.concatenate([[0], *(b + 1 for b in breaks), [len(buffer)]]).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(offsets) - 1,
                                            [None, pa.py_buffer(offsets), pa.py_buffer(data)])


@contextmanager
def _registered(con, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


@contextmanager
def _records_table(con, records: pa.Array, first_number: int) -> Iterator[None]:
    """`_lines(n, text, bad)` while staging: record n's text without its line break (LF or CRLF), or,
    when its bytes are not UTF-8, NULL and `bad`, the bytes as DuckDB's BLOB text (see INVALID_UTF8)."""
    numbered = pa.table({"n": np.arange(first_number, first_number + len(records)), "b": records})
    with _registered(con, "_record_bytes", numbered):
        con.execute(
            "CREATE TEMP TABLE _lines AS SELECT n, rtrim(text, chr(13) || chr(10)) AS text, "
            "CASE WHEN text IS NULL THEN regexp_replace(b::VARCHAR, '(\\\\x0D)?\\\\x0A$', '') END AS bad "
            "FROM (SELECT n, b, try(decode(b)) AS text FROM _record_bytes)")
    try:
        yield
    finally:
        con.execute("DROP TABLE _lines")


INVALID_UTF8 = "record is not UTF-8 (raw_record is its bytes as a BLOB literal)"

# One CSV field, after the comma that ends the field before it (the record is read with a comma put in
# front). A quoted field doubles its quotes and may hold commas and line breaks; an unquoted one has no
# quote. The same expressions split records in DuckDB (RE2) and check a multi-line record here.
CSV_FIELD = r',("(?:[^"]|"")*"|[^,"]*)'
CSV_RECORD = re.compile(f"(?:{CSV_FIELD})+")


def _csv_fields(text: str) -> int | None:
    """How many fields the text has as one CSV record, or None if it is not one."""
    if not CSV_RECORD.fullmatch("," + text):
        return None
    return len(re.findall(CSV_FIELD, "," + text))


def _csv_multiline(con, width: int) -> pa.Table:
    """A line with an odd number of quotes opens a quoted field. With the lines up to the next such line
    it is one record, if that is a CSV record of the header's width; otherwise its quote is never closed
    and the line alone is rejected, so the records after it still load. One row per line decided here."""
    odd = [n for (n,) in con.execute(
        "SELECT n FROM _lines WHERE n > 0 AND contains(text, '\"') "
        "AND (length(text) - length(replace(text, '\"', ''))) % 2 = 1 ORDER BY n"
    ).fetchall()]
    rows: list[tuple[int, str | None, str | None, bool]] = []  # (n, record text, error, continuation)
    joined_to = 0
    for first, last in zip(odd, odd[1:] + [None]):
        if first <= joined_to:
            continue
        if last is not None:
            texts = [t for (t,) in con.execute(
                "SELECT text FROM _lines WHERE n BETWEEN ? AND ? ORDER BY n", [first, last]).fetchall()]
            if None not in texts and _csv_fields("\n".join(texts)) == width:
                rows.append((first, "\n".join(texts), None, False))
                rows += [(n, None, None, True) for n in range(first + 1, last + 1)]
                joined_to = last
                continue
        rows.append((first, None, "unparseable CSV line: UNTERMINATED QUOTE", False))
    names = ("n", "text", "error", "continuation")
    return pa.table({name: pa.array([row[i] for row in rows], type_)
                     for i, (name, type_) in enumerate(zip(names, (pa.int64(), pa.string(), pa.string(), pa.bool_())))})


def csv_header(data: bytes) -> list[str]:
    """The header row of a CSV file (its first line), or ValueError if it has none or repeats a name."""
    end = data.find(b"\n")
    first_line = data[:end if end >= 0 else len(data)].decode("utf-8-sig", errors="replace").rstrip("\r")
    header = next(csv.reader([first_line]), [])
    if not header:
        raise ValueError("CSV file is empty: no header row")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ValueError(f"CSV header repeats column(s) {', '.join(duplicated)}")
    return header


def _stage_csv(con, source, data: bytes) -> FileColumns:
    """Record n is the one starting on line n, the header being line 0; blank lines are no record. An
    empty field is NULL, quoted or not."""
    header = csv_header(data)
    width = len(header)
    with _records_table(con, _split_lines(data), first_number=0), \
            _registered(con, "_multiline", _csv_multiline(con, width)):
        fields = (
            "CASE WHEN NOT contains(_text, '\"') THEN string_split(_text, ',') "
            f"WHEN regexp_full_match(',' || _text, {sql_literal(CSV_RECORD.pattern)}) THEN list_transform("
            f"regexp_extract_all(',' || _text, {sql_literal(CSV_FIELD)}, 1), "
            "f -> CASE WHEN starts_with(f, '\"') THEN replace(f[2:-2], '\"\"', '\"') ELSE f END) END"
        )
        by_position = ", ".join(f"NULLIF(_fields[{k}], '') AS _f{k}" for k in range(1, width + 1))
        con.execute(
            f"CREATE TEMP TABLE _raw_in AS SELECT _row_number, _text, _bad, {by_position}, "
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
            "  FROM _lines l LEFT JOIN _multiline m USING (n) "
            "  WHERE l.n > 0 AND NOT coalesce(m.continuation, false) AND (l.bad IS NOT NULL OR l.text <> '')))"
        )
    columns = FileColumns.compare(source, header)
    picked = [f"{'NULL' if c in columns.missing else f'_f{header.index(c) + 1}'}::VARCHAR AS {quote_ident(c)}"
              for c in source.column_names]
    raw = "to_json(struct_pack(" + ", ".join(f"{quote_ident(h)} := _f{k}" for k, h in enumerate(header, 1)) + "))::VARCHAR"
    con.execute(
        f"CREATE TEMP VIEW _stage AS SELECT _row_number, CASE WHEN _parse_error IS NULL THEN {raw} "
        "ELSE coalesce(_bad, _text) END AS _raw, "
        f"coalesce(_parse_error, {_missing_columns_error(columns)}) AS _record_error, {', '.join(picked)} FROM _raw_in"
    )
    return columns


NOT_JSON = "neither a JSON array nor JSON lines: it does not start with [ and no line starts with {"


def _json_array_elements(data: bytes) -> list[bytes]:
    """Each element's bytes, the file being one JSON array, or ValueError saying why it is not. Bytes
    that are not UTF-8 are carried through (surrogateescape), so such an element is rejected alone."""
    text = data.decode("utf-8", errors="surrogateescape")
    decoder, blank = json.JSONDecoder(), re.compile(r"[ \t\r\n]*")
    at = blank.match(text, text.index("[") + 1).end()
    elements: list[bytes] = []
    try:
        while not text.startswith("]", at) or elements:
            _, end = decoder.raw_decode(text, at)
            elements.append(text[at:end].encode("utf-8", errors="surrogateescape"))
            at = blank.match(text, end).end()
            if text.startswith(",", at):
                at = blank.match(text, at + 1).end()
            elif text.startswith("]", at):
                break
            else:
                raise ValueError(f"expected , or ] at character {at}")
    except ValueError as error:
        raise ValueError(f"not one JSON array: {str(error).splitlines()[0]}") from None
    if blank.match(text, at + 1).end() != len(text):
        raise ValueError(f"not one JSON array: text after its end at character {at + 1}")
    return elements


def _stage_json(con, source, data: bytes) -> FileColumns:
    """A `.json` or `.jsonl` file is read by its content, whatever its key says: one JSON array if it
    starts with [ (element n is record n; a truncated array fails the file), else JSON lines (the
    record on line n is record n; blank lines are no record). A file that is neither fails. JSON
    records may omit keys (read as NULL), so a column is missing only if no record has it."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if re.match(rb"[ \t\r\n]*\[", data):
        records, invalid = pa.array(_json_array_elements(data), pa.large_binary()), "'record is not a JSON object'"
    elif re.search(rb"(?m)^[ \t]*\{", data):
        records, invalid = _split_lines(data), "'line is not a JSON object'"
    else:
        raise ValueError(NOT_JSON)
    with _records_table(con, records, first_number=1):
        con.execute(
            "CREATE TEMP TABLE _raw_in AS SELECT n AS _row_number, coalesce(text, bad) AS line, bad, "
            "CASE WHEN json_valid(text) THEN json_type(text) = 'OBJECT' ELSE false END AS _ok "
            "FROM _lines WHERE bad IS NOT NULL OR trim(text) <> ''"
        )
    picked = [f"CASE WHEN _ok THEN line->>{sql_literal(c)} END AS {quote_ident(c)}" for c in source.column_names]
    payload = ", CASE WHEN _ok THEN line::JSON END AS payload" if source.keep_payload else ""
    con.execute(
        "CREATE TEMP VIEW _stage AS SELECT _row_number, line AS _raw, "
        f"CASE WHEN bad IS NOT NULL THEN {sql_literal(INVALID_UTF8)} "
        f"WHEN NOT _ok THEN {invalid} END AS _record_error, {', '.join(picked)}{payload} FROM _raw_in"
    )
    keys = con.execute(
        "SELECT DISTINCT unnest(json_keys(_raw)) FROM _stage WHERE _record_error IS NULL"
    ).fetchall()
    return FileColumns.compare(source, [k for (k,) in keys])


def _stage_parquet(con, source, uri) -> FileColumns:
    con.execute(f"CREATE TEMP TABLE _raw_in AS SELECT * FROM read_parquet({uri}, file_row_number=true)")
    present = [r[0] for r in con.execute("DESCRIBE _raw_in").fetchall() if r[0] != "file_row_number"]
    columns = FileColumns.compare(source, present)
    picked = [f"{'NULL' if c in columns.missing else quote_ident(c)} AS {quote_ident(c)}" for c in source.column_names]
    raw = "to_json(struct_pack(" + ", ".join(f"{quote_ident(h)} := {quote_ident(h)}" for h in present) + "))::VARCHAR"
    con.execute(
        f"CREATE TEMP VIEW _stage AS SELECT file_row_number + 1 AS _row_number, {raw} AS _raw, "
        f"{_missing_columns_error(columns)} AS _record_error, {', '.join(picked)} FROM _raw_in"
    )
    return columns


def _insert_staged(con, source: Source, obj: LandedObject, load_id: int) -> tuple[int, int]:
    """Type the staged rows; good ones to Bronze, the rest to rejects with every reason that applies."""
    typed, problems = [], ["_record_error"]
    for column in source.columns:
        ident = quote_ident(column.name)
        if column.type == "VARCHAR":
            typed.append(f"{ident}::VARCHAR AS {ident}")
            continue
        typed.append(f"TRY_CAST({ident} AS {column.type}) AS {ident}")
        problems.append(
            f"CASE WHEN {ident} IS NOT NULL AND TRY_CAST({ident} AS {column.type}) IS NULL "
            f"THEN {sql_literal(f'{column.name} is not {column.type} (')} || {ident}::VARCHAR || ')' END"
        )
    payload = ", payload" if source.keep_payload else ""
    con.execute(
        f"CREATE TEMP VIEW _checked AS SELECT *, NULLIF(concat_ws('; ', {', '.join(problems)}), '') AS _reason "
        "FROM _stage"
    )
    key = sql_literal(obj.key)
    _, day, _ = parse_key(obj.key)
    loaded = con.execute(
        f"INSERT INTO bronze.{source.name} SELECT {', '.join(typed)}{payload}, {key}, _row_number, now(), {load_id}, "
        f"DATE {sql_literal(day)}, ? "
        "FROM _checked WHERE _reason IS NULL ORDER BY _row_number", [obj.last_modified_utc]
    ).fetchone()[0]
    rejected = con.execute(
        f"INSERT INTO bronze.rejects SELECT {load_id}, {sql_literal(source.name)}, {key}, _row_number, _raw, "
        "_reason, now() FROM _checked WHERE _reason IS NOT NULL ORDER BY _row_number"
    ).fetchone()[0]
    return loaded, rejected
