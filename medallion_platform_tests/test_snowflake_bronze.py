"""The Snowflake Bronze loader under fakesnow (patch mode), COPYing from moto's S3 server on 127.0.0.1.

fakesnow's DuckDB is given httpfs (from the duckdb-ext-httpfs package) and an S3 secret for the moto
endpoint, which is what the stage's storage integration gives Snowflake. Files are landed with
S3LandingZone.put_file and loaded through dagster_snowflake's SnowflakeResource, built from SNOWFLAKE_*
variables, with the COPY forms fakesnow runs (fakesnow_harness.warehouse.FakesnowCopy) and its rewrites.
"""

import csv
import json
from datetime import timezone
from pathlib import Path

import duckdb
import pytest
import sqlglot

from medallion_platform.bronze import loader as duckdb_loader
from medallion_platform.events_flatten import DuckDBFlatten, replace_flattened_view
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.landing import S3LandingZone
from medallion_platform.snowflake import bronze, ddl
from medallion_platform.snowflake.events_flatten import SnowflakeFlatten
from medallion_platform.snowflake.warehouse import snowflake_resource
from medallion_platform.sources import SOURCES, get_source
from medallion_platform_tests.fakesnow_harness.fake_dbt import fake_snowflake
from medallion_platform_tests.fakesnow_harness.warehouse import FAKESNOW_COPY

SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "fake", "SNOWFLAKE_USER": "loader", "SNOWFLAKE_PASSWORD": "secret",
    "SNOWFLAKE_ROLE": "LOADER", "SNOWFLAKE_WAREHOUSE": "LOAD_WH", "SNOWFLAKE_DATABASE": "MEDALLION",
}
CUSTOMER_HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"


@pytest.fixture
def landing(s3_endpoint, s3_bucket) -> S3LandingZone:
    return S3LandingZone(bucket=s3_bucket, prefix="feeds/", endpoint_url=s3_endpoint)


@pytest.fixture
def snowflake(landing, clean_env):
    """A SnowflakeResource on a fresh fakesnow, whose DuckDB reads the moto bucket."""
    for name, value in SNOWFLAKE_ENV.items():
        clean_env.setenv(name, value)
    with fake_snowflake():
        resource = snowflake_resource().process_config_and_initialize()
        with resource.get_connection() as connection:
            # One DuckDB database serves every fake connection: the extension and secret stay loaded.
            landing.configure_duckdb(connection._duck_conn)
        yield resource


@pytest.fixture
def stage(landing) -> bronze.ExternalStage:
    return bronze.ExternalStage.for_landing(landing, storage_integration="LANDING_S3")  # fakesnow ignores it


def load(snowflake, landing, stage, source: str):
    return bronze.load_source(snowflake, landing, get_source(source), stage, forms=FAKESNOW_COPY)


def query(snowflake, sql: str, params=None) -> list[tuple]:
    with snowflake.get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor.fetchall()


def land(landing: S3LandingZone, folder: Path, key: str, body: str | bytes) -> None:
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    landing.put_file(path, key)


def land_parquet(landing: S3LandingZone, folder: Path, key: str, select: str) -> None:
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    landing.put_file(path, key)


