"""Snowflake Bronze: landed files loaded from an external stage by COPY INTO, exactly once, nothing lost.

The contract is the DuckDB loader's (`medallion_platform/bronze/loader.py`): `BRONZE.<SOURCE>` holds the
registry's columns, typed, a VARIANT `payload` for keep_payload sources, and the lineage columns
`_source_file`, `_row_number`, `_ingested_at`, `_load_id`, `_landing_date`, plus `_file_last_modified`
(the object's LastModified from the S3 listing); a row
that does not type goes to `BRONZE.REJECTS` with its file, row number, raw record and reason;
`BRONZE.LOAD_LEDGER` has one row per file with its etag and status (loaded | duplicate | failed), its
`load_id` drawn from `BRONZE.LOAD_ID_SEQ`, and every row the file loads has that `_load_id`. Reasons read as the DuckDB loader's do (`age is not INTEGER (thirty)`,
with the registry's type names), so rejects compare across warehouses.

The Bronze tables, ledger, rejects and sequence are created with the statements
`medallion_platform/snowflake/ddl.py` renders into sql/snowflake/03_bronze_tables.sql (its functions,
called here with this module's names). This loader is Bronze's one writer (ddl.py says why there is no
Snowpipe). Only the staging tables are this module's own.

How one file is loaded, in one transaction:
1. COPY INTO `BRONZE.STAGED_<SOURCE>`: the file's records as text, with METADATA$FILENAME and
   METADATA$FILE_ROW_NUMBER. Nothing is cast at COPY time (a cast error in a COPY transform aborts the
   COPY whatever ON_ERROR says), so COPY only fails on a file it cannot read. CSV fields are picked by
   their position in the file's header; Parquet fields as `$1:<column>`; JSON and JSON lines are
   staged as lines of text, so a broken line is a row, not a lost record.
2. INSERT into `BRONZE.<SOURCE>` the records every column of which TRY_CASTs to the registry's type, and
   into `BRONZE.REJECTS` the others with every reason that applies. `_source_file` is the last three
   segments of the file name (the landing key, with or without the stage's prefix). JSON lines are
   parsed with TRY_PARSE_JSON; a JSON array file is its lines joined again, parsed and split into
   elements (element n is row n). A `.json` file is read by its content, as the DuckDB loader reads
   it: an array if it starts with [, else JSON lines if a line starts with {, else it fails.
3. The ledger row, the staged rows deleted, COMMIT. Any error: ROLLBACK, and the file is recorded
   `failed` with the error; the other files still load.

Exactly once, by two guards:
- Our ledger, one row per attempt at a delivery (key, etag, last-modified), read by the same
  `decide` as the DuckDB loader's (medallion_platform/bronze/ledger.py): what is done is not touched
  again (`already_loaded`), the same content under a new key is recorded `duplicate` and loads nothing,
  a failed delivery is retried on later runs a bounded number of times. It protects against
  re-delivery under a new name, which Snowflake's load metadata cannot see (that is per path), and it
  does not expire, where the load metadata is kept 64 days.
- Snowflake's load metadata on `BRONZE.STAGED_<SOURCE>`: COPY skips a file (path and ETag) it already
  loaded into that table. It protects against what our ledger does not see: a ledger row lost or
  deleted, and a second run that read the ledger before the first committed but reaches COPY after.
  Such a file is reported `copy_skipped` and gets no ledger row.

Snowflake limits that shape this design: VALIDATE(..., JOB_ID => ...) and VALIDATION_MODE fail for a
COPY with a SELECT, which the METADATA$ columns need, so the records ON_ERROR = CONTINUE skips are not
listed one by one; a COPY transform ignores ERROR_ON_COLUMN_COUNT_MISMATCH, so a CSV line with fewer
fields than the header loads with NULLs in the missing fields. Each COPY names its one file with
FILES = ('<key>'), which Snowflake reads as a file name, never as a pattern.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from dagster_snowflake import SnowflakeResource
from snowflake.connector.errors import Error as SnowflakeError

from medallion_platform.bronze.ledger import (
    FileColumns, FileResult, LedgerRow, LoadReport, decide, ledger_history_sql,
)
from medallion_platform.bronze.records import NOT_JSON, csv_header
from medallion_platform.landing import LandedObject, LandingZone, S3LandingZone, parse_key
from medallion_platform.snowflake.ddl import (
    LEDGER_TABLE, LINEAGE_NAMES, LOAD_ID_SEQUENCE as LOAD_ID_SEQUENCE_NAME, REJECTS_TABLE, bronze_table_sql,
    create_table_sql, landing_key_sql, ledger_table_sql, load_id_sequence_sql, rejects_table_sql, snowflake_type,
)
from medallion_platform.sources import Source
from medallion_platform.sql_text import snowflake_literal as literal

SCHEMA = "BRONZE"
LEDGER = f"{SCHEMA}.{LEDGER_TABLE.upper()}"
REJECTS = f"{SCHEMA}.{REJECTS_TABLE.upper()}"
LOAD_ID_SEQUENCE = f"{SCHEMA}.{LOAD_ID_SEQUENCE_NAME.upper()}"
DEFAULT_STAGE_NAME = f"{SCHEMA}.LANDING"



class BronzeLoadError(Exception):
    """A file that cannot be loaded as a whole; it is recorded `failed` with this message."""


# --- connection and stage -------------------------------------------------------------------------

@dataclass(frozen=True)
class ExternalStage:
    """The stage COPY reads: the landing zone's bucket and prefix, so a file's path in it is its key,
    authenticated by a storage integration (sql/snowflake/01_integration_and_stage.sql)."""

    url: str
    storage_integration: str
    name: str = DEFAULT_STAGE_NAME

    @classmethod
    def for_landing(cls, landing: S3LandingZone, **options) -> "ExternalStage":
        prefix = landing.prefix.strip("/")
        return cls(url=f"s3://{landing.bucket}/{prefix + '/' if prefix else ''}", **options)

    def create_sql(self) -> str:
        return (f"CREATE STAGE IF NOT EXISTS {self.name} URL = {literal(self.url)} "
                f"STORAGE_INTEGRATION = {self.storage_integration}")


def staged_table(source: Source) -> str:
    return f"{SCHEMA}.STAGED_{source.name.upper()}"


def bronze_table(source: Source) -> str:
    return f"{SCHEMA}.{source.name.upper()}"


def is_text_format(source: Source) -> bool:
    """JSON and JSON lines are staged as lines of text and parsed in SQL."""
    return source.format in ("json", "jsonl")


def staged_columns(source: Source) -> list[str]:
    """The columns COPY fills, after `_file_name` and `_row_number`."""
    if is_text_format(source):
        return ["_line"]
    extra = ["_extra_field"] if source.format == "csv" else []
    return source.column_names + extra


def bronze_object_statements(source: Source) -> list[str]:
    """The sequence, ledger, rejects and Bronze table of the source: ddl.py's statements, these names."""
    return [load_id_sequence_sql(LOAD_ID_SEQUENCE), ledger_table_sql(LEDGER), rejects_table_sql(REJECTS),
            bronze_table_sql(bronze_table(source), source)]


