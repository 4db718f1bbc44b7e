"""The Snowflake DDL renderer: every statement parses in sqlglot's Snowflake dialect (and where sqlglot
only has an opaque Command, the COPY / MERGE inside does), the checked-in files are what the renderer
produces, objects follow the source registry, bad parameters are refused by name, and the CLI writes the
files. Silver is not here: it is the dbt models, on Snowflake as on DuckDB."""

import dataclasses
import re
from datetime import datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from medallion_platform.bronze import loader as duckdb_loader
from medallion_platform.cli import main
from medallion_platform.landing import KEY_PATTERN
from medallion_platform.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from medallion_platform.snowflake.ddl import (
    FILES, LINEAGE, LINEAGE_NAMES, PIPE_LOAD_ID, SnowflakeParams, bronze_columns, key_pattern, render_files,
    render_statements, snowflake_type,
)
from medallion_platform.sources import SOURCES, Column, Source

CHECKED_IN = PROJECT_ROOT / "sql" / "snowflake"

# Statement kinds sqlglot 29 has no parser for: it returns an opaque exp.Command. Each is pinned by
# COMMAND_EXAMPLES below, so when sqlglot learns one, that test fails and this list must shrink.
COMMAND_ONLY = {
    "CREATE PIPE": r"CREATE (OR REPLACE )?PIPE ",
    "CREATE TASK": r"CREATE (OR REPLACE )?TASK ",
    "ALTER TASK": r"ALTER TASK ",
    "CREATE ROLE": r"CREATE ROLE ",
    "GRANT ROLE": r"GRANT ROLE ",
    "GRANT ON INTEGRATION, PIPE, TASK": r"GRANT [A-Z, ]+ ON (INTEGRATION|PIPE|TASK) ",
    "GRANT ON ALL, FUTURE": r"GRANT [A-Z, ]+ ON (ALL|FUTURE) ",
}
COMMAND_EXAMPLES = [
    ("CREATE PIPE", "CREATE PIPE IF NOT EXISTS d.s.p AUTO_INGEST = TRUE AS COPY INTO d.s.t FROM @d.s.st"),
    ("CREATE TASK", "CREATE OR REPLACE TASK d.s.k WAREHOUSE = w SCHEDULE = '5 MINUTE' AS SELECT 1"),
    ("ALTER TASK", "ALTER TASK d.s.k RESUME"),
    ("CREATE ROLE", "CREATE ROLE IF NOT EXISTS r"),
    ("GRANT ROLE", "GRANT ROLE r TO ROLE SYSADMIN"),
    ("GRANT ON INTEGRATION, PIPE, TASK", "GRANT USAGE ON INTEGRATION i TO ROLE r"),
    ("GRANT ON INTEGRATION, PIPE, TASK", "GRANT OPERATE, MONITOR ON PIPE d.s.p TO ROLE r"),
    ("GRANT ON INTEGRATION, PIPE, TASK", "GRANT OPERATE, MONITOR ON TASK d.s.k TO ROLE r"),
    ("GRANT ON ALL, FUTURE", "GRANT SELECT ON ALL TABLES IN SCHEMA d.g TO ROLE r"),
    ("GRANT ON ALL, FUTURE", "GRANT SELECT ON FUTURE VIEWS IN SCHEMA d.g TO ROLE r"),
]


def code(statement: str) -> str:
    """A rendered statement without its leading comment lines."""
    return "\n".join(line for line in statement.splitlines() if not line.startswith("--"))


def parse(sql: str) -> exp.Expression:
    expressions = sqlglot.parse(sql, read="snowflake")
    assert len(expressions) == 1, sql
    return expressions[0]


def head_and_body(statement: str) -> tuple[str, exp.Expression]:
    """A pipe's or task's options, and the statement after its `AS` parsed on its own."""
    head, body = code(statement).split("\nAS\n", 1)
    return head, parse(body)