def drop_ragged_csv_lines(path: Path) -> int:
    """fakesnow runs COPY without ON_ERROR, and its CSV reader refuses a file with a line of another
    field count (Snowflake's ON_ERROR = CONTINUE loads around it): keep the generator's other dirt only."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [row for row in rows if len(row) == len(rows[0])]
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)
    return len(rows) - len(kept)


def bronze_rows(fetch, table: str, source) -> list[tuple]:
    columns = source.column_names + (["payload"] if source.keep_payload else []) + ["_source_file", "_row_number"]
    rows = fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY _source_file, _row_number")
    if source.keep_payload:  # JSON text from two engines: compare the values, not the spacing
        at = len(source.columns)
        rows = [row[:at] + (json.loads(row[at]),) + row[at + 1:] for row in rows]
    return [tuple(row) for row in rows]


def json_values(rows: list[tuple]) -> list[tuple]:
    """JSON text from two engines (payloads, arrays, raw JSON records): compared as values, not spacing."""
    return [tuple(json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v for v in row) for row in rows]


def test_every_source_loads_as_the_duckdb_loader_loads_the_same_files(snowflake, landing, stage, tmp_path):
    """The rules both loaders implement, on the same generated files: the same Bronze rows, the same
    rejects with the same reasons, the same ledger, and the same flattened events view over them."""
    raw = tmp_path / "raw"
    generate(GenerateConfig(scale=0.0005, days=1), raw)
    assert drop_ragged_csv_lines(raw / "customers/2026-11-20/customers_20261120.csv") > 0
    for name in SOURCES:
        landing.deliver_tree(raw, name)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for name, source in SOURCES.items():
        duckdb_loader.load_source(con, landing, source)
        report = load(snowflake, landing, stage, name)
        assert [f.status for f in report.files] == ["loaded"], report.files

    for source in SOURCES.values():
        expected = bronze_rows(lambda sql: con.execute(sql).fetchall(), f"bronze.{source.name}", source)
        actual = bronze_rows(lambda sql: query(snowflake, sql), bronze.bronze_table(source), source)
        assert len(actual) == len(expected) > 0, source.name
        assert [r[-2:] for r in actual] == [r[-2:] for r in expected], f"{source.name}: lineage differs"
        assert actual == expected, f"{source.name}: values differ"

    rejects = "SELECT source, file_key, row_number, reason FROM {} ORDER BY 1, 2, 3, 4"
    expected_rejects = con.execute(rejects.format("bronze.rejects")).fetchall()
    assert query(snowflake, rejects.format(bronze.REJECTS)) == expected_rejects
    assert {r[0] for r in expected_rejects} == {"customers", "events"}  # the generator's dirt, typed and parsed
    # A rejected JSON line is kept as its text on both (a CSV record as its line on DuckDB, its fields on Snowflake).
    raw = "SELECT file_key, row_number, raw_record FROM {} WHERE source = 'events' ORDER BY 1, 2"
    assert query(snowflake, raw.format(bronze.REJECTS)) == con.execute(raw.format("bronze.rejects")).fetchall()
    ledger = "SELECT source, file_key, etag, status, rows_loaded, rows_rejected FROM {} ORDER BY file_key"
    assert query(snowflake, ledger.format(bronze.LEDGER)) == con.execute(ledger.format("bronze.load_ledger")).fetchall()

    on_duckdb = replace_flattened_view(DuckDBFlatten(con), "gold")
    with snowflake.get_connection() as connection:
        on_snowflake = replace_flattened_view(SnowflakeFlatten(connection.cursor()), "gold")
    assert on_snowflake.columns == on_duckdb.columns
    columns = ", ".join(f'"{c.name.upper()}"' for c in on_duckdb.columns
                        if c.name not in ("_ingested_at", "_load_id", "_file_last_modified"))
    view = f"SELECT {columns} FROM gold.events_flattened ORDER BY _source_file, _row_number"
    expected_events = json_values(con.execute(view).fetchall())
    assert len(expected_events) > 0 and json_values(query(snowflake, view)) == expected_events


def test_integer_edges_type_alike_on_both_loaders(snowflake, landing, stage, tmp_path):
    """The registry's INTEGER is 32-bit on both loaders: Snowflake's column is NUMBER(38,0), so its
    typing checks the range DuckDB's INTEGER has; the bounds load, one past them is rejected alike."""
    # "thirty" keeps the column text under fakesnow, whose COPY lets DuckDB's sniffer type an all-number
    # column (Snowflake's fields are always text).
    ages = ["2147483647", "-2147483648", "2147483648", "-2147483649", "99999999999999999999", "30", "thirty", ""]
    body = "\n".join([CUSTOMER_HEADER] + [f"C{n},Ann,a@x.com,USA,VIP,2024-01-01,{age},F,3"
                                          for n, age in enumerate(ages)]) + "\n"
    land(landing, tmp_path, "customers/2026-11-20/edges.csv", body)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    duckdb_loader.load_source(con, landing, get_source("customers"))
    load(snowflake, landing, stage, "customers")
    rows = "SELECT customer_id, age FROM {} ORDER BY customer_id"
    expected = con.execute(rows.format("bronze.customers")).fetchall()
    assert expected == [("C0", 2147483647), ("C1", -2147483648), ("C5", 30), ("C7", None)]
    assert [(c, a if a is None else int(a)) for c, a in query(snowflake, rows.format("BRONZE.CUSTOMERS"))] == expected
    rejects = "SELECT row_number, reason FROM {} ORDER BY row_number"
    assert query(snowflake, rejects.format(bronze.REJECTS)) == con.execute(rejects.format("bronze.rejects")).fetchall()