def ensure_bronze_objects(cursor, source: Source, stage: ExternalStage) -> None:
    """Create schema, stage, sequence, ledger, rejects, the staging and the Bronze table if missing."""
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    cursor.execute(stage.create_sql())
    staged = [("_file_name", "VARCHAR"), ("_row_number", "NUMBER(38,0)")]
    staged += [(name, "VARCHAR") for name in staged_columns(source)]
    for statement in bronze_object_statements(source) + [create_table_sql(staged_table(source), staged)]:
        cursor.execute(statement)


# --- the COPY statement ------------------------------------------------------------------------------

class CopyForms:
    """How a COPY names the file, a record's number and a field, and reads lines of text: Snowflake's
    forms. The one seam of this loader: an engine that runs a subset of COPY passes its own."""

    def metadata(self) -> list[str]:
        """The file's name and the record's 1-based number in it."""
        return ["METADATA$FILENAME", "METADATA$FILE_ROW_NUMBER"]

    def line(self) -> str:
        """A whole line of a text file (JSON and JSON lines are staged as lines)."""
        return "$1"

    def csv_field(self, position: int, header: list[str]) -> str:
        """Field `position` (1-based) of a CSV line; one past the header is read to catch extra fields."""
        return f"${position}"

    def lines_format(self) -> str:
        return "TYPE = CSV FIELD_DELIMITER = NONE FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE_UNENCLOSED_FIELD = NONE"

    def on_error(self, source: Source) -> str:
        """A CSV line COPY cannot parse is skipped and counted (record_copy_errors), not fatal to the file."""
        return " ON_ERROR = CONTINUE" if source.format == "csv" else ""