def command_kind(statement: str) -> str | None:
    return next((kind for kind, pattern in COMMAND_ONLY.items() if re.match(pattern, code(statement))), None)


def statements_starting(file: str, prefix: str, statements=None) -> list[str]:
    statements = statements or render_statements()
    return [s for s in statements[file] if code(s).startswith(prefix)]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[str]]:
    return render_statements()


# --- parsing -------------------------------------------------------------------------------------

def test_every_statement_parses_and_only_statements_sqlglot_cannot_parse_are_commands(rendered):
    commands = set()
    for file, statements in rendered.items():
        assert statements, file
        for statement in statements:
            parsed = parse(statement)
            if isinstance(parsed, exp.Command):
                kind = command_kind(statement)
                assert kind, f"{file}: sqlglot could not parse, and it should:\n{statement}"
                commands.add(kind)
        # The file splits into exactly its statements (no semicolon lost or extra).
        assert len(sqlglot.parse(render_files()[file], read="snowflake")) == len(statements), file
    assert commands == set(COMMAND_ONLY), "every Command kind allowed is also used"


@pytest.mark.parametrize("kind, example", COMMAND_EXAMPLES)
def test_sqlglot_has_no_parser_for_the_command_kinds(kind, example):
    assert re.match(COMMAND_ONLY[kind], example)
    assert isinstance(parse(example), exp.Command), f"sqlglot now parses {kind}: drop it from COMMAND_ONLY"


def test_snowflake_objects_sqlglot_parses_are_real_expressions(rendered):
    kinds = {parse(s).args.get("kind") for f in ("01_integration_and_stage.sql", "02_file_formats.sql")
             for s in rendered[f]}
    assert {"DATABASE", "SCHEMA", "WAREHOUSE", "STORAGE INTEGRATION", "STAGE", "FILE FORMAT"} <= kinds
    grants = [parse(s) for s in rendered["05_grants.sql"] if not command_kind(s)]
    assert {g.args["kind"] for g in grants} >= {"DATABASE", "WAREHOUSE", "SCHEMA", "STAGE", "FILE FORMAT", "TABLE"}
    assert all(isinstance(g, exp.Grant) for g in grants)


def test_each_pipe_copies_its_source_from_the_stage_with_lineage(rendered):
    pipes = statements_starting("04_pipes.sql", "CREATE PIPE", rendered)
    assert len(pipes) == len(SOURCES)
    tables = {parse(s).this.this.name: parse(s).this for s in statements_starting("03_bronze_tables.sql", "CREATE TABLE", rendered)}
    for source, pipe in zip(SOURCES.values(), pipes):
        head, copy = head_and_body(pipe)
        assert head.startswith(f"CREATE PIPE IF NOT EXISTS MEDALLION.bronze.{source.name}_pipe")
        assert "AUTO_INGEST = TRUE" in head
        assert isinstance(copy, exp.Copy)
        target = copy.this
        assert target.this.sql() == f"MEDALLION.bronze.{source.name}"
        expected = source.column_names + (["payload"] if source.keep_payload else []) + list(LINEAGE_NAMES)
        assert [c.name for c in target.expressions] == expected
        # ... which are the Bronze table's columns, in its order
        assert [c.name for c in tables[source.name].expressions] == expected

        select = copy.find(exp.Select)
        assert len(select.expressions) == len(expected)
        assert select.args["from_"].sql(dialect="snowflake") == "FROM @MEDALLION.bronze.landing"
        lineage = dict(zip(LINEAGE_NAMES, (e.sql(dialect="snowflake") for e in select.expressions[-len(LINEAGE):])))
        assert "METADATA$FILENAME" in lineage["_source_file"] and "METADATA$FILENAME" in lineage["_landing_date"]
        assert lineage["_load_id"] == "TO_NUMBER(TO_CHAR(METADATA$FILE_LAST_MODIFIED, 'YYYYMMDDHH24MISSFF3'))"
        assert [lineage[name] for name in ("_row_number", "_ingested_at", "_file_last_modified")] == [
            "METADATA$FILE_ROW_NUMBER", "METADATA$START_SCAN_TIME", "METADATA$FILE_LAST_MODIFIED"]

        params = {p.this.name: p for p in copy.args["params"]}
        assert params["ON_ERROR"].expression.name == "CONTINUE"
        assert params["PATTERN"].expression.name == key_pattern(source.name)
        (format_name,) = params["FILE_FORMAT"].expressions
        assert format_name.name == "FORMAT_NAME" and format_name.args["value"].name == f"MEDALLION.bronze.ff_{source.format}"


