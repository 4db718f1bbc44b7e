"""The Snowflake DDL renderer: every statement parses in sqlglot's Snowflake dialect (and where sqlglot
only has an opaque Command, the COPY / MERGE inside does), the checked-in files are what the renderer
produces, objects follow the source registry, bad parameters are refused by name, and the CLI writes the
files. Silver is not here: it is the dbt models, on Snowflake as on DuckDB."""

import dataclasses
import re

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from medallion_platform.bronze import loader as duckdb_loader
from medallion_platform.cli import main
from medallion_platform.landing import KEY_PATTERN
from medallion_platform.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from medallion_platform.snowflake.ddl import (
    FILES, LINEAGE_NAMES, SnowflakeParams, bronze_columns, landing_key_sql, render_files, render_statements,
    snowflake_type,
)
from medallion_platform.sources import SOURCES, Column, Source

CHECKED_IN = PROJECT_ROOT / "sql" / "snowflake"

# Statement kinds sqlglot 29 has no parser for: it returns an opaque exp.Command. Each is pinned by
# COMMAND_EXAMPLES below, so when sqlglot learns one, that test fails and this list must shrink.
COMMAND_ONLY = {
    "CREATE ROLE": r"CREATE ROLE ",
    "GRANT ROLE": r"GRANT ROLE ",
    "GRANT ON INTEGRATION": r"GRANT [A-Z, ]+ ON INTEGRATION ",
    "GRANT ON ALL, FUTURE": r"GRANT [A-Z, ]+ ON (ALL|FUTURE) ",
}
COMMAND_EXAMPLES = [
    ("CREATE ROLE", "CREATE ROLE IF NOT EXISTS r"),
    ("GRANT ROLE", "GRANT ROLE r TO ROLE SYSADMIN"),
    ("GRANT ON INTEGRATION", "GRANT USAGE ON INTEGRATION i TO ROLE r"),
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
    grants = [parse(s) for s in rendered["04_grants.sql"] if not command_kind(s)]
    assert {g.args["kind"] for g in grants} >= {"DATABASE", "WAREHOUSE", "SCHEMA", "STAGE", "SEQUENCE", "TABLE"}
    assert all(isinstance(g, exp.Grant) for g in grants)


def test_bronze_has_one_writer_the_dagster_loader_and_no_pipe_or_task(rendered):
    """No Snowpipe, task or other statement writes Bronze: the rendered files only create its objects
    (IF NOT EXISTS, with the statements the loader runs too) and grant the loader role what it needs."""
    text = "\n".join(code(s) for statements in rendered.values() for s in statements)
    assert not re.search(r"\b(PIPE|TASK|COPY INTO|INSERT INTO|MERGE INTO|UPDATE|DELETE FROM)\b", text)
    bronze_objects = [(file, parse(s)) for file, statements in rendered.items() for s in statements
                      if isinstance(parse(s), exp.Create) and parse(s).kind in ("TABLE", "SEQUENCE")
                      and ".bronze." in parse(s).this.sql()]
    assert len(bronze_objects) == len(SOURCES) + 3  # the tables, the sequence, the ledger and rejects
    for file, created in bronze_objects:
        assert file == "03_bronze_tables.sql" and created.args["exists"], created.sql()


def test_the_loader_role_has_what_the_copy_loader_needs_and_no_more(rendered):
    grants = {code(s) for s in rendered["04_grants.sql"] if "MEDALLION_LOADER" in s and s.startswith(("GRANT", "--"))}
    bronze_tables = [f"MEDALLION.bronze.{name}" for name in SOURCES]
    assert grants == {
        "GRANT ROLE MEDALLION_LOADER TO ROLE SYSADMIN",
        "GRANT USAGE ON DATABASE MEDALLION TO ROLE MEDALLION_LOADER",
        "GRANT USAGE ON WAREHOUSE MEDALLION_WH TO ROLE MEDALLION_LOADER",
        "GRANT USAGE ON SCHEMA MEDALLION.bronze TO ROLE MEDALLION_LOADER",
        "GRANT USAGE ON INTEGRATION MEDALLION_S3 TO ROLE MEDALLION_LOADER",
        "GRANT USAGE ON STAGE MEDALLION.bronze.landing TO ROLE MEDALLION_LOADER",
        "GRANT CREATE TABLE ON SCHEMA MEDALLION.bronze TO ROLE MEDALLION_LOADER",  # its staging tables
        "GRANT USAGE ON SEQUENCE MEDALLION.bronze.load_id_seq TO ROLE MEDALLION_LOADER",
        "GRANT SELECT, INSERT ON TABLE MEDALLION.bronze.load_ledger TO ROLE MEDALLION_LOADER",
        *(f"GRANT INSERT ON TABLE {t} TO ROLE MEDALLION_LOADER" for t in [*bronze_tables, "MEDALLION.bronze.rejects"]),
    }


def test_file_formats_cover_every_registry_format(rendered):
    formats = {parse(s).this.name: code(s) for s in rendered["02_file_formats.sql"]}
    for source in SOURCES.values():
        assert f"ff_{source.format}" in formats
    assert "SKIP_HEADER = 1" in formats["ff_csv"] and "FIELD_OPTIONALLY_ENCLOSED_BY = '\"'" in formats["ff_csv"]
    assert "STRIP_OUTER_ARRAY = TRUE" in formats["ff_json"]
    assert "STRIP_OUTER_ARRAY = FALSE" in formats["ff_jsonl"] and "TYPE = JSON" in formats["ff_jsonl"]
    assert "TYPE = PARQUET" in formats["ff_parquet"]


def test_no_snowflake_native_silver_beside_the_dbt_models(rendered):
    """Silver and Gold are the dbt models: nothing rendered here writes those schemas or reads a stream."""
    for file, statements in rendered.items():
        for statement in statements:
            assert not re.match(r"CREATE (OR REPLACE )?(STREAM|TABLE IF NOT EXISTS MEDALLION\.(silver|gold))",
                                code(statement)), (file, statement)
            assert "MERGE INTO" not in statement, (file, statement)


def test_the_landing_key_is_the_last_three_segments_of_the_objects_path():
    """landing_key_sql, which the loader's _source_file is, evaluated on DuckDB (whose SPLIT_PART counts
    from the end as Snowflake's does): the key the DuckDB loader accepts, with or without a prefix."""
    for path in ("customers/2026-11-22/crm.csv", "feeds/eu/customers/2026-11-22/crm.csv",
                 "s3://bucket/feeds/customers/2026-11-22/crm.csv"):
        sql = "SELECT " + landing_key_sql(f"'{path}'")
        key = duckdb.sql(sqlglot.transpile(sql, read="snowflake", write="duckdb")[0]).fetchone()[0]
        assert key == "customers/2026-11-22/crm.csv" and KEY_PATTERN.match(key), path


# --- Bronze: one shape, whichever path fills it ----------------------------------------------------

def test_bronze_has_every_lineage_column_the_dbt_silver_models_read():
    """The dbt models are written against the DuckDB loader's Bronze, and read Snowflake's Bronze
    as the Dagster loader fills it: every lineage column they name is in the one
    shape, those of version_order among them."""
    dbt_sql = "\n".join(path.read_text(encoding="utf-8") for path in
                        [*(DBT_PROJECT_DIR / "models" / "silver").glob("*.sql"), DBT_PROJECT_DIR / "macros" / "cleaning.sql"])
    read = {name for name, _ in duckdb_loader.LINEAGE_COLUMNS if re.search(rf"\b{name}\b", dbt_sql)}
    order = re.findall(r"macro (?:version|file)_order\(\)[^[]*\[([^]]*)\]", dbt_sql)
    assert len(order) == 2 and set(re.findall(r"'(\w+)'", "".join(order))) <= read, order
    for source in SOURCES.values():
        assert read <= {name for name, _ in bronze_columns(source)}, source.name


# --- the checked-in files ------------------------------------------------------------------------

def test_checked_in_files_are_what_the_renderer_produces():
    """sql/snowflake is rendered with the defaults. When the registry or the renderer changes, this
    fails until `medallion snowflake ddl` is run again and the new files are committed."""
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in sorted(CHECKED_IN.glob("*.sql"))}
    assert list(on_disk) == list(FILES)
    for name, text in render_files().items():
        assert on_disk[name] == text, f"sql/snowflake/{name} is stale: run `medallion snowflake ddl`"