SNOWFLAKE_COPY = CopyForms()


def copy_statement(source: Source, stage: ExternalStage, key: str, header: list[str] | None,
                   forms: CopyForms = SNOWFLAKE_COPY) -> str:
    """COPY one landed file into the source's staging table, as text, with its lineage.

    `header` is the CSV file's header row (None for other formats)."""
    fields = _field_expressions(source, header, forms)
    targets = ["_file_name", "_row_number"] + staged_columns(source)
    return (
        f"COPY INTO {staged_table(source)} ({', '.join(targets)}) "
        f"FROM (SELECT {', '.join(forms.metadata() + fields)} FROM @{stage.name}) "
        f"FILES = ({literal(key)}) FILE_FORMAT = ({_file_format(source, forms)}){forms.on_error(source)}"
    )


def _field_expressions(source: Source, header: list[str] | None, forms: CopyForms) -> list[str]:
    if is_text_format(source):
        return [forms.line()]
    if source.format == "parquet":
        return [f"$1:{name}::VARCHAR" for name in source.column_names]
    assert header is not None, "a CSV COPY needs the file's header"
    picked = [forms.csv_field(header.index(name) + 1, header) if name in header else "NULL"
              for name in source.column_names]
    return picked + [forms.csv_field(len(header) + 1, header)]


def _file_format(source: Source, forms: CopyForms) -> str:
    if source.format == "parquet":
        return "TYPE = PARQUET"
    if source.format == "csv":
        return "TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"'"
    return forms.lines_format()


# --- from staged text to typed rows -------------------------------------------------------------------

def staged_rows_of(key: str) -> str:
    """The condition that picks one file's rows from its source's staging table."""
    return f"{landing_key_sql('_file_name')} = {literal(key)}"


def records_sql(source: Source, key: str, columns: FileColumns) -> str:
    """The file's staged records as (_source_file, _row_number, _raw, _record_error, <columns as text>
    [, payload]): one shape for every format, so typing them is one statement."""
    where = staged_rows_of(key)
    if source.format == "jsonl":
        return _jsonl_records(source, where)
    if source.format == "json":
        return _json_array_records(source, where)
    text_columns = ", ".join(source.column_names)
    raw = "TO_JSON(OBJECT_CONSTRUCT_KEEP_NULL(" + ", ".join(f"{literal(c)}, {c}" for c in source.column_names) + "))"
    if columns.missing:
        error = literal(f"file lacks column(s) {', '.join(columns.missing)}")
    elif source.format == "csv":
        error = "CASE WHEN _extra_field IS NOT NULL THEN 'CSV line has more fields than its header' END"
    else:
        error = "NULL"
    return (f"SELECT {landing_key_sql('_file_name')} AS _source_file, _row_number, {raw} AS _raw, "
            f"{error} AS _record_error, {text_columns} FROM {staged_table(source)} WHERE {where}")