def test_file_formats_cover_every_registry_format(rendered):
    formats = {parse(s).this.name: code(s) for s in rendered["02_file_formats.sql"]}
    for source in SOURCES.values():
        assert f"ff_{source.format}" in formats
    assert "SKIP_HEADER = 1" in formats["ff_csv"] and "FIELD_OPTIONALLY_ENCLOSED_BY = '\"'" in formats["ff_csv"]
    assert "STRIP_OUTER_ARRAY = TRUE" in formats["ff_json"]
    assert "STRIP_OUTER_ARRAY = FALSE" in formats["ff_jsonl"] and "TYPE = JSON" in formats["ff_jsonl"]
    assert "TYPE = PARQUET" in formats["ff_parquet"]


def test_the_ledger_task_inserts_copy_history_and_is_resumed(rendered):
    (ledger,) = statements_starting("04_pipes.sql", "CREATE OR REPLACE TASK MEDALLION.bronze", rendered)
    _, insert = head_and_body(ledger)
    assert isinstance(insert, exp.Insert) and insert.this.this.sql() == "MEDALLION.bronze.load_ledger"
    # Its ids come from the sequence the Dagster loader draws from too (03_bronze_tables.sql).
    assert insert.this.expressions[0].name == "load_id"
    assert insert.expression.expressions[0].sql() == "MEDALLION.bronze.load_id_seq.NEXTVAL"
    assert ledger.count("INFORMATION_SCHEMA.COPY_HISTORY(") == len(SOURCES)
    created = [code(s).splitlines()[0].split()[-1] for s in rendered["04_pipes.sql"]
               if code(s).startswith("CREATE OR REPLACE TASK")]
    resumed = [code(s).split()[2] for s in rendered["04_pipes.sql"] if code(s).startswith("ALTER TASK")]
    assert resumed == created == ["MEDALLION.bronze.record_loads"]


def test_no_snowflake_native_silver_beside_the_dbt_models(rendered):
    """Silver and Gold are the dbt models: nothing rendered here writes those schemas or reads a stream."""
    for file, statements in rendered.items():
        for statement in statements:
            assert not re.match(r"CREATE (OR REPLACE )?(STREAM|TABLE IF NOT EXISTS MEDALLION\.(silver|gold))",
                                code(statement)), (file, statement)
            assert "MERGE INTO" not in statement, (file, statement)


def test_pattern_and_lineage_follow_the_landing_key_layout():
    keys = {"customers/2026-11-22/crm.csv": True, "feeds/eu/customers/2026-11-22/crm.csv": True,
            "customers/2026-11-22/sub/crm.csv": False, "vipcustomers/2026-11-22/crm.csv": False,
            "products/2026-11-22/crm.csv": False, "customers/22-11-2026/crm.csv": False,
            "customers/2026-11-22/": False}
    for path, loads in keys.items():
        assert bool(re.fullmatch(key_pattern("customers"), path)) is loads, path
        if loads:  # what the pipe loads is a landing key the DuckDB loader accepts, under a prefix
            assert KEY_PATTERN.match("/".join(path.split("/")[-3:]))
    # _source_file and _landing_date, evaluated (on DuckDB, whose SPLIT_PART counts from the end as
    # Snowflake's does) for an object under a prefix: the landing key and its day.
    values = {}
    for name, _, expression in LINEAGE:
        if "METADATA$FILENAME" in expression:
            sql = "SELECT " + expression.replace("METADATA$FILENAME", "'feeds/eu/customers/2026-11-22/crm.csv'")
            values[name] = duckdb.sql(sqlglot.transpile(sql, read="snowflake", write="duckdb")[0]).fetchone()[0]
    assert values == {"_source_file": "customers/2026-11-22/crm.csv",
                      "_landing_date": datetime(2026, 11, 22).date()}


