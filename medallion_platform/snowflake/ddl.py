"""Snowflake-native objects for the medallion pipeline, rendered from the source registry.

A storage integration and an external stage on the landing bucket, file formats, one Bronze table and
one auto-ingest pipe per source (COPY INTO with the METADATA$ lineage columns) with a task that records
the pipes' loads in the ledger, and three least-privilege roles. Every per-source object comes from
`SOURCES`: a feed added to the registry gets its table, pipe and grants here without an edit.
`medallion snowflake ddl` writes the files; sql/snowflake/ holds them rendered with the defaults.

Silver and Gold are not here: they are the dbt models (sql/models), built on Snowflake by dbt-snowflake
from the same Dagster assets as on DuckDB, so each cleaning rule is written once.

The Bronze objects (tables, ledger, rejects, the load-id sequence) are defined once, here: the
Dagster loader (medallion_platform/snowflake/bronze.py) creates them with the same statements, so
Bronze has one shape whichever fills it (see "Bronze: one definition" below for that shape).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from medallion_platform.sources import SOURCES, Source
from medallion_platform.sql_text import snowflake_literal

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
IDENTIFIER_PARAMETERS = ("database", "warehouse", "integration", "loader_role", "transformer_role", "reader_role")
# Other parameters end up inside SQL string literals: each has the shape its use allows, and no quote.
TASK_SCHEDULE = re.compile(r"[1-9][0-9]* MINUTES?|USING CRON [0-9*,/ A-Za-z_-]+")
LITERAL_PARAMETERS = {
    "bucket": re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    "prefix": re.compile(r"([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?"),  # after stripping outer slashes
    "aws_role_arn": re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+"),
    "ledger_schedule": TASK_SCHEDULE,
}


@dataclass(frozen=True)
class SnowflakeParams:
    """Names and places the rendered SQL uses. Defaults render a complete, sensible set."""

    database: str = "MEDALLION"
    warehouse: str = "MEDALLION_WH"
    bucket: str = "medallion-landing"
    prefix: str = ""  # key prefix inside the bucket, as MEDALLION_S3_PREFIX
    aws_role_arn: str = "arn:aws:iam::123456789012:role/medallion-snowflake-access"
    ledger_schedule: str = "60 MINUTE"  # how often COPY_HISTORY is copied into bronze.load_ledger
    integration: str = "MEDALLION_S3"
    loader_role: str = "MEDALLION_LOADER"
    transformer_role: str = "MEDALLION_TRANSFORMER"
    reader_role: str = "MEDALLION_READER"

    def __post_init__(self) -> None:
        for name in IDENTIFIER_PARAMETERS:
            _check_identifier(getattr(self, name), name)
        for name, shape in LITERAL_PARAMETERS.items():
            value = getattr(self, name).strip("/") if name == "prefix" else getattr(self, name)
            if not shape.fullmatch(value):
                raise ValueError(f"{name}: {getattr(self, name)!r} is not a valid {name.replace('_', ' ')}")

    @property
    def stage_url(self) -> str:
        prefix = self.prefix.strip("/")
        return f"s3://{self.bucket}/{prefix + '/' if prefix else ''}"


def _check_identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{what}: {value!r} is not a Snowflake identifier ([A-Za-z_][A-Za-z0-9_$]*)")
    return value


# --- types and the landing key layout -------------------------------------------------------------

_SIMPLE_TYPES = {"VARCHAR": "VARCHAR", "INTEGER": "NUMBER(38,0)", "BIGINT": "NUMBER(38,0)",
                 "DOUBLE": "FLOAT", "BOOLEAN": "BOOLEAN", "DATE": "DATE"}


def snowflake_type(duckdb_type: str) -> str:
    """The Snowflake type for a registry (DuckDB) column type."""
    text = duckdb_type.strip().upper()
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", text)
    if decimal:
        return f"NUMBER({decimal[1]},{decimal[2]})"
    raise ValueError(f"no Snowflake type for registry type {duckdb_type!r}")


# Landing keys are <source>/<YYYY-MM-DD>/<file> (medallion_platform/landing.py KEY_PATTERN), below the
# stage's prefix. METADATA$FILENAME is the object's path, so the key is its last three segments and
# the landing day its second-to-last.
DAY_REGEX = "[0-9]{4}-[0-9]{2}-[0-9]{2}"


def key_pattern(source_name: str) -> str:
    """The PATTERN (a whole-path match) of one source's landing keys, with or without a prefix."""
    return f"(.*/)?{source_name}/{DAY_REGEX}/[^/]+"