def _json_fields(source: Source, document: str) -> str:
    picked = [f"{document}:{name}::VARCHAR AS {name}" for name in source.column_names]
    payload = [f"{document} AS payload"] if source.keep_payload else []
    return ", ".join(picked + payload)


def _jsonl_records(source: Source, where: str) -> str:
    """One record per non-blank line; a line that is not a JSON object is rejected whole."""
    parsed = (f"SELECT {landing_key_sql('_file_name')} AS _source_file, _row_number, _line, "
              "TRY_PARSE_JSON(_line)::VARIANT AS _doc "
              f"FROM {staged_table(source)} WHERE {where} AND _line IS NOT NULL AND TRIM(_line) <> ''")
    error = "CASE WHEN _doc IS NULL OR NOT STARTSWITH(LTRIM(_line), '{') THEN 'line is not a JSON object' END"
    return (f"SELECT _source_file, _row_number, _line AS _raw, {error} AS _record_error, "
            f"{_json_fields(source, '_doc')} FROM ({parsed}) AS lines")


def json_array_document_sql(source: Source, where: str) -> str:
    """The file's lines joined again into its one JSON document (JSON strings hold no raw newline, so
    joining with a space changes nothing)."""
    return (f"SELECT {landing_key_sql('_file_name')} AS _source_file, "
            "TRY_PARSE_JSON(LISTAGG(_line, ' ') WITHIN GROUP (ORDER BY _row_number))::VARIANT AS _doc "
            f"FROM {staged_table(source)} WHERE {where} GROUP BY 1")


def _json_array_records(source: Source, where: str) -> str:
    """Element n of the array is row n; an element that is not an object is rejected whole.

    Elements are numbered by FLATTENing ARRAY_GENERATE_RANGE(0, size) and taking GET(array, i): the
    index and its element come from one expression, whichever engine plans the FLATTEN."""
    elements = (f"SELECT d._source_file, i.value::INTEGER + 1 AS _row_number, "
                f"GET(d._doc, i.value::INTEGER) AS _element FROM ({json_array_document_sql(source, where)}) AS d, "
                "LATERAL FLATTEN(input => ARRAY_GENERATE_RANGE(0, ARRAY_SIZE(d._doc)::INTEGER)) AS i")
    error = "CASE WHEN NOT STARTSWITH(TO_JSON(_element), '{') THEN 'record is not a JSON object' END"
    return (f"SELECT _source_file, _row_number, TO_JSON(_element) AS _raw, {error} AS _record_error, "
            f"{_json_fields(source, '_element')} FROM ({elements}) AS elements")


# The registry's integer types are DuckDB's, whose ranges Snowflake's NUMBER(38,0) does not enforce.
INTEGER_BITS = {"INTEGER": 32, "BIGINT": 64}


def typed_value(column) -> str:
    """The column's text as the registry's type, NULL when it does not type: as the DuckDB loader
    types it, so both load and reject the same rows (an INTEGER holds 32 bits on both)."""
    cast = f"TRY_CAST({column.name} AS {snowflake_type(column.type)})"
    bits = INTEGER_BITS.get(column.type)
    if bits is None:
        return cast
    return f"CASE WHEN {cast} BETWEEN {-2 ** (bits - 1)} AND {2 ** (bits - 1) - 1} THEN {cast} END"


def checked_sql(source: Source, records: str) -> str:
    """Each record with `_reason`: every way it fails the registry, or NULL when it types.

    ARRAY_TO_STRING over ARRAY_COMPACT because Snowflake's CONCAT_WS is NULL when any part is."""
    problems = ["_record_error"]
    for column in source.columns:
        if column.type == "VARCHAR":
            continue
        problems.append(
            f"CASE WHEN {column.name} IS NOT NULL AND {typed_value(column)} IS NULL "
            f"THEN {literal(f'{column.name} is not {column.type} (')} || {column.name} || ')' END"
        )
    reason = f"NULLIF(ARRAY_TO_STRING(ARRAY_COMPACT(ARRAY_CONSTRUCT({', '.join(problems)})), '; '), '')"
    return f"SELECT r.*, {reason} AS _reason FROM ({records}) AS r"