# --- Bronze: one shape, whichever path fills it ----------------------------------------------------

def pipe_load_id(landed: datetime) -> int:
    """What PIPE_LOAD_ID gives a file last modified at `landed`: YYYYMMDDHHMISSFFF."""
    return int(landed.strftime("%Y%m%d%H%M%S") + f"{landed.microsecond // 1000:03d}")


def test_bronze_has_every_lineage_column_the_dbt_silver_models_read():
    """The dbt models are written against the DuckDB loader's Bronze, and read Snowflake's Bronze
    whether the pipes or the Dagster loader filled it: every lineage column they name is in the one
    shape, those of version_rank's order among them."""
    dbt_sql = "\n".join(path.read_text(encoding="utf-8") for path in
                        [*(DBT_PROJECT_DIR / "models" / "silver").glob("*.sql"), DBT_PROJECT_DIR / "macros" / "cleaning.sql"])
    read = {name for name, _ in duckdb_loader.LINEAGE_COLUMNS if re.search(rf"\b{name}\b", dbt_sql)}
    order = ("_landing_date", "_file_last_modified", "_source_file", "_row_number")
    assert set(order) <= read
    assert re.search(r"order by " + ", ".join(f"{name} desc" for name in order), dbt_sql)
    for source in SOURCES.values():
        assert read <= {name for name, _ in bronze_columns(source)}, source.name


def test_a_pipes_load_id_is_the_files_last_modified_time_and_orders_files_as_they_landed():
    """PIPE_LOAD_ID, evaluated by fakesnow (Snowflake's TO_CHAR format run on DuckDB): one value per
    file, increasing with its LastModified, above any id the loader's sequence gives."""
    import fakesnow  # noqa: PLC0415
    import snowflake.connector  # noqa: PLC0415

    landed = [datetime(2026, 11, 22, 10, 5, 7, 123000), datetime(2026, 11, 22, 10, 5, 7, 124000),
              datetime(2026, 11, 23, 0, 0, 0)]
    with fakesnow.patch(), snowflake.connector.connect(database="MEDALLION", schema="BRONZE") as connection:
        cursor = connection.cursor()
        ids = []
        for moment in landed:
            sql = PIPE_LOAD_ID.replace("METADATA$FILE_LAST_MODIFIED", f"'{moment.isoformat(sep=' ')}'::TIMESTAMP_NTZ")
            cursor.execute(f"SELECT {sql}")
            ids.append(int(cursor.fetchone()[0]))
    assert ids == [pipe_load_id(moment) for moment in landed] == [20261122100507123, 20261122100507124,
                                                                  20261123000000000]
    assert ids == sorted(ids) and min(ids) > 10**16


# --- the checked-in files ------------------------------------------------------------------------

def test_checked_in_files_are_what_the_renderer_produces():
    """sql/snowflake is rendered with the defaults. When the registry or the renderer changes, this
    fails until `medallion snowflake ddl` is run again and the new files are committed."""
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in sorted(CHECKED_IN.glob("*.sql"))}
    assert list(on_disk) == list(FILES)
    for name, text in render_files().items():
        assert on_disk[name] == text, f"sql/snowflake/{name} is stale: run `medallion snowflake ddl`"


# --- the registry drives the objects -------------------------------------------------------------

