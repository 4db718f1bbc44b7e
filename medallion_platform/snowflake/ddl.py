"""Snowflake-native objects for the medallion pipeline, rendered from the source registry.

A storage integration and an external stage on the landing bucket, file formats, one Bronze table per
source with the ledger and rejects, and three least-privilege roles. Every per-source object comes from
`SOURCES`: a feed added to the registry gets its table and grants here without an edit.
`medallion snowflake ddl` writes the files; sql/snowflake/ holds them rendered with the defaults.

No Snowpipe: Bronze has one writer, the Dagster-run COPY INTO loader (medallion_platform/snowflake/bronze.py),
which keeps every rejected row with its reason and loads each delivery once by the ledger. A pipe would be
a second Bronze with other rules (bad rows skipped, CSV read by position, re-delivered content loaded again).

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
LITERAL_PARAMETERS = {
    "bucket": re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    "prefix": re.compile(r"([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?"),  # after stripping outer slashes
    "aws_role_arn": re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+"),
}


@dataclass(frozen=True)
class SnowflakeParams:
    """Names and places the rendered SQL uses. Defaults render a complete, sensible set."""

    database: str = "MEDALLION"
    warehouse: str = "MEDALLION_WH"
    bucket: str = "medallion-landing"
    prefix: str = ""  # key prefix inside the bucket, as MEDALLION_S3_PREFIX
    aws_role_arn: str = "arn:aws:iam::123456789012:role/medallion-snowflake-access"
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
# stage's prefix. METADATA$FILENAME is the object's path, so the key is its last three segments.
def landing_key_sql(path: str) -> str:
    """The landing key from an object's path: its last three segments, whether the path is relative
    to the stage, includes the stage's prefix or is a whole s3:// URL."""
    return " || '/' || ".join(f"SPLIT_PART({path}, '/', {i})" for i in (-3, -2, -1))


# --- Bronze: one definition of its objects, for this DDL and for the Dagster loader ----------------
#
# The Dagster-run COPY INTO loader (medallion_platform/snowflake/bronze.py) is Bronze's one writer; it
# creates these objects with the statements below, so the rendered files and a loader run give one shape:
# the DuckDB loader's, plus `_file_last_modified` (the object's LastModified from the S3 listing), what
# dbt's version_order orders a day's files by. `_load_id` is the file's ledger `load_id`, drawn from the
# sequence `load_id_seq` before the file loads (load order, as DuckDB's loader): the order's last tie-break.

LOAD_ID_SEQUENCE = "load_id_seq"
LEDGER_TABLE = "load_ledger"
REJECTS_TABLE = "rejects"

# Name and type (the loader's values are in bronze.py).
LINEAGE = (
    ("_source_file", "VARCHAR"),  # the landing key
    ("_row_number", "NUMBER(38,0)"),  # record number in the file, 1-based
    ("_ingested_at", "TIMESTAMP_LTZ"),
    ("_load_id", "NUMBER(38,0)"),  # the file's ledger load_id
    ("_landing_date", "DATE"),  # the day in the key: the Dagster partition
    ("_file_last_modified", "TIMESTAMP_NTZ"),
)
LINEAGE_NAMES = tuple(name for name, _ in LINEAGE)

LEDGER_COLUMNS = (
    ("load_id", "NUMBER(38,0) NOT NULL"),  # LOAD_ID_SEQUENCE.NEXTVAL
    ("source", "VARCHAR NOT NULL"),
    ("file_key", "VARCHAR NOT NULL"),
    ("etag", "VARCHAR"),
    ("size_bytes", "NUMBER(38,0)"),
    ("status", "VARCHAR NOT NULL"),  # loaded | duplicate | failed
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
    return columns + list(LINEAGE)


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
        "-- Runs the Bronze loader's COPY, dbt's models and the readers' queries; suspended whenever idle.\n"
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
        "-- One row per landed file, written by the Dagster loader; the columns of the DuckDB loader's ledger.\n"
        + ledger_table_sql(n.table("bronze", LEDGER_TABLE)))
    statements.append(
        "-- Rows that did not type, each with its file, row number, raw record and reason.\n"
        + rejects_table_sql(n.table("bronze", REJECTS_TABLE)))
    return statements


def _grants(n: _Names, sources: list[Source]) -> list[str]:
    p = n.p
    loader, transformer, reader = p.loader_role, p.transformer_role, p.reader_role
    bronze_tables = [n.table("bronze", s.name) for s in sources]
    statements = [f"CREATE ROLE IF NOT EXISTS {role}" for role in (loader, transformer, reader)]
    statements += [f"GRANT ROLE {role} TO ROLE SYSADMIN" for role in (loader, transformer, reader)]
    statements += [f"GRANT USAGE ON DATABASE {p.database} TO ROLE {role}" for role in (loader, transformer, reader)]
    statements += [f"GRANT USAGE ON WAREHOUSE {p.warehouse} TO ROLE {role}" for role in (loader, transformer, reader)]

    statements.append(f"-- {loader}: the Dagster Bronze loader. COPY from the stage into its staging tables (it\n"
                      "-- creates them), then Bronze rows, rejects and one ledger row per file; nothing more.\n"
                      f"GRANT USAGE ON SCHEMA {n.bronze} TO ROLE {loader}")
    statements.append(f"GRANT USAGE ON INTEGRATION {p.integration} TO ROLE {loader}")
    statements.append(f"GRANT USAGE ON STAGE {n.stage} TO ROLE {loader}")
    statements.append(f"GRANT CREATE TABLE ON SCHEMA {n.bronze} TO ROLE {loader}")
    statements.append(f"GRANT USAGE ON SEQUENCE {n.load_id_sequence} TO ROLE {loader}")
    statements.append(f"GRANT SELECT, INSERT ON TABLE {n.table('bronze', LEDGER_TABLE)} TO ROLE {loader}")
    statements += [f"GRANT INSERT ON TABLE {table} TO ROLE {loader}"
                   for table in [*bronze_tables, n.table("bronze", REJECTS_TABLE)]]

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
        "-- _row_number (the record's number in the file), _ingested_at (the time of the insert), _load_id,\n"
        "-- _landing_date (the <YYYY-MM-DD> of the key) and _file_last_modified\n"
        "-- (the object's LastModified). The Dagster loader (medallion_platform/snowflake/bronze.py), Bronze's\n"
        "-- one writer, creates these objects with the same statements; there is no Snowpipe.\n"
        "--\n"
        "-- The dbt Silver models take the latest version of a key by _landing_date, _file_last_modified,\n"
        "-- _source_file, _row_number. _load_id is the file's ledger load_id (bronze.load_id_seq).\n"),
    "04_grants.sql": (
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