def lineage_values(load_id: int, day: str, last_modified: datetime) -> dict[str, str]:
    """This loader's value for each of ddl.py's lineage columns, over the checked records;
    `last_modified` in UTC without zone (LandedObject.last_modified_utc), as METADATA$FILE_LAST_MODIFIED is."""
    values = {"_source_file": "_source_file", "_row_number": "_row_number", "_ingested_at": "CURRENT_TIMESTAMP()",
              "_load_id": str(load_id), "_landing_date": f"{literal(day)}::DATE",
              "_file_last_modified": f"{literal(last_modified.isoformat(sep=' '))}::TIMESTAMP_NTZ"}
    assert tuple(values) == LINEAGE_NAMES, "a lineage column of ddl.py has no value here"
    return values


def insert_bronze_sql(source: Source, checked: str, load_id: int, day: str, last_modified: datetime) -> str:
    typed = [c.name if c.type == "VARCHAR" else typed_value(c) for c in source.columns]
    payload = ["payload"] if source.keep_payload else []
    lineage = lineage_values(load_id, day, last_modified)
    targets = source.column_names + payload + list(lineage)
    values = typed + payload + list(lineage.values())
    return (f"INSERT INTO {bronze_table(source)} ({', '.join(targets)}) "
            f"SELECT {', '.join(values)} FROM ({checked}) WHERE _reason IS NULL")


def insert_rejects_sql(source: Source, checked: str, load_id: int) -> str:
    return (f"INSERT INTO {REJECTS} (load_id, source, file_key, row_number, raw_record, reason, rejected_at) "
            f"SELECT {load_id}, {literal(source.name)}, _source_file, _row_number, _raw, _reason, "
            f"CURRENT_TIMESTAMP() FROM ({checked}) WHERE _reason IS NOT NULL")


# --- COPY's own report ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CopyResult:
    """COPY's row for the file. Snowflake answers 'Copy executed with 0 files processed.' for a file
    its load metadata skips: no row for the key reads as LOAD_SKIPPED."""

    status: str
    rows_loaded: int = 0
    errors_seen: int = 0
    first_error: str | None = None
    first_error_line: int | None = None

    @classmethod
    def from_cursor(cls, cursor, key: str) -> "CopyResult":
        names = [d[0].lower() for d in cursor.description]
        for row in cursor.fetchall():
            result = dict(zip(names, row))
            if "file" in result and str(result["file"]).endswith(key):
                return cls(status=result["status"], rows_loaded=result["rows_loaded"] or 0,
                           errors_seen=result.get("errors_seen") or 0, first_error=result.get("first_error"),
                           first_error_line=result.get("first_error_line"))
        return cls(status="LOAD_SKIPPED")


def record_copy_errors(cursor, source: Source, key: str, load_id: int, result: CopyResult) -> int:
    """One REJECTS row for the records ON_ERROR = CONTINUE skipped: how many, and the first's line and
    error. They cannot be listed one by one: VALIDATE refuses a COPY with a SELECT."""
    if not result.errors_seen:
        return 0
    reason = (f"COPY skipped {result.errors_seen} record(s) it could not parse; "
              f"first: {result.first_error}")
    cursor.execute(
        f"INSERT INTO {REJECTS} (load_id, source, file_key, row_number, raw_record, reason, rejected_at) "
        "SELECT %s, %s, %s, %s, NULL, %s, CURRENT_TIMESTAMP()",
        (load_id, source.name, key, result.first_error_line, reason),
    )
    return result.errors_seen


# --- loading ------------------------------------------------------------------------------------------