def landing_key_sql(path: str) -> str:
    """The landing key from an object's path: its last three segments, whether the path is relative
    to the stage, includes the stage's prefix or is a whole s3:// URL."""
    return " || '/' || ".join(f"SPLIT_PART({path}, '/', {i})" for i in (-3, -2, -1))


def _landing_date(path: str) -> str:
    return f"TO_DATE(SPLIT_PART({path}, '/', -2), 'YYYY-MM-DD')"


# --- Bronze: one definition of its objects, for the pipes and for the Dagster loader --------------
#
# Bronze is filled one of two ways: by the auto-ingest pipes rendered here (04_pipes.sql), or by the
# Dagster-run COPY INTO loader (medallion_platform/snowflake/bronze.py); use one or the other (both would
# load each file). Either way the dbt models in sql/models/silver read it, so both create their tables
# with the statements below, and the shape is the DuckDB loader's plus what only a pipe can tell:
# - `_load_id`: the loader gives every file the ledger's id, from the sequence `load_id_seq` (load
#   order, as DuckDB's loader). A pipe has no per-file counter (a sequence in a COPY is drawn row by
#   row), so it gives `PIPE_LOAD_ID`: the object's last-modified time as the number YYYYMMDDHHMISSFFF,
#   the same for all of a file's rows. dbt's version_rank does not read it (it orders versions by
#   landing day, `_file_last_modified`, key and row), so either value serves.
# - `_file_last_modified` (METADATA$FILE_LAST_MODIFIED; the loader writes the same value from the S3
#   listing): what dbt's version_rank orders a day's files by.
# - The ledger's `load_id` is drawn from the same sequence by every writer: the loader before it loads a
#   file, the task bronze.record_loads for each file the pipes loaded. For a pipe-loaded file it is not
#   the `_load_id` of its rows (that is the stamp): join the two on (source, file_key).

LOAD_ID_SEQUENCE = "load_id_seq"
LEDGER_TABLE = "load_ledger"
REJECTS_TABLE = "rejects"

PIPE_LOAD_ID = "TO_NUMBER(TO_CHAR(METADATA$FILE_LAST_MODIFIED, 'YYYYMMDDHH24MISSFF3'))"

# Name, type and the value a pipe's COPY gives it (the loader's values are in bronze.py).
LINEAGE = (
    ("_source_file", "VARCHAR", landing_key_sql("METADATA$FILENAME")),
    ("_row_number", "NUMBER(38,0)", "METADATA$FILE_ROW_NUMBER"),  # record number in the file, 1-based
    ("_ingested_at", "TIMESTAMP_LTZ", "METADATA$START_SCAN_TIME"),
    ("_load_id", "NUMBER(38,0)", PIPE_LOAD_ID),
    ("_landing_date", "DATE", _landing_date("METADATA$FILENAME")),  # the day in the key: the Dagster partition
    ("_file_last_modified", "TIMESTAMP_NTZ", "METADATA$FILE_LAST_MODIFIED"),
)
LINEAGE_NAMES = tuple(name for name, _, _ in LINEAGE)

