"""The same dbt models on Snowflake give the same Silver and Gold as on DuckDB, Snowflake played by fakesnow.

One set of generated feeds (two landing days, plus a few hand-written rows for the cleaning rules whose
SQL differs between the warehouses) is loaded by the real DuckDB Bronze loader; the very same Bronze
rows, every column and the lineage included, are copied into a fakesnow database. Then the real dbt CLI
builds both: `dbt build` on DuckDB, and `python -m medallion_platform_tests.fakesnow_harness.fake_dbt build --target
snowflake` (dbt-snowflake under fakesnow.patch, in its own process). Day 1 is a full build; day 2 is
landed afterwards and built incrementally (the window variables set as Dagster sets them), which on
Snowflake runs silver.transactions' delete+insert and the Gold facts' pre-hook deletes. After each
round every Silver and Gold relation must hold the same rows on both: money to the cent.

What this cannot show (see fakesnow_harness/fake_dbt.py): fakesnow executes on DuckDB, so
Snowflake's own reading of dates, numbers and division is not exercised. The non-money ratios of
gold.inventory_status are DOUBLE here and NUMBER on real Snowflake, so they are compared to 1e-9.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import fakesnow
import pytest
import snowflake.connector
import snowflake.connector.pandas_tools

from medallion_platform.bronze.loader import load_source
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.landing import LocalLandingZone
from medallion_platform.partitions import LOOKBACK_DAYS
from medallion_platform.settings import DBT_PROJECT_DIR
from medallion_platform.sources import SOURCES
from medallion_platform_tests.snapshots import differences, money_total, snapshot_rows

DAYS = [date(2026, 11, 20), date(2026, 11, 21)]
DATABASE = "MEDALLION"
SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "fake", "SNOWFLAKE_USER": "dbt", "SNOWFLAKE_PASSWORD": "secret",
    "SNOWFLAKE_ROLE": "TRANSFORMER", "SNOWFLAKE_WAREHOUSE": "TRANSFORM_WH", "SNOWFLAKE_DATABASE": DATABASE,
}
# The Bronze tables dbt reads (sql/models/sources.yml; no model reads bronze.events).
BRONZE_SOURCES = ("customers", "products", "transactions")
# DuckDB's Bronze types and the Snowflake types the same values have there (DECIMAL(p,s) is NUMBER(p,s)).
SNOWFLAKE_TYPES = {
    "VARCHAR": "VARCHAR", "INTEGER": "NUMBER(38,0)", "BIGINT": "NUMBER(38,0)", "DOUBLE": "FLOAT",
    "BOOLEAN": "BOOLEAN", "DATE": "DATE", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_TZ", "TIMESTAMP": "TIMESTAMP_NTZ",
}

# Rows whose cleaning differs in SQL between the warehouses: words joined by punctuation (INITCAP's
# default delimiters), dates in the layouts DuckDB's TRY_CAST accepts or not, stock strings that are
# decimals or overflow DuckDB's INTEGER.
EDGE_CUSTOMERS = """customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases
CX01,  mary-jane   o'neil ,Mary.Jane@Example.COM ,usa,prem,2024-5-6,30,f,3
CX02,ANNE-marie st. john,bad@,U.K.,VIP,2024/05/06,40,M,1
CX03,émile zola,emile@x.fr,france ,Gold,2024-05-06 10:00:00,50,X,2
CX04,dr. who?,who@x.io,,R,05/06/2024,25,,0
CX05,bo,b@x.io,Narnia,regular,2021-02-30,25,male,-2
CX06,al,al@x.io,DE,P,2024-05-06T08:00:00,25,F,1
"""
EDGE_PRODUCTS = [
    {"product_id": "PX01", "name": "smart-watch PRO", "category": "home & kitchen", "brand": "Acme",
     "price": 10.5, "stock_quantity": "12.5", "rating": 4.0, "is_active": True},
    {"product_id": "PX02", "name": "kid's (big) kite", "category": "toys/games", "brand": "B", "price": 1,
     "stock_quantity": "3000000000", "rating": 2.5, "is_active": True},
    {"product_id": "PX03", "name": "lamp", "category": "home", "brand": "C", "price": 2.25,
     "stock_quantity": " -4 ", "rating": 3.0, "is_active": False},
    {"product_id": "PX04", "name": "ball", "category": "sports", "brand": "D", "price": 3.1,
     "stock_quantity": "-2.5", "rating": 1.0, "is_active": True},
]


def _subprocess_env(folder: Path, **extra: str) -> dict[str, str]:
    """This process's environment without Snowflake credentials, a landing window or dbt paths; dbt's
    target and logs in `folder` (one per warehouse, so each keeps its own partial parse)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SNOWFLAKE_", "MEDALLION_MIN_", "MEDALLION_MAX_", "DBT_"))}
    env.update(DBT_TARGET_PATH=str(folder / "target"), DBT_LOG_PATH=str(folder / "logs"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1", PYTHONWARNINGS="ignore", **extra)
    return env


class Warehouses:
    """The DuckDB warehouse and the fakesnow one, fed the same Bronze rows and built by dbt."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.landing = LocalLandingZone(root=str(tmp / "landing"))
        self.duckdb_path = tmp / "warehouse.duckdb"
        self.fakesnow_dir = tmp / "fakesnow"
        self.fakesnow_dir.mkdir()

    def land_and_load(self, raw: Path, day: date) -> None:
        """Land the day's files, load them into DuckDB's Bronze, and append the same rows to fakesnow's."""
        for path in sorted(raw.glob(f"*/{day.isoformat()}/*")):
            self.landing.put_file(path, path.relative_to(raw).as_posix())
        with duckdb.connect(str(self.duckdb_path)) as con:
            for name in BRONZE_SOURCES:
                report = load_source(con, self.landing, SOURCES[name])
                assert not report.failures, report.failures
            with fakesnow.patch(db_path=self.fakesnow_dir):
                with snowflake.connector.connect(**_connect_args(), schema="BRONZE") as snow:
                    for name in BRONZE_SOURCES:
                        _copy_bronze(con, snow, name, day)

    def build(self, day: date, incremental: bool) -> None:
        """dbt build on both warehouses at once (two processes, two database files)."""
        window = {}
        if incremental:  # as medallion_platform.defs.dbt sets them for a run of `day`
            window = {"MEDALLION_MIN_LANDING_DATE": (day - timedelta(days=LOOKBACK_DAYS)).isoformat(),
                      "MEDALLION_MAX_LANDING_DATE": day.isoformat()}
        dirs = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        commands = {
            "duckdb": ([str(Path(sys.executable).with_name("dbt")), "build", *dirs],
                       {"MEDALLION_DUCKDB_PATH": str(self.duckdb_path), "MEDALLION_DUCKDB_THREADS": "1",
                        "MEDALLION_DUCKDB_MEMORY_LIMIT": "2GB"}),
            "snowflake": ([sys.executable, "-m", "medallion_platform_tests.fakesnow_harness.fake_dbt", "build",
                           "--target", "snowflake", *dirs],
                          {"MEDALLION_FAKESNOW_DIR": str(self.fakesnow_dir), **SNOWFLAKE_ENV}),
        }
        running = {}
        for name, (command, variables) in commands.items():
            log = self.tmp / f"dbt_{name}_{day.isoformat()}.log"
            with open(log, "w") as output:
                running[name] = (log, subprocess.Popen(
                    command, stdout=output, stderr=subprocess.STDOUT,
                    env=_subprocess_env(self.tmp / name, **variables, **window)))
        for name, (log, process) in running.items():
            process.wait(timeout=240)
            assert process.returncode == 0, f"dbt build on {name} failed:\n{log.read_text()[-6000:]}"

    def relations(self) -> list[str]:
        """Every Silver and Gold table and view dbt built on DuckDB."""
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return [f"{schema}.{table}" for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('silver', 'gold') ORDER BY ALL").fetchall()]

    def read(self, relations: list[str]) -> tuple[dict, dict]:
        """{relation: (column names, rows)} on DuckDB and on fakesnow (DuckDB's columns, selected by name)."""
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            on_duckdb = {relation: snapshot_rows(con.execute(f"SELECT * FROM {relation}")) for relation in relations}
        with fakesnow.patch(db_path=self.fakesnow_dir):
            with snowflake.connector.connect(**_connect_args()) as snow:
                on_snowflake = {relation: snapshot_rows(snow.cursor().execute(
                    f"SELECT {', '.join(on_duckdb[relation][0])} FROM {relation}")) for relation in relations}
        return on_duckdb, on_snowflake


def _connect_args() -> dict[str, str]:
    return {"account": "fake", "user": "test", "password": "secret", "database": DATABASE}


def _copy_bronze(con: duckdb.DuckDBPyConnection, snow, name: str, day: date) -> None:
    """The Bronze rows of one landing day, every column, into the same table on fakesnow."""
    columns = con.execute(f"DESCRIBE bronze.{name}").fetchall()
    ddl = ", ".join(f"{column} {_snowflake_type(type_)}" for column, type_, *_ in columns)
    snow.cursor().execute(f"CREATE TABLE IF NOT EXISTS bronze.{name} ({ddl})")
    frame = con.execute(f"SELECT * FROM bronze.{name} WHERE _landing_date = ? ORDER BY _load_id, _row_number",
                        [day]).fetch_arrow_table().to_pandas()
    frame.columns = [c.upper() for c in frame.columns]
    success, _, rows, _ = snowflake.connector.pandas_tools.write_pandas(snow, frame, name.upper(), schema="BRONZE")
    assert success and rows == len(frame), name


def _snowflake_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "NUMBER")
    return SNOWFLAKE_TYPES[duckdb_type]


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """Day 1 built in full on both warehouses, then day 2 landed and built incrementally; the Bronze,
    Silver and Gold of both after each round."""
    tmp = tmp_path_factory.mktemp("snowflake_dbt")
    raw = tmp / "raw"
    generate(GenerateConfig(scale=0.0002, seed=5, days=2, start_date=DAYS[0]), raw)
    first_day = DAYS[0].isoformat()
    (raw / "customers" / first_day / "crm_edge_cases.csv").write_text(EDGE_CUSTOMERS)
    (raw / "products" / first_day / "catalogue_edge_cases.json").write_text(json.dumps(EDGE_PRODUCTS))
    warehouses = Warehouses(tmp)
    results = {}
    for number, day in enumerate(DAYS, start=1):
        warehouses.land_and_load(raw, day)
        warehouses.build(day, incremental=number > 1)
        results[number] = {"bronze": warehouses.read([f"bronze.{name}" for name in BRONZE_SOURCES]),
                           "built": warehouses.read(warehouses.relations())}
    return warehouses, results


@pytest.mark.parametrize("round_number", [1, 2])
def test_fakesnow_holds_the_same_bronzerows(rounds, round_number):
    on_duckdb, on_snowflake = rounds[1][round_number]["bronze"]
    assert all(len(rows) > 0 for _, rows in on_duckdb.values())
    assert differences(on_duckdb, on_snowflake) == []


@pytest.mark.parametrize("round_number", [1, 2], ids=["full_build_day_1", "incremental_build_day_2"])
def test_every_silver_and_gold_relation_is_the_same_on_both(rounds, round_number):
    on_duckdb, on_snowflake = rounds[1][round_number]["built"]
    expected = {"silver.customers", "silver.products", "silver.transactions", "silver.transactions_quarantine",
                "silver.customers_classified", "gold.vw_daily_sales_analysis",
                "gold.vw_customer_product_affinity", "gold.customer_sales_report", "gold.inventory_status"}
    assert expected <= set(on_duckdb)
    assert all(rows for relation, (_, rows) in on_duckdb.items() if not relation.endswith("quarantine")), \
        "every relation but the quarantines has rows"
    assert differences(on_duckdb, on_snowflake) == []
    # Said once more the way a reader checks it: the money adds up to the cent on both.
    for relation, column in [("silver.transactions", "total_amount"), ("gold.vw_daily_sales_analysis", "total_sales"),
                             ("gold.vw_customer_product_affinity", "total_spent"),
                             ("gold.sales_by_country", "total_sales"), ("gold.customer_sales_report", "revenue"),
                             ("gold.vw_daily_sales_analysis", "avg_transaction_value")]:
        assert money_total(on_snowflake, relation, column) == money_total(on_duckdb, relation, column) > 0


def test_day_2_grew_both_warehouses(rounds):
    _, results = rounds
    for side in (0, 1):
        before, after = results[1]["built"][side], results[2]["built"][side]
        assert len(after["silver.transactions"][1]) > len(before["silver.transactions"][1])
        assert (money_total(after, "gold.vw_daily_sales_analysis", "total_sales")
                > money_total(before, "gold.vw_daily_sales_analysis", "total_sales"))


def test_the_edge_rows_are_cleaned_alike(rounds):
    """The hand-written rows reach Silver, cleaned the same way on both (the comparison above covers them;
    this pins what the DuckDB rules make of them, so the rows cannot silently stop being exercised)."""
    on_duckdb, on_snowflake = rounds[1][1]["built"]
    for snapshot in (on_duckdb, on_snowflake):
        columns, rows = snapshot["silver.customers"]
        customers = {r[0]: dict(zip(columns, r)) for r in rows if r[0].startswith("CX")}
        assert customers["CX01"]["name"] == "Mary-jane O'neil"
        assert customers["CX02"]["name"] == "Anne-marie St. John"
        assert customers["CX04"]["name"] == "Dr. Who?"
        assert {k: str(v["registration_date"]) for k, v in customers.items()} == {
            "CX01": "2024-05-06", "CX02": "2024-05-06", "CX03": "2024-05-06", "CX04": "None",
            "CX05": "None", "CX06": "2024-05-06"}
        columns, rows = snapshot["silver.products"]
        products = {r[0]: dict(zip(columns, r)) for r in rows if r[0].startswith("PX")}
        assert products["PX01"]["product_name"] == "Smart-watch Pro"
        assert products["PX01"]["category"] == "Home & Kitchen"
        assert {k: v["stock_quantity"] for k, v in products.items()} == {"PX01": 13, "PX02": None, "PX03": 0, "PX04": 0}
        assert products["PX02"]["has_invalid_stock"] is True


def test_the_snowflake_incremental_run_merged_and_deleted(rounds):
    """Day 2 went through dbt-snowflake's incremental path, not a rebuild: on silver.transactions and
    the Gold facts, one explicit transaction deletes the rows the run replaces and inserts their
    rebuilt rows (macros/replace_where.sql), so no reader sees one without the other."""
    warehouses, _ = rounds
    run = warehouses.tmp / "snowflake" / "target" / "run" / "medallion" / "models"
    for layer, model, replaced in [("silver", "transactions", "transactions_revisited"),
                                   ("gold", "vw_daily_sales_analysis", "hash(transaction_date, product_id, customer_id)"),
                                   ("gold", "vw_customer_product_affinity", "hash(purchase_month, product_id, customer_id)")]:
        statements = [s.strip() for s in (run / layer / f"{model}.sql").read_text().lower().split(";") if s.strip()]
        assert [s.split()[0] for s in statements] == ["begin", "delete", "insert", "commit"], model
        assert replaced in statements[1] and "__dbt_tmp" in statements[2], model
