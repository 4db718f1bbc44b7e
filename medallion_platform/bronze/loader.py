"""Load landed files into Bronze exactly once, keeping lineage and every row that cannot be typed.

One loader serves every source in the registry. Each file is loaded in its own transaction:
its good rows into `bronze.<source>`, its bad rows into `bronze.rejects` with the reason, and one
row into `bronze.load_ledger`. The ledger is keyed by content (the etag), so a file delivered again,
under the same key or another, or a retried run, loads nothing twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import duckdb

from medallion_platform.landing import LandedObject, LandingZone, parse_key
from medallion_platform.sources import Source
from medallion_platform.sql_text import quote_ident, sql_literal

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SEQUENCE IF NOT EXISTS bronze.load_id_seq START 1;
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
    loaded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS bronze.rejects (
    load_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_key VARCHAR NOT NULL,
    row_number BIGINT,                -- record number in the file (CSV parse errors: the line)
    raw_record VARCHAR,
    reason VARCHAR NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL
);
"""

LINEAGE_COLUMNS = (
    ("_source_file", "VARCHAR"),   # landing key the row came from
    ("_row_number", "BIGINT"),     # record number within that file, 1-based
    ("_ingested_at", "TIMESTAMPTZ"),
    ("_load_id", "BIGINT"),        # bronze.load_ledger.load_id; increases with load order
    ("_landing_date", "DATE"),     # the day in the file's key: the Dagster partition it belongs to
)


@dataclass(frozen=True)
class FileColumns:
    """How a file's columns differ from the registry's: the input of the schema-change check."""

    unexpected: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @classmethod
    def compare(cls, source: Source, present: list[str]) -> "FileColumns":
        known = set(source.column_names) | set(source.payload_keys)
        return cls(unexpected=tuple(sorted(c for c in present if c not in known)),
                   missing=tuple(c for c in source.column_names if c not in present))

    def __str__(self) -> str:
        parts = [f"unexpected columns: {', '.join(self.unexpected)}"] if self.unexpected else []
        parts += [f"missing columns: {', '.join(self.missing)}"] if self.missing else []
        return "; ".join(parts)


@dataclass
class FileResult:
    key: str
    status: str  # loaded | duplicate | failed | already_loaded
    rows_loaded: int = 0
    rows_rejected: int = 0
    detail: str | None = None
    columns: FileColumns = FileColumns()