LEDGER_COLUMNS = (
    ("load_id", "NUMBER(38,0) NOT NULL"),  # LOAD_ID_SEQUENCE.NEXTVAL, whoever writes the row
    ("source", "VARCHAR NOT NULL"),
    ("file_key", "VARCHAR NOT NULL"),
    ("etag", "VARCHAR"),  # COPY_HISTORY does not report it
    ("size_bytes", "NUMBER(38,0)"),
    ("status", "VARCHAR NOT NULL"),  # loaded | failed; duplicate from the loader only (a pipe loads any new key)
    ("rows_loaded", "NUMBER(38,0) NOT NULL"),
    ("rows_rejected", "NUMBER(38,0) NOT NULL"),
    ("duplicate_of", "VARCHAR"),
    ("unexpected_columns", "ARRAY"),
    ("missing_columns", "ARRAY"),
    ("error", "VARCHAR"),
    ("loaded_at", "TIMESTAMP_LTZ NOT NULL"),
    ("file_last_modified", "TIMESTAMP_TZ"),  # with file_key and etag, the delivery (bronze/ledger.py)
    ("attempt", "NUMBER(38,0)"),  # 1 for a delivery's first attempt; failed ones are retried
)
REJECTS_COLUMNS = (
    ("load_id", "NUMBER(38,0)"),
    ("source", "VARCHAR NOT NULL"),
    ("file_key", "VARCHAR NOT NULL"),
    ("row_number", "NUMBER(38,0)"),
    ("raw_record", "VARCHAR"),
    ("reason", "VARCHAR NOT NULL"),
    ("rejected_at", "TIMESTAMP_LTZ NOT NULL"),
)


def bronze_columns(source: Source) -> list[tuple[str, str]]:
    """The Bronze table's columns: the registry's, typed, a VARIANT `payload` if kept, then lineage."""
    columns = [(c.name, snowflake_type(c.type)) for c in source.columns]
    if source.keep_payload:
        columns.append(("payload", "VARIANT"))
    return columns + [(name, type_) for name, type_, _ in LINEAGE]


def create_table_sql(table: str, columns) -> str:
    return f"CREATE TABLE IF NOT EXISTS {table} (\n{_column_list(columns)}\n)"


def load_id_sequence_sql(sequence: str) -> str:
    return f"CREATE SEQUENCE IF NOT EXISTS {sequence} START = 1 INCREMENT = 1"


def bronze_table_sql(table: str, source: Source) -> str:
    return create_table_sql(table, bronze_columns(source))


def ledger_table_sql(table: str) -> str:
    return create_table_sql(table, LEDGER_COLUMNS)


def rejects_table_sql(table: str) -> str:
    return create_table_sql(table, REJECTS_COLUMNS)

FILE_FORMATS = {
    # Empty fields are NULL, as DuckDB's reader makes them (and '' would fail a NUMBER cast); Silver
    # trims and nulls blank text anyway. Backslashes are data: only "" escapes a quote, as in DuckDB.
    "csv": "TYPE = CSV\n  FIELD_DELIMITER = ','\n  SKIP_HEADER = 1\n  FIELD_OPTIONALLY_ENCLOSED_BY = '\"'\n"
           "  ESCAPE_UNENCLOSED_FIELD = NONE\n  EMPTY_FIELD_AS_NULL = TRUE\n  NULL_IF = ('')\n"
           "  SKIP_BLANK_LINES = TRUE\n  ENCODING = 'UTF8'",
    # The products feed is one JSON array of objects per file: each element becomes a row.
    "json": "TYPE = JSON\n  STRIP_OUTER_ARRAY = TRUE",
    # JSON lines: one document per line (a line that is not JSON is a rejected row).
    "jsonl": "TYPE = JSON\n  STRIP_OUTER_ARRAY = FALSE",
    "parquet": "TYPE = PARQUET\n  BINARY_AS_TEXT = TRUE",
}


# --- the renderer --------------------------------------------------------------------------------

HEADER = """\
-- Generated by `medallion snowflake ddl` (medallion_platform/snowflake/ddl.py) from the source
-- registry, medallion_platform/sources.py. Do not edit: change the registry or the renderer and
-- render again. Files run in their numbered order.
"""