# --- the registry drives the objects -------------------------------------------------------------

def test_a_source_added_to_the_registry_gets_its_table_and_grants():
    returns = Source(name="returns", format="csv", primary_key="return_id",
                     description="Returned orders (CSV).",
                     columns=(Column("return_id"), Column("transaction_id"), Column("amount", "DECIMAL(12,2)"),
                              Column("restocked", "BOOLEAN")))
    statements = render_statements(sources={**SOURCES, "returns": returns})
    baseline = render_statements()

    (table,) = [s for s in statements_starting("03_bronze_tables.sql", "CREATE TABLE", statements) if ".returns " in s]
    assert [(c.name, c.args["kind"].sql(dialect="snowflake")) for c in parse(table).this.expressions][:4] == [
        ("return_id", "VARCHAR"), ("transaction_id", "VARCHAR"), ("amount", "DECIMAL(12, 2)"), ("restocked", "BOOLEAN")]

    grants = statements["04_grants.sql"]
    for grant in ("GRANT INSERT ON TABLE MEDALLION.bronze.returns TO ROLE MEDALLION_LOADER",
                  "GRANT SELECT ON TABLE MEDALLION.bronze.returns TO ROLE MEDALLION_TRANSFORMER"):
        assert grant in [code(s) for s in grants]
    # Nothing about the other sources changed, and the registry itself was not touched.
    for file, before in baseline.items():
        assert set(before) - set(statements[file]) <= {s for s in before if "CREATE STAGE" in s}
    assert "returns" not in SOURCES


def test_payload_sources_get_a_variant_column():
    clicks = Source(name="clicks", format="jsonl", primary_key="click_id", description="Clicks.",
                    keep_payload=True, columns=(Column("click_id"), Column("at", "BIGINT")))
    statements = render_statements(sources={"clicks": clicks})
    (table,) = statements_starting("03_bronze_tables.sql", "CREATE TABLE IF NOT EXISTS MEDALLION.bronze.clicks", statements)
    assert "    payload VARIANT," in table


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
])
def test_a_malformed_literal_parameter_is_refused_naming_it(parameter, bad):
    with pytest.raises(ValueError, match=rf"^{parameter}: "):
        SnowflakeParams(**{parameter: bad})


def test_parameters_reach_the_sql():
    params = SnowflakeParams(database="ANALYTICS", warehouse="ETL_WH", bucket="acme-feeds", prefix="/landing/eu/",
                             aws_role_arn="arn:aws:iam::210987654321:role/sf",
                             integration="LANDING_S3", loader_role="LOAD", transformer_role="XFORM", reader_role="BI")
    text = "\n".join(render_files(params).values())
    assert "URL = 's3://acme-feeds/landing/eu/'" in text
    assert "STORAGE_ALLOWED_LOCATIONS = ('s3://acme-feeds/landing/eu/')" in text
    assert "STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::210987654321:role/sf'" in text
    assert "WAREHOUSE IF NOT EXISTS ETL_WH" in text and "WAREHOUSE ETL_WH TO ROLE XFORM" in text
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