def test_loading_again_loads_nothing(snowflake, landing, stage, tmp_path):
    land(landing, tmp_path, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    land(landing, tmp_path, "customers/2026-11-21/b.csv", f"{CUSTOMER_HEADER}\nC2,Bob,b@x.com,USA,VIP,2024-01-01,41,M,1\n")
    first = load(snowflake, landing, stage, "customers")
    second = load(snowflake, landing, stage, "customers")
    assert [f.status for f in first.files] == ["loaded", "loaded"]
    assert [f.status for f in second.files] == ["already_loaded", "already_loaded"]
    assert query(snowflake, "SELECT customer_id, _landing_date::VARCHAR, _load_id FROM BRONZE.CUSTOMERS ORDER BY 1") == [
        ("C1", "2026-11-20", 1), ("C2", "2026-11-21", 2)]
    # The object's LastModified from the S3 listing, in UTC without zone (TIMESTAMP_NTZ).
    listed = [o.last_modified.astimezone(timezone.utc).replace(tzinfo=None)
              for o in landing.list_objects(prefix="customers/")]
    assert [r[0] for r in query(snowflake, "SELECT _file_last_modified FROM BRONZE.CUSTOMERS ORDER BY customer_id")] == listed
    assert query(snowflake, f"SELECT count(*) FROM {bronze.LEDGER}") == [(2,)]
    assert query(snowflake, "SELECT count(*) FROM BRONZE.STAGED_CUSTOMERS") == [(0,)]


def test_a_relanded_copy_under_a_new_key_is_a_duplicate(snowflake, landing, stage, tmp_path):
    select = "SELECT 'TRX1' AS transaction_id, 'C1' AS customer_id, 'P1' AS product_id, 2 AS quantity, " \
             "19.99::DOUBLE AS total_amount, '2026-11-20' AS transaction_date, 'card' AS payment_method, " \
             "'online' AS store_type"
    land_parquet(landing, tmp_path, "transactions/2026-11-20/t.parquet", select)
    load(snowflake, landing, stage, "transactions")
    landing.put_file(tmp_path / "transactions/2026-11-20/t.parquet", "transactions/2026-11-22/t_resent.parquet")
    report = load(snowflake, landing, stage, "transactions")
    assert [(f.key, f.status) for f in report.files] == [
        ("transactions/2026-11-20/t.parquet", "already_loaded"),
        ("transactions/2026-11-22/t_resent.parquet", "duplicate")]
    assert query(snowflake, "SELECT transaction_id, quantity, total_amount::VARCHAR, _source_file, _row_number "
                            "FROM BRONZE.TRANSACTIONS") == [("TRX1", 2, "19.99", "transactions/2026-11-20/t.parquet", 1)]
    assert query(snowflake, f"SELECT status, rows_loaded, duplicate_of FROM {bronze.LEDGER} ORDER BY load_id") == [
        ("loaded", 1, None), ("duplicate", 0, "transactions/2026-11-20/t.parquet")]


def test_snowflake_load_metadata_skips_a_file_the_ledger_lost(snowflake, landing, stage, tmp_path):
    """The second guard: with our ledger row gone, COPY itself refuses to load the file again."""
    land(landing, tmp_path, "events/2026-11-20/e.jsonl", '{"event_id":"E1","event_type":"view"}\n')
    load(snowflake, landing, stage, "events")
    query(snowflake, f"DELETE FROM {bronze.LEDGER}")
    report = load(snowflake, landing, stage, "events")
    assert [f.status for f in report.files] == ["copy_skipped"]
    assert query(snowflake, "SELECT count(*) FROM BRONZE.EVENTS") == [(1,)]
    assert query(snowflake, f"SELECT count(*) FROM {bronze.LEDGER}") == [(0,)]


def test_rows_that_do_not_type_go_to_rejects_with_their_reason(snowflake, landing, stage, tmp_path):
    # The header's order is not the registry's: fields are matched by name.
    header = "age,customer_id,name,email,country,customer_type,registration_date,gender,total_purchases"
    land(landing, tmp_path, "customers/2026-11-20/c.csv", f"{header}\n30,C1,Ann,a@x.com,USA,VIP,2024-01-01,F,3\n"
         "thirty,C2,Bob,b@x.com,USA,VIP,2024-01-01,M,1x\n41,C3,Cy,c@x.com,USA,P,2024-01-01,M,0\n")
    land(landing, tmp_path, "products/2026-11-20/p.json",
         '[{"product_id":"P1","price":12.5,"is_active":true,"rating":4.5},\n'
         ' {"product_id":"P2","price":"N/A","is_active":true},\n 7,\n'
         ' {"product_id":"P4","price":1,"is_active":"maybe"}]\n')
    land(landing, tmp_path, "events/2026-11-20/e.jsonl",
         '{"event_id":"E1","event_type":"view","device":{"os":"iOS"},"ab":1}\n{"event_id":"E2","device":{"type":\n[1,2]\n')
    for name in ("customers", "products", "events"):
        report = load(snowflake, landing, stage, name)
        assert [f.status for f in report.files] == ["loaded"], report.files

    assert query(snowflake, "SELECT source, file_key, row_number, reason FROM BRONZE.REJECTS ORDER BY 1, 2, 3, 4") == [
        ("customers", "customers/2026-11-20/c.csv", 2, "age is not INTEGER (thirty); total_purchases is not INTEGER (1x)"),
        ("events", "events/2026-11-20/e.jsonl", 2, "line is not a JSON object"),
        ("events", "events/2026-11-20/e.jsonl", 3, "line is not a JSON object"),
        ("products", "products/2026-11-20/p.json", 2, "price is not DECIMAL(12,2) (N/A)"),
        ("products", "products/2026-11-20/p.json", 3, "record is not a JSON object"),
        ("products", "products/2026-11-20/p.json", 4, "is_active is not BOOLEAN (maybe)"),
    ]
    raw = query(snowflake, "SELECT raw_record FROM BRONZE.REJECTS WHERE source = 'events' AND row_number = 2")
    assert raw == [('{"event_id":"E2","device":{"type":',)]
    assert json.loads(query(snowflake, "SELECT raw_record FROM BRONZE.REJECTS WHERE source = 'customers'")[0][0])["age"] == "thirty"
    assert query(snowflake, "SELECT customer_id, age, _row_number FROM BRONZE.CUSTOMERS ORDER BY 1") == [
        ("C1", 30, 1), ("C3", 41, 3)]
    assert query(snowflake, "SELECT product_id, price::VARCHAR, rating, is_active FROM BRONZE.PRODUCTS") == [
        ("P1", "12.50", 4.5, True)]
    assert query(snowflake, "SELECT event_id, payload:device:os::VARCHAR FROM BRONZE.EVENTS") == [("E1", "iOS")]
    assert query(snowflake, f"SELECT source, rows_loaded, rows_rejected FROM {bronze.LEDGER} ORDER BY source") == [
        ("customers", 2, 1), ("events", 1, 2), ("products", 1, 3)]
    assert query(snowflake, f"SELECT unexpected_columns, missing_columns FROM {bronze.LEDGER} WHERE source = 'events'") == [
        ('["ab"]', '["event_timestamp","customer_id","session_id"]')]


def test_a_csv_lacking_a_column_has_every_row_rejected(snowflake, landing, stage, tmp_path):
    land(landing, tmp_path, "customers/2026-11-20/c.csv",
         "customer_id,name,email,country,customer_type,registration_date,gender\nC1,Ann,a@x.com,USA,VIP,2024-01-01,F\n")
    report = load(snowflake, landing, stage, "customers")
    assert report.files[0].columns.missing == ("age", "total_purchases")
    assert query(snowflake, "SELECT row_number, reason FROM BRONZE.REJECTS") == [
        (1, "file lacks column(s) age, total_purchases")]
    assert query(snowflake, f"SELECT missing_columns FROM {bronze.LEDGER}") == [('["age","total_purchases"]',)]


def test_an_unreadable_file_is_recorded_failed_and_the_others_load(snowflake, landing, stage, tmp_path):
    land(landing, tmp_path, "products/2026-11-20/cut.json", '[{"product_id":"P1","price":1},\n {"product_id":"P2"')
    land(landing, tmp_path, "products/2026-11-21/ok.json", '[{"product_id":"P3","price":1}]')
    report = load(snowflake, landing, stage, "products")
    assert [f.status for f in report.files] == ["failed", "loaded"]
    assert "not one JSON array" in report.files[0].detail
    assert query(snowflake, "SELECT product_id FROM BRONZE.PRODUCTS") == [("P3",)]
    assert query(snowflake, "SELECT count(*) FROM BRONZE.STAGED_PRODUCTS") == [(0,)]  # rolled back
    assert query(snowflake, f"SELECT status, error IS NOT NULL FROM {bronze.LEDGER} ORDER BY load_id") == [
        ("failed", True), ("loaded", False)]


def test_under_fakesnow_a_ragged_csv_fails_whole(snowflake, landing, stage, tmp_path):
    """What Snowflake loads with ON_ERROR = CONTINUE, fakesnow (no ON_ERROR) refuses: the file fails, nothing is lost silently."""
    land(landing, tmp_path, "customers/2026-11-20/c.csv",
         f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\nC2,Cut Short\n")
    report = load(snowflake, landing, stage, "customers")
    assert report.files[0].status == "failed"
    assert report.files[0].detail.startswith("customers/2026-11-20/c.csv: ")
    assert query(snowflake, "SELECT count(*) FROM BRONZE.CUSTOMERS") == [(0,)]


def test_records_copy_skipped_are_counted_in_one_rejects_row(snowflake, stage):
    """Production's ON_ERROR = CONTINUE path, fed a COPY result as Snowflake reports one."""
    source = get_source("customers")
    copied = bronze.CopyResult("PARTIALLY_LOADED", rows_loaded=8, errors_seen=2,
                               first_error="Found character 'x' instead of field delimiter ','", first_error_line=4)
    with snowflake.get_connection() as connection:
        cursor = connection.cursor()
        bronze.ensure_bronze_objects(cursor, source, stage)
        assert bronze.record_copy_errors(cursor, source, "customers/2026-11-20/c.csv", 7, copied) == 2
    assert query(snowflake, "SELECT load_id, file_key, row_number, reason FROM BRONZE.REJECTS") == [
        (7, "customers/2026-11-20/c.csv", 4,
         "COPY skipped 2 record(s) it could not parse; first: Found character 'x' instead of field delimiter ','")]


class RecordingCursor:
    """A cursor that keeps the text of every statement it executes."""

    def __init__(self, cursor):
        self.cursor, self.statements = cursor, []

    def execute(self, sql, *args):
        self.statements.append(sql)
        return self.cursor.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.cursor, name)


def test_the_loader_creates_bronze_with_the_statements_the_ddl_renders(snowflake, stage):
    """One definition of the Bronze objects: what the loader runs to create the sequence, ledger, rejects
    and Bronze tables is sql/snowflake/03_bronze_tables.sql statement for statement, but for the names
    (the loader's are the connection's database's BRONZE schema). Only the staging tables are its own."""
    with snowflake.get_connection() as connection:
        cursor = RecordingCursor(connection.cursor())
        for source in SOURCES.values():
            bronze.ensure_bronze_objects(cursor, source, stage)
    rendered_names = {bronze.LOAD_ID_SEQUENCE: "MEDALLION.bronze.load_id_seq", bronze.LEDGER: "MEDALLION.bronze.load_ledger",
                      bronze.REJECTS: "MEDALLION.bronze.rejects",
                      **{bronze.bronze_table(s): f"MEDALLION.bronze.{s.name}" for s in SOURCES.values()}}
    created = [s for s in cursor.statements if s.startswith(("CREATE TABLE", "CREATE SEQUENCE"))]
    own = [s for s in created if s.split()[5] in {bronze.staged_table(source) for source in SOURCES.values()}]
    assert len(own) == len(SOURCES)
    renamed = {s.replace(f" {s.split()[5]} ", f" {rendered_names[s.split()[5]]} ", 1) for s in created if s not in own}
    rendered = {"\n".join(line for line in s.splitlines() if not line.startswith("--"))
                for s in ddl.render_statements()["03_bronze_tables.sql"]}
    assert renamed == rendered
    for source in SOURCES.values():  # and that is the shape Bronze has
        with snowflake.get_connection() as connection:
            described = connection.cursor().execute(f"SELECT * FROM {bronze.bronze_table(source)} LIMIT 0").description
        assert [d[0].lower() for d in described] == [name for name, _ in ddl.bronze_columns(source)]


def test_production_statements_use_snowflake_forms_and_parse():
    """What fakesnow does not run is at least valid Snowflake SQL, with the forms the docstring lists."""
    stage = bronze.ExternalStage(url="s3://landing/feeds/", storage_integration="LANDING_S3")
    header = ["age", *(c for c in get_source("customers").column_names if c != "age")]
    for source in SOURCES.values():
        sql = bronze.copy_statement(source, stage, f"{source.name}/2026-11-20/f", header)
        sqlglot.parse_one(sql, read="snowflake")
        assert "METADATA$FILENAME, METADATA$FILE_ROW_NUMBER" in sql
        assert ("ON_ERROR = CONTINUE" in sql) == (source.format == "csv")
        fake = bronze.copy_statement(source, stage, f"{source.name}/2026-11-20/f", header, FAKESNOW_COPY)
        assert "METADATA$" not in fake and "ON_ERROR" not in fake
    csv_copy = bronze.copy_statement(get_source("customers"), stage, "customers/2026-11-20/f", header)
    assert "FROM (SELECT METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, $2, $3, $4, $5, $6, $7, $1, $8, $9, $10 " \
           "FROM @BRONZE.LANDING) FILES = ('customers/2026-11-20/f')" in csv_copy
    ddl = stage.create_sql()
    sqlglot.parse_one(ddl, read="snowflake")
    assert ddl == "CREATE STAGE IF NOT EXISTS BRONZE.LANDING URL = 's3://landing/feeds/' STORAGE_INTEGRATION = LANDING_S3"


# A key with a single quote is not here: fakesnow 0.11.4 writes the file name unescaped into the SQL of
# its own COPY result, which then fails to parse. The next test checks the statement for such keys.
@pytest.mark.parametrize("name", ["*.csv", "?.csv", "[ab].csv", "{a,b}.csv", 'say "q".csv', "with space.csv", "Müller é.csv"])
def test_a_key_with_glob_characters_copies_only_its_own_file(snowflake, landing, stage, tmp_path, name):
    """Issue 10.1 on Snowflake: COPY names the key in FILES = ('<key>'), a file name to Snowflake; fakesnow
    hands it to DuckDB as part of an s3:// URL, read literally once the landing zone configured DuckDB."""
    from medallion_platform_tests.test_bronze_loader import customer_line

    for i, each in enumerate(["a.csv", "b.csv", name]):
        land(landing, tmp_path / str(i), f"customers/2026-11-20/{each}", f"{CUSTOMER_HEADER}\n{customer_line(f'C{i}')}\n")
    report = load(snowflake, landing, stage, "customers")
    assert {f.status for f in report.files} == {"loaded"}, report.files
    assert sorted(query(snowflake, "SELECT _source_file, customer_id FROM BRONZE.CUSTOMERS")) == sorted(
        (f"customers/2026-11-20/{each}", f"C{i}") for i, each in enumerate(["a.csv", "b.csv", name]))


@pytest.mark.parametrize("key", ["customers/2026-11-20/it's.csv", "customers/2026-11-20/back\\slash *.csv"])
def test_copy_names_a_key_with_quotes_or_backslashes_exactly(key):
    """Snowflake reads backslash escapes in a string literal: FILES must still name the key itself."""
    stage = bronze.ExternalStage(url="s3://landing/feeds/", storage_integration="LANDING_S3")
    header = get_source("customers").column_names
    for forms in (bronze.SNOWFLAKE_COPY, FAKESNOW_COPY):
        statement = sqlglot.parse_one(bronze.copy_statement(get_source("customers"), stage, key, header, forms),
                                      read="snowflake")
        files = [p for p in statement.args["params"] if p.this.name.upper() == "FILES"][0]
        assert [literal.name for literal in files.find_all(sqlglot.exp.Literal)] == [key]


def test_json_lines_under_a_json_key_load_and_a_file_of_neither_fails(snowflake, landing, stage, tmp_path):
    """Issue 10.5 on Snowflake: a products feed that switched from an array to lines kept its .json key."""
    land(landing, tmp_path, "products/2026-11-20/lines.json",
         '{"product_id":"P1","price":1}\n{"product_id":"P2","price":"x"}\n\n{"product_id":"P3"}\n')
    land(landing, tmp_path, "products/2026-11-21/array.json", '[{"product_id":"P4","price":2}]')
    land(landing, tmp_path, "products/2026-11-22/neither.json", "product_id,price\nP5,1\n")
    report = load(snowflake, landing, stage, "products")
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in report.files] == [
        ("loaded", 2, 1), ("loaded", 1, 0), ("failed", 0, 0)]
    assert report.files[2].detail.endswith(duckdb_loader.NOT_JSON)
    assert query(snowflake, "SELECT product_id, _row_number FROM BRONZE.PRODUCTS ORDER BY 1") == [
        ("P1", 1), ("P3", 4), ("P4", 1)]
    assert query(snowflake, f"SELECT row_number, reason FROM {bronze.REJECTS}") == [(2, "price is not DECIMAL(12,2) (x)")]


def test_a_hostile_key_and_header_load_as_data(snowflake, landing, stage, tmp_path):
    """Semicolons and `--` in a key, and quotes, a backslash, semicolons and `--` in a CSV header, stay inside
    Snowflake literals (sql_text.py). Not a quote in the key: fakesnow pastes a COPY's file URL into the
    DuckDB SQL it runs without escaping it."""
    key = "customers/2026-11-20/ann; DROP TABLE bronze.load_ledger; -- x.csv"
    land(landing, tmp_path, key, f'{CUSTOMER_HEADER},"x\'); DROP TABLE bronze.rejects; --\\"\n'
                                 "C1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3,extra\n")
    report = load(snowflake, landing, stage, "customers")
    assert [(f.key, f.status, f.rows_loaded) for f in report.files] == [(key, "loaded", 1)], report.files
    assert query(snowflake, "SELECT _source_file, customer_id FROM bronze.customers") == [(key, "C1")]
    assert query(snowflake, "SELECT file_key FROM bronze.load_ledger") == [(key,)]
    assert query(snowflake, "SELECT count(*) FROM bronze.rejects") == [(0,)]