def test_a_source_added_to_the_registry_gets_its_table_pipe_and_grants():
    returns = Source(name="returns", format="csv", primary_key="return_id",
                     description="Returned orders (CSV).",
                     columns=(Column("return_id"), Column("transaction_id"), Column("amount", "DECIMAL(12,2)"),
                              Column("restocked", "BOOLEAN")))
    statements = render_statements(sources={**SOURCES, "returns": returns})
    baseline = render_statements()

    (table,) = [s for s in statements_starting("03_bronze_tables.sql", "CREATE TABLE", statements) if ".returns " in s]
    assert [(c.name, c.args["kind"].sql(dialect="snowflake")) for c in parse(table).this.expressions][:4] == [
        ("return_id", "VARCHAR"), ("transaction_id", "VARCHAR"), ("amount", "DECIMAL(12, 2)"), ("restocked", "BOOLEAN")]

    (pipe,) = [s for s in statements_starting("04_pipes.sql", "CREATE PIPE", statements) if "returns_pipe" in s]
    _, copy = head_and_body(pipe)
    assert copy.this.this.sql() == "MEDALLION.bronze.returns"
    assert {p.this.name: p.expression.name for p in copy.args["params"] if p.expression} == {
        "PATTERN": key_pattern("returns"), "ON_ERROR": "CONTINUE"}
    assert [e.sql(dialect="snowflake") for e in copy.find(exp.Select).expressions[:4]] == [
        "$1", "$2", "CAST($3 AS DECIMAL(12, 2))", "CAST($4 AS BOOLEAN)"]

    ledger_task = next(s for s in statements["04_pipes.sql"] if "record_loads\n" in s)
    assert "INFORMATION_SCHEMA.COPY_HISTORY" in ledger_task and "'MEDALLION.bronze.returns'" in ledger_task

    grants = statements["05_grants.sql"]
    for grant in ("GRANT INSERT ON TABLE MEDALLION.bronze.returns TO ROLE MEDALLION_LOADER",
                  "GRANT OPERATE, MONITOR ON PIPE MEDALLION.bronze.returns_pipe TO ROLE MEDALLION_LOADER",
                  "GRANT SELECT ON TABLE MEDALLION.bronze.returns TO ROLE MEDALLION_TRANSFORMER"):
        assert grant in [code(s) for s in grants]
    # Nothing about the other sources changed, and the registry itself was not touched.
    for file, before in baseline.items():
        assert set(before) - set(statements[file]) <= {s for s in before if "record_loads" in s or "CREATE STAGE" in s}
    assert "returns" not in SOURCES


def test_payload_sources_get_a_variant_column_and_json_values_by_key():
    clicks = Source(name="clicks", format="jsonl", primary_key="click_id", description="Clicks.",
                    keep_payload=True, columns=(Column("click_id"), Column("at", "BIGINT")))
    statements = render_statements(sources={"clicks": clicks})
    (table,) = statements_starting("03_bronze_tables.sql", "CREATE TABLE IF NOT EXISTS MEDALLION.bronze.clicks", statements)
    assert "    payload VARIANT," in table
    (pipe,) = statements_starting("04_pipes.sql", "CREATE PIPE", statements)
    _, copy = head_and_body(pipe)
    assert [e.sql(dialect="snowflake") for e in copy.find(exp.Select).expressions[:3]] == [
        "CAST(GET_PATH($1, 'click_id') AS VARCHAR)", "CAST(GET_PATH($1, 'at') AS DECIMAL(38, 0))", "$1"]
    assert "FORMAT_NAME = 'MEDALLION.bronze.ff_jsonl'" in pipe


def test_registry_types_map_to_snowflake_types():
    assert {c.type: snowflake_type(c.type) for s in SOURCES.values() for c in s.columns} == {
        "VARCHAR": "VARCHAR", "INTEGER": "NUMBER(38,0)", "DECIMAL(12,2)": "NUMBER(12,2)",
        "DOUBLE": "FLOAT", "BOOLEAN": "BOOLEAN"}
    with pytest.raises(ValueError, match="HUGEINT"):
        snowflake_type("HUGEINT")