def load_source(snowflake: SnowflakeResource, landing: LandingZone, source: Source, stage: ExternalStage,
                objects: Iterable[LandedObject] | None = None, *, forms: CopyForms = SNOWFLAKE_COPY) -> LoadReport:
    """Load every object under the source's prefix (or the given ones) not yet in the ledger."""
    with snowflake.get_connection() as connection:
        cursor = connection.cursor()
        ensure_bronze_objects(cursor, source, stage)
        if objects is None:
            objects = landing.list_objects(prefix=f"{source.name}/")
        report = LoadReport(source.name)
        for obj in objects:
            report.files.append(_load_object(cursor, landing, source, stage, obj, forms))
        return report


def _load_object(cursor, landing: LandingZone, source: Source, stage: ExternalStage, obj: LandedObject,
                 forms: CopyForms) -> FileResult:
    cursor.execute(ledger_history_sql(LEDGER, "%s"), (source.name, obj.key, obj.etag))
    decision = decide(obj, [LedgerRow(*row) for row in cursor.fetchall()])
    if decision.action in ("already_loaded", "gave_up"):
        return FileResult(obj.key, decision.action, detail=decision.detail)
    load_id = _next_load_id(cursor)
    if decision.action == "duplicate":
        _record(cursor, load_id, source, obj, "duplicate", duplicate_of=decision.duplicate_of)
        return FileResult(obj.key, "duplicate", detail=decision.detail)
    in_transaction = False
    try:
        _, day, _ = parse_key(obj.key)
        header = _csv_header(landing, obj.key) if source.format == "csv" else None
        cursor.execute("BEGIN")
        in_transaction = True
        result = _load_in_transaction(cursor, source, stage, obj, load_id, day, header, forms, decision.attempt)
        cursor.execute("COMMIT")
        return result
    except (SnowflakeError, BronzeLoadError, ValueError, UnicodeDecodeError, OSError) as error:
        if in_transaction:
            cursor.execute("ROLLBACK")
        message = f"{obj.key}: {type(error).__name__}: {error}".splitlines()[0]
        _record(cursor, load_id, source, obj, "failed", error=message, attempt=decision.attempt)
        return FileResult(obj.key, "failed", detail=message)


def _load_in_transaction(cursor, source, stage, obj, load_id, day, header, forms, attempt) -> FileResult:
    cursor.execute(copy_statement(source, stage, obj.key, header, forms))
    copied = CopyResult.from_cursor(cursor, obj.key)
    if copied.status == "LOAD_SKIPPED":  # nothing was written: the caller's COMMIT ends an empty transaction
        return FileResult(obj.key, "copy_skipped",
                          detail="Snowflake's load metadata says this file was loaded already")
    if copied.status == "LOAD_FAILED":
        raise BronzeLoadError(f"COPY loaded no row: {copied.first_error}")
    source = _check_staged(cursor, source, obj.key, copied)
    columns = _file_columns(cursor, source, obj.key, header)
    checked = checked_sql(source, records_sql(source, obj.key, columns))
    loaded = _row_count(cursor, insert_bronze_sql(source, checked, load_id, day, obj.last_modified_utc))
    rejected = _row_count(cursor, insert_rejects_sql(source, checked, load_id))
    rejected += record_copy_errors(cursor, source, obj.key, load_id, copied)
    _record(cursor, load_id, source, obj, "loaded", loaded, rejected, columns=columns, attempt=attempt)
    cursor.execute(f"DELETE FROM {staged_table(source)} WHERE {staged_rows_of(obj.key)}")
    return FileResult(obj.key, "loaded", loaded, rejected, detail=str(columns) or None, columns=columns)


def _check_staged(cursor, source: Source, key: str, copied: CopyResult) -> Source:
    """The staged rows under the key must be all COPY loaded: this is what proves the key is read right
    from METADATA$FILENAME. Returns the source as the file is read: a JSON file by its content."""
    cursor.execute(f"SELECT COUNT(*) FROM {staged_table(source)} WHERE {staged_rows_of(key)}")
    staged = cursor.fetchone()[0]
    if staged != copied.rows_loaded:
        raise BronzeLoadError(f"COPY loaded {copied.rows_loaded} rows but {staged} are staged under the "
                              "key: the file name COPY reports does not end in the landing key")
    return _json_layout(cursor, source, key) if source.format == "json" else source