@dataclass
class _Names:
    """Fully qualified names of everything rendered, in one place."""

    p: SnowflakeParams
    bronze: str = field(init=False)
    silver: str = field(init=False)
    gold: str = field(init=False)

    def __post_init__(self) -> None:
        self.bronze, self.silver, self.gold = (f"{self.p.database}.{s}" for s in ("bronze", "silver", "gold"))

    @property
    def stage(self) -> str:
        return f"{self.bronze}.landing"

    def file_format(self, fmt: str) -> str:
        return f"{self.bronze}.ff_{fmt}"

    def table(self, schema: str, name: str) -> str:
        return f"{getattr(self, schema)}.{name}"

    def pipe(self, source: Source) -> str:
        return f"{self.bronze}.{source.name}_pipe"

    @property
    def ledger_task(self) -> str:
        return f"{self.bronze}.record_loads"

    @property
    def load_id_sequence(self) -> str:
        return f"{self.bronze}.{LOAD_ID_SEQUENCE}"


def _checked_sources(sources: Mapping[str, Source]) -> list[Source]:
    for source in sources.values():
        _check_identifier(source.name, f"source name {source.name!r}")
        for column in source.columns:
            _check_identifier(column.name, f"column of source {source.name!r}")
        if source.format not in FILE_FORMATS:
            raise ValueError(f"source {source.name!r}: no Snowflake file format for {source.format!r}")
    return list(sources.values())


def _column_list(definitions) -> str:
    return ",\n".join(f"    {name} {type_}" for name, type_ in definitions)


def _integration_and_stage(n: _Names, sources: list[Source]) -> list[str]:
    p = n.p
    return [
        f"CREATE DATABASE IF NOT EXISTS {p.database}",
        *(f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in (n.bronze, n.silver, n.gold)),
        "-- Runs dbt's models, the ledger task and the readers' queries; suspended whenever idle.\n"
        f"CREATE WAREHOUSE IF NOT EXISTS {p.warehouse}\n"
        "  WAREHOUSE_SIZE = XSMALL\n  AUTO_SUSPEND = 60\n  AUTO_RESUME = TRUE\n  INITIALLY_SUSPENDED = TRUE",
        "-- Needs ACCOUNTADMIN (or CREATE INTEGRATION). Afterwards `DESC INTEGRATION` gives\n"
        "-- STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID for the IAM role's trust policy.\n"
        "-- IF NOT EXISTS: replacing an integration would change its external id and break that trust.\n"
        f"CREATE STORAGE INTEGRATION IF NOT EXISTS {p.integration}\n"
        "  TYPE = EXTERNAL_STAGE\n  STORAGE_PROVIDER = 'S3'\n  ENABLED = TRUE\n"
        f"  STORAGE_AWS_ROLE_ARN = {snowflake_literal(p.aws_role_arn)}\n"
        f"  STORAGE_ALLOWED_LOCATIONS = ({snowflake_literal(p.stage_url)})",
        f"-- The landing zone: keys <source>/<YYYY-MM-DD>/<file> for {', '.join(s.name for s in sources)}.\n"
        f"CREATE STAGE IF NOT EXISTS {n.stage}\n"
        f"  URL = {snowflake_literal(p.stage_url)}\n  STORAGE_INTEGRATION = {p.integration}",
    ]


def _file_formats(n: _Names, _sources: list[Source]) -> list[str]:
    return [f"CREATE FILE FORMAT IF NOT EXISTS {n.file_format(fmt)}\n  {options}"
            for fmt, options in FILE_FORMATS.items()]