# --- parameters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("parameter", ["database", "warehouse", "integration", "loader_role",
                                       "transformer_role", "reader_role"])
@pytest.mark.parametrize("bad", ["1MEDALLION", "MY-DB", "MY DB", "DB;DROP", 'A"B', ""])
def test_an_invalid_identifier_is_refused_naming_the_parameter(parameter, bad):
    with pytest.raises(ValueError, match=rf"^{parameter}: .*not a Snowflake identifier"):
        SnowflakeParams(**{parameter: bad})


@pytest.mark.parametrize("parameter, bad", [
    ("bucket", "My_Bucket"), ("bucket", "b'"), ("prefix", "it's"), ("prefix", "a//b"),
    ("aws_role_arn", "arn:aws:iam::123:role/x"), ("aws_role_arn", "role/x' OR 1"),
    ("ledger_schedule", "5 MINUTE'; DROP DATABASE x; --"), ("ledger_schedule", "hourly"),
])
def test_a_malformed_literal_parameter_is_refused_naming_it(parameter, bad):
    with pytest.raises(ValueError, match=rf"^{parameter}: "):
        SnowflakeParams(**{parameter: bad})


def test_parameters_reach_the_sql():
    params = SnowflakeParams(database="ANALYTICS", warehouse="ETL_WH", bucket="acme-feeds", prefix="/landing/eu/",
                             aws_role_arn="arn:aws:iam::210987654321:role/sf", ledger_schedule="USING CRON 0 * * * * UTC",
                             integration="LANDING_S3", loader_role="LOAD", transformer_role="XFORM", reader_role="BI")
    text = "\n".join(render_files(params).values())
    assert "URL = 's3://acme-feeds/landing/eu/'" in text
    assert "STORAGE_ALLOWED_LOCATIONS = ('s3://acme-feeds/landing/eu/')" in text
    assert "STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::210987654321:role/sf'" in text
    assert "SCHEDULE = 'USING CRON 0 * * * * UTC'" in text and "WAREHOUSE = ETL_WH" in text
    assert "MEDALLION" not in text.replace("medallion", "")  # the database name is nowhere hard-coded
    assert "GRANT SELECT ON FUTURE VIEWS IN SCHEMA ANALYTICS.gold TO ROLE BI" in text
    for file, statements in render_statements(params).items():
        for statement in statements:
            parse(statement)


def test_an_invalid_name_in_the_registry_is_refused():
    bad = Source(name="web-events", format="jsonl", primary_key="id", description="", columns=(Column("id"),))
    with pytest.raises(ValueError, match="source name 'web-events'"):
        render_statements(sources={"web-events": bad})


# --- the CLI -------------------------------------------------------------------------------------

def test_cli_writes_the_numbered_files(tmp_path, capsys):
    out = tmp_path / "snowflake"
    argv = ["snowflake", "ddl", "--out", str(out), "--bucket", "acme-feeds", "--prefix", "landing",
            "--role-arn", "arn:aws:iam::210987654321:role/sf", "--database", "ANALYTICS", "--warehouse", "ETL_WH"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / name) for name in FILES]
    expected = render_files(SnowflakeParams(database="ANALYTICS", warehouse="ETL_WH", bucket="acme-feeds",
                                            prefix="landing", aws_role_arn="arn:aws:iam::210987654321:role/sf"))
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == expected
    assert "URL = 's3://acme-feeds/landing/'" in expected["01_integration_and_stage.sql"]


def test_cli_refuses_a_bad_parameter_and_writes_nothing(tmp_path, capsys):
    assert main(["snowflake", "ddl", "--out", str(tmp_path / "x"), "--database", "my-db"]) == 2
    assert "database: 'my-db'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SnowflakeParams().database = "OTHER"