@dataclass
class LoadReport:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def failures(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


def ensure_bronze_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(LEDGER_DDL)
    columns = [f"{quote_ident(c.name)} {c.type}" for c in source.columns]
    if source.keep_payload:
        columns.append("payload JSON")
    columns += [f"{name} {type_}" for name, type_ in LINEAGE_COLUMNS]
    con.execute(f"CREATE TABLE IF NOT EXISTS bronze.{source.name} ({', '.join(columns)})")


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
    earlier_keys = [k for (k,) in con.execute(
        "SELECT file_key FROM bronze.load_ledger WHERE source = ? AND etag = ? ORDER BY load_id",
        [source.name, obj.etag],
    ).fetchall()]
    if obj.key in earlier_keys:
        return FileResult(obj.key, "already_loaded")
    load_id = _next_load_id(con)
    if earlier_keys:
        _record(con, load_id, source, obj, "duplicate", duplicate_of=earlier_keys[0])
        return FileResult(obj.key, "duplicate", detail=f"same content as {earlier_keys[0]}")

    in_transaction = False
    try:
        parse_key(obj.key)
        # Stage outside the transaction: temp-table rowids are only final once committed.
        columns = _stage(con, landing, source, obj)
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        loaded, rejected = _insert_staged(con, source, obj, load_id)
        _record(con, load_id, source, obj, "loaded", loaded, rejected, columns=columns)
        con.execute("COMMIT")
        in_transaction = False
        return FileResult(obj.key, "loaded", loaded, rejected, detail=str(columns) or None, columns=columns)
    except (duckdb.Error, ValueError, UnicodeDecodeError) as error:
        if in_transaction:
            con.execute("ROLLBACK")
        message = f"{obj.key}: {type(error).__name__}: {error}".splitlines()[0]
        _record(con, load_id, source, obj, "failed", error=message)
        return FileResult(obj.key, "failed", detail=message)
    finally:
        for name in ("_checked", "_stage"):
            con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in ("_raw_in", "_csv_errors", "_csv_scans"):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def _next_load_id(con) -> int:
    return con.execute("SELECT nextval('bronze.load_id_seq')").fetchone()[0]


def _record(con, load_id, source, obj, status, loaded=0, rejected=0, duplicate_of=None,
            columns: FileColumns = FileColumns(), error=None) -> None:
    con.execute(
        "INSERT INTO bronze.load_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
        [load_id, source.name, obj.key, obj.etag, obj.size, status, loaded, rejected, duplicate_of,
         list(columns.unexpected) or None, list(columns.missing) or None, error],
    )


# --- staging: every format becomes the view `_stage(_row_number, _raw, _record_error, <columns>)` ---

def _stage(con, landing: LandingZone, source: Source, obj: LandedObject) -> FileColumns:
    """Read the file into temp objects; return how its columns differ from the registry's."""
    uri = sql_literal(landing.duckdb_uri(obj.key))
    if source.format == "csv":
        return _stage_csv(con, landing, source, obj, uri)
    if source.format in ("json", "jsonl"):
        return _stage_json(con, source, uri)
    if source.format == "parquet":
        return _stage_parquet(con, source, uri)
    raise ValueError(f"source {source.name!r}: unsupported format {source.format!r}")


def _missing_columns_error(columns: FileColumns) -> str:
    """For tabular files a missing column makes every row unusable: each is rejected with this reason."""
    if not columns.missing:
        return "NULL::VARCHAR"
    return sql_literal(f"file lacks column(s) {', '.join(columns.missing)}")


def _stage_csv(con, landing, source, obj, uri) -> FileColumns:
    head = landing.read_head(obj.key, 1 << 16).decode("utf-8-sig", errors="replace")
    header = next(csv.reader(io.StringIO(head)), [])
    if not header:
        raise ValueError("CSV file is empty: no header row")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ValueError(f"CSV header repeats column(s) {', '.join(duplicated)}")
    columns = "{" + ", ".join(f"{sql_literal(h)}: 'VARCHAR'" for h in header) + "}"
    con.execute(
        f"CREATE TEMP TABLE _raw_in AS SELECT * FROM read_csv({uri}, columns={columns}, header=true, "
        "auto_detect=false, delim=',', quote='\"', escape='\"', store_rejects=true, "
        "rejects_table='_csv_errors', rejects_scan='_csv_scans')"
    )
    columns = FileColumns.compare(source, header)
    picked = [f"{'NULL' if c in columns.missing else quote_ident(c)}::VARCHAR AS {quote_ident(c)}"
              for c in source.column_names]
    raw = "to_json(struct_pack(" + ", ".join(f"{quote_ident(h)} := {quote_ident(h)}" for h in header) + "))::VARCHAR"
    con.execute(
        f"CREATE TEMP VIEW _stage AS SELECT rowid + 1 AS _row_number, {raw} AS _raw, "
        f"{_missing_columns_error(columns)} AS _record_error, {', '.join(picked)} FROM _raw_in"
    )
    return columns


def _stage_json(con, source, uri) -> FileColumns:
    """JSON records may omit keys (read as NULL), so a column is missing only if no record has it."""
    if source.format == "json":
        con.execute(
            f"CREATE TEMP TABLE _raw_in AS SELECT json::VARCHAR AS line FROM read_json_objects({uri}, format='array')"
        )
        invalid = "'record is not a JSON object'"
    else:
        # Read lines as text first, so one malformed line is rejected instead of failing the file.
        con.execute(
            f"CREATE TEMP TABLE _raw_in AS SELECT line FROM read_csv({uri}, columns={{'line': 'VARCHAR'}}, "
            "header=false, auto_detect=false, delim='\\0', quote='', escape='', strict_mode=false)"
        )
        invalid = "'line is not a JSON object'"
    picked = [f"CASE WHEN _ok THEN line->>{sql_literal(c)} END AS {quote_ident(c)}" for c in source.column_names]
    payload = ", CASE WHEN _ok THEN line::JSON END AS payload" if source.keep_payload else ""
    con.execute(
        "CREATE TEMP VIEW _stage AS SELECT _row_number, line AS _raw, "
        f"CASE WHEN NOT _ok THEN {invalid} END AS _record_error, {', '.join(picked)}{payload} FROM ("
        "  SELECT rowid + 1 AS _row_number, line,"
        "         CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS _ok"
        "  FROM _raw_in) WHERE line IS NOT NULL AND trim(line) <> ''"
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
        f"DATE {sql_literal(day)} "
        "FROM _checked WHERE _reason IS NULL ORDER BY _row_number"
    ).fetchone()[0]
    rejected = con.execute(
        f"INSERT INTO bronze.rejects SELECT {load_id}, {sql_literal(source.name)}, {key}, _row_number, _raw, "
        "_reason, now() FROM _checked WHERE _reason IS NOT NULL ORDER BY _row_number"
    ).fetchone()[0]
    if source.format == "csv":
        rejected += con.execute(
            f"INSERT INTO bronze.rejects SELECT {load_id}, {sql_literal(source.name)}, {key}, line, "
            "first(csv_line ORDER BY column_idx), 'unparseable CSV line: ' || string_agg(DISTINCT error_type, ', ') "
            "|| ' (' || first(error_message ORDER BY column_idx) || ')', now() "
            "FROM _csv_errors GROUP BY line ORDER BY line"
        ).fetchone()[0]
    return loaded, rejected