def _bronze_tables(n: _Names, sources: list[Source]) -> list[str]:
    statements = [
        f"-- {source.name}: {' '.join(source.description.split())} Every version of every row, with lineage.\n"
        + bronze_table_sql(n.table("bronze", source.name), source)
        for source in sources
    ]
    statements.append(
        "-- The load ids: of each ledger row, and of the rows the Dagster loader loads.\n"
        + load_id_sequence_sql(n.load_id_sequence))
    statements.append(
        "-- One row per landed file: from COPY_HISTORY for the pipes (task bronze.record_loads), or\n"
        "-- written by the Dagster loader; the columns of the DuckDB loader's ledger.\n"
        + ledger_table_sql(n.table("bronze", LEDGER_TABLE)))
    statements.append(
        "-- Rows that did not type: the Dagster loader's, and a pipe's (ON_ERROR = CONTINUE) once\n"
        "-- recovered, see 04_pipes.sql.\n"
        + rejects_table_sql(n.table("bronze", REJECTS_TABLE)))
    return statements


def _file_value(source: Source, position: int, name: str, type_: str) -> str:
    """One registry column read from a staged record: CSV by position, the others by key.
    A value that does not cast makes the row an error, which ON_ERROR = CONTINUE skips."""
    if source.format == "csv":
        return f"${position}" if type_ == "VARCHAR" else f"${position}::{type_}"
    return f"$1:{name}::{type_}"


def _pipes(n: _Names, sources: list[Source]) -> list[str]:
    statements = []
    for source in sources:
        values = [(c.name, _file_value(source, i, c.name, snowflake_type(c.type)))
                  for i, c in enumerate(source.columns, start=1)]
        if source.keep_payload:
            values.append(("payload", "$1"))
        values += [(name, value) for name, _, value in LINEAGE]
        targets = ", ".join(name for name, _ in values)
        selected = ",\n".join(f"        {value}" for _, value in values)
        order = " (columns by position, in the registry's order)" if source.format == "csv" else ""
        statements.append(
            f"-- {source.name}: {source.format} files{order} into {n.table('bronze', source.name)}.\n"
            f"CREATE PIPE IF NOT EXISTS {n.pipe(source)}\n  AUTO_INGEST = TRUE\nAS\n"
            f"COPY INTO {n.table('bronze', source.name)} ({targets})\n"
            f"FROM (\n    SELECT\n{selected}\n    FROM @{n.stage}\n)\n"
            f"FILE_FORMAT = (FORMAT_NAME = {snowflake_literal(n.file_format(source.format))})\n"
            f"PATTERN = {snowflake_literal(key_pattern(source.name))}\n"
            "ON_ERROR = CONTINUE")
    return statements + [_ledger_task(n, sources), f"ALTER TASK {n.ledger_task} RESUME"]


def _ledger_task(n: _Names, sources: list[Source]) -> str:
    history = "\n        UNION ALL\n".join(
        f"        SELECT {snowflake_literal(source.name)} AS source, h.* FROM TABLE({n.p.database}.INFORMATION_SCHEMA.COPY_HISTORY(\n"
        f"            TABLE_NAME => {snowflake_literal(n.table('bronze', source.name))},\n"
        "            START_TIME => DATEADD(DAY, -1, CURRENT_TIMESTAMP()))) AS h"
        for source in sources)
    ledger = n.table("bronze", LEDGER_TABLE)
    return (
        "-- Copies the pipes' load history (kept 14 days) into bronze.load_ledger, once per file load.\n"
        f"CREATE OR REPLACE TASK {n.ledger_task}\n"
        f"  WAREHOUSE = {n.p.warehouse}\n  SCHEDULE = {snowflake_literal(n.p.ledger_schedule)}\nAS\n"
        f"INSERT INTO {ledger} (load_id, source, file_key, size_bytes, status, rows_loaded, rows_rejected, error, loaded_at)\n"
        f"SELECT\n    {n.load_id_sequence}.NEXTVAL,\n    history.source,\n    {landing_key_sql('history.file_name')},\n    history.file_size,\n"
        "    IFF(LOWER(history.status) = 'load failed', 'failed', 'loaded'),\n"
        "    COALESCE(history.row_count, 0),\n    COALESCE(history.error_count, 0),\n"
        "    history.first_error_message,\n    history.last_load_time\n"
        f"FROM (\n{history}\n) AS history\n"
        f"WHERE history.last_load_time IS NOT NULL AND NOT EXISTS (\n"
        f"    SELECT 1 FROM {ledger} AS l\n"
        "    WHERE l.source = history.source AND l.file_key = "
        f"{landing_key_sql('history.file_name')} AND l.loaded_at = history.last_load_time)")