def _json_layout(cursor, source: Source, key: str) -> Source:
    """As the DuckDB loader reads a .json file: one JSON array if it starts with [ (it must then parse
    as one), else JSON lines if a line starts with {, else the file fails."""
    where = staged_rows_of(key)
    cursor.execute(f"SELECT _line FROM {staged_table(source)} WHERE {where} AND TRIM(_line) <> '' "
                   "ORDER BY _row_number LIMIT 1")
    first = cursor.fetchone()
    if first is not None and first[0].lstrip("\ufeff \t\r").startswith("["):
        cursor.execute(f"SELECT COUNT(*) FROM ({json_array_document_sql(source, where)}) "
                       "WHERE STARTSWITH(TO_JSON(_doc), '[')")
        if cursor.fetchone()[0] != 1:
            raise BronzeLoadError("file is not one JSON array (truncated or malformed)")
        return source
    cursor.execute(f"SELECT COUNT(*) FROM {staged_table(source)} WHERE {where} AND STARTSWITH(LTRIM(_line), '{{')")
    if not cursor.fetchone()[0]:
        raise BronzeLoadError(NOT_JSON)
    return replace(source, format="jsonl")


def _file_columns(cursor, source: Source, key: str, header: list[str] | None) -> FileColumns:
    """How the file's columns differ from the registry's: CSV by its header, JSON by the keys any
    record has. Parquet's are not compared: a missing Parquet column loads as NULL."""
    if header is not None:
        return FileColumns.compare(source, header)
    if not is_text_format(source):
        return FileColumns()
    key_lists = (f"SELECT DISTINCT OBJECT_KEYS(TRY_PARSE_JSON(_raw)::VARIANT) AS keys "
                 f"FROM ({records_sql(source, key, FileColumns())}) WHERE _record_error IS NULL")
    cursor.execute(f"SELECT DISTINCT k.value::VARCHAR FROM ({key_lists}) AS r, LATERAL FLATTEN(input => r.keys) AS k")
    return FileColumns.compare(source, [k for (k,) in cursor.fetchall()])


def _csv_header(landing: LandingZone, key: str) -> list[str]:
    """The header row, read from the landing zone: COPY picks CSV fields by position, Bronze by name."""
    return csv_header(landing.read_head(key, 1 << 16))


def _row_count(cursor, statement: str) -> int:
    cursor.execute(statement)
    return cursor.fetchone()[0]


def _next_load_id(cursor) -> int:
    cursor.execute(f"SELECT {LOAD_ID_SEQUENCE}.NEXTVAL")
    return cursor.fetchone()[0]


def _record(cursor, load_id, source, obj, status, loaded=0, rejected=0, duplicate_of=None,
            columns: FileColumns = FileColumns(), error=None, attempt=1) -> None:
    """The file's ledger row. Arrays go in as JSON text through PARSE_JSON: Snowflake takes no function
    in INSERT ... VALUES, hence INSERT ... SELECT."""
    cursor.execute(
        f"INSERT INTO {LEDGER} (load_id, source, file_key, etag, size_bytes, status, rows_loaded, "
        "rows_rejected, duplicate_of, unexpected_columns, missing_columns, error, loaded_at, "
        "file_last_modified, attempt) "
        "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, PARSE_JSON(%s), PARSE_JSON(%s), %s, CURRENT_TIMESTAMP(), %s, %s",
        (load_id, source.name, obj.key, obj.etag, obj.size, status, loaded, rejected, duplicate_of,
         json.dumps(list(columns.unexpected)) if columns.unexpected else None,
         json.dumps(list(columns.missing)) if columns.missing else None, error, obj.last_modified, attempt),
    )