def _grants(n: _Names, sources: list[Source]) -> list[str]:
    p = n.p
    loader, transformer, reader = p.loader_role, p.transformer_role, p.reader_role
    bronze_tables = [n.table("bronze", s.name) for s in sources]
    statements = [f"CREATE ROLE IF NOT EXISTS {role}" for role in (loader, transformer, reader)]
    statements += [f"GRANT ROLE {role} TO ROLE SYSADMIN" for role in (loader, transformer, reader)]
    statements += [f"GRANT USAGE ON DATABASE {p.database} TO ROLE {role}" for role in (loader, transformer, reader)]
    statements += [f"GRANT USAGE ON WAREHOUSE {p.warehouse} TO ROLE {role}" for role in (loader, transformer, reader)]

    statements.append(f"-- {loader}: lands files into Bronze through the stage and the pipes, nothing more.\n"
                      f"GRANT USAGE ON SCHEMA {n.bronze} TO ROLE {loader}")
    statements.append(f"GRANT USAGE ON INTEGRATION {p.integration} TO ROLE {loader}")
    statements.append(f"GRANT USAGE ON STAGE {n.stage} TO ROLE {loader}")
    statements += [f"GRANT USAGE ON FILE FORMAT {n.file_format(fmt)} TO ROLE {loader}" for fmt in FILE_FORMATS]
    statements += [f"GRANT INSERT ON TABLE {table} TO ROLE {loader}"
                   for table in [*bronze_tables, n.table("bronze", REJECTS_TABLE)]]
    statements += [f"GRANT OPERATE, MONITOR ON PIPE {n.pipe(s)} TO ROLE {loader}" for s in sources]
    statements.append(f"GRANT OPERATE, MONITOR ON TASK {n.ledger_task} TO ROLE {loader}")

    statements.append(f"-- {transformer}: reads Bronze, creates and writes Silver and Gold (dbt owns what it creates).\n"
                      f"GRANT USAGE ON SCHEMA {n.bronze} TO ROLE {transformer}")
    statements += [f"GRANT USAGE ON SCHEMA {schema} TO ROLE {transformer}" for schema in (n.silver, n.gold)]
    statements += [f"GRANT SELECT ON TABLE {table} TO ROLE {transformer}"
                   for table in [*bronze_tables, n.table("bronze", LEDGER_TABLE), n.table("bronze", REJECTS_TABLE)]]
    statements += [f"GRANT CREATE TABLE, CREATE VIEW ON SCHEMA {schema} TO ROLE {transformer}"
                   for schema in (n.silver, n.gold)]

    statements.append(f"-- {reader}: the Gold tables and views, present and future, and nothing else.\n"
                      f"GRANT USAGE ON SCHEMA {n.gold} TO ROLE {reader}")
    statements += [f"GRANT SELECT ON {scope} {kind} IN SCHEMA {n.gold} TO ROLE {reader}"
                   for scope in ("ALL", "FUTURE") for kind in ("TABLES", "VIEWS")]
    return statements


FILE_NOTES = {
    "01_integration_and_stage.sql": (
        _integration_and_stage,
        "-- Database, schemas, warehouse, the S3 storage integration and the landing stage.\n"
        "-- Run as ACCOUNTADMIN, or a role with CREATE INTEGRATION and CREATE DATABASE/WAREHOUSE.\n"),
    "02_file_formats.sql": (
        _file_formats,
        "-- One file format per registry format (csv, json, jsonl, parquet).\n"),
    "03_bronze_tables.sql": (
        _bronze_tables,
        "-- Bronze: the registry's columns (DuckDB types mapped to Snowflake's), VARIANT `payload` for\n"
        "-- sources that keep it, and lineage: _source_file (the landing key, from METADATA$FILENAME),\n"
        "-- _row_number (METADATA$FILE_ROW_NUMBER), _ingested_at (METADATA$START_SCAN_TIME), _load_id,\n"
        "-- _landing_date (the <YYYY-MM-DD> of the key) and _file_last_modified\n"
        "-- (METADATA$FILE_LAST_MODIFIED). The same statements create these objects when the Dagster\n"
        "-- loader (medallion_platform/snowflake/bronze.py) fills Bronze instead of the pipes.\n"
        "--\n"
        "-- The dbt Silver models take the latest version of a key by _landing_date, _file_last_modified,\n"
        "-- _source_file, _row_number. _load_id is the loader's ledger load_id (bronze.load_id_seq), or a\n"
        "-- pipe's stamp of the object's last-modified time (YYYYMMDDHHMISSFFF).\n"),
    "04_pipes.sql": (
        _pipes,
        "-- One auto-ingest pipe per source. After creating them, `SHOW PIPES` gives each pipe's\n"
        "-- notification_channel: the SQS queue the bucket's event notifications must be sent to.\n"
        "--\n"
        "-- Rejected rows: ON_ERROR = CONTINUE skips a row that cannot be parsed or cast, and the rest of\n"
        "-- the file loads. Nothing is lost silently: COPY_HISTORY (and VALIDATE_PIPE_LOAD) name each\n"
        "-- file with errors, its error count and first error, and the task bronze.record_loads copies\n"
        "-- that into bronze.load_ledger. VALIDATE() returns every rejected row, but only for a COPY\n"
        "-- without a transform, which these are not: to recover the rows of a file, COPY that file\n"
        "-- (still in S3) without the SELECT into a scratch table of the source's columns with\n"
        "-- ON_ERROR = CONTINUE, run VALIDATE(<scratch table>, JOB_ID => '_last') and insert its rows\n"
        "-- into bronze.rejects. Unlike the DuckDB loader, a pipe also loads the same content delivered\n"
        "-- under a new key (Silver keeps one row per key either way), and CSV columns are read by\n"
        "-- position, not by header name.\n"
        "--\n"
        "-- Use the pipes or the Dagster loader, not both: each would load every file. The task\n"
        "-- bronze.record_loads copies the pipes' COPY_HISTORY into bronze.load_ledger; its owner needs\n"
        "-- EXECUTE TASK ON ACCOUNT.\n"),
    "05_grants.sql": (
        _grants,
        "-- Three least-privilege roles, granted to SYSADMIN: loader, transformer, reader.\n"),
}
FILES = tuple(FILE_NOTES)


def render_statements(params: SnowflakeParams | None = None,
                      sources: Mapping[str, Source] | None = None) -> dict[str, list[str]]:
    """File name -> its statements (without the terminating semicolon), in order."""
    names = _Names(params or SnowflakeParams())
    checked = _checked_sources(SOURCES if sources is None else sources)
    return {file: render(names, checked) for file, (render, _) in FILE_NOTES.items()}


def render_files(params: SnowflakeParams | None = None,
                 sources: Mapping[str, Source] | None = None) -> dict[str, str]:
    """File name -> its text: the header, the file's notes, then each statement and a semicolon."""
    return {file: HEADER + FILE_NOTES[file][1] + "".join(f"\n{statement};\n" for statement in statements)
            for file, statements in render_statements(params, sources).items()}


def write_files(out_dir: Path, params: SnowflakeParams | None = None,
                sources: Mapping[str, Source] | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file, text in render_files(params, sources).items():
        path = out_dir / file
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
