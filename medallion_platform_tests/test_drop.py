"""`medallion drop`: one more feed file in the landing zone, with ids never sent before and values that
name the demo's customers and products; `--clean` files lose no row on the way to Silver."""

import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from medallion_platform.bronze.loader import load_source
from medallion_platform.cli import DEFAULT_SEED, DEMO_SCALE, main
from medallion_platform.dbt_project import dbt_resource
from medallion_platform.demo.generate import DirtyRates, GenerateConfig, drop_batch, generate
from medallion_platform.sources import SOURCES

DAY = "2026-11-23"
READERS = {  # lines no parser accepts are skipped: the row counts printed include them
    "csv": "read_csv('{path}', all_varchar=true, ignore_errors=true)",
    "json": "read_json('{path}', format='array')",
    "jsonl": "read_json('{path}', format='newline_delimited', ignore_errors=true)",
    "parquet": "read_parquet('{path}')",
}


@pytest.fixture(scope="module")
def demo_feeds(tmp_path_factory) -> Path:
    """The files `medallion demo` generates with its defaults: the data a drop has to fit."""
    out = tmp_path_factory.mktemp("demo_feeds")
    generate(GenerateConfig(scale=DEMO_SCALE, seed=DEFAULT_SEED, days=3), out)
    return out


def drop(capsys, settings, source: str, rows: int, *options: str) -> tuple[Path, int]:
    """Run `medallion drop`; return the landed file and the row count it printed."""
    assert main(["drop", "--source", source, "--rows", str(rows), "--day", DAY, *options]) == 0
    printed_rows, key = capsys.readouterr().out.split()
    assert re.fullmatch(rf"{source}/{DAY}/{source}_{DAY.replace('-', '')}_drop\d+"
                        + re.escape(SOURCES[source].file_suffix), key)
    return Path(settings.landing.duckdb_uri(key)), int(printed_rows.replace(",", ""))


def read(path: Path, sql: str = "SELECT * FROM feed") -> list[tuple]:
    source = SOURCES[path.parts[-3]]
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW feed AS SELECT * FROM {READERS[source.format].format(path=path)}")
        return con.execute(sql).fetchall()


def ids_in(folder: Path, source: str) -> set[str]:
    spec = SOURCES[source]
    reader = READERS[spec.format].format(path=f"{folder}/{source}/*/*{spec.file_suffix}")
    with duckdb.connect() as con:
        return {row[0] for row in con.execute(f"SELECT {spec.primary_key} FROM {reader}").fetchall()}


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_clean_drop_lands_exactly_its_rows_under_new_ids(source, capsys, local_settings, demo_feeds):
    path, printed = drop(capsys, local_settings, source, 300, "--clean")
    key = SOURCES[source].primary_key
    ids = [row[0] for row in read(path, f"SELECT {key} FROM feed")]
    assert printed == len(ids) == 300
    assert len(set(ids)) == 300 and "" not in ids and None not in ids
    assert not set(ids) & ids_in(demo_feeds, source)


def test_ids_never_repeat_across_drops(capsys, local_settings):
    first, _ = drop(capsys, local_settings, "transactions", 500)
    second, _ = drop(capsys, local_settings, "transactions", 500)
    assert first != second
    ids = [row[0] for path in (first, second)
           for row in read(path, "SELECT transaction_id FROM feed WHERE transaction_id IS NOT NULL")]
    assert len(ids) > 990 and len(ids) == len(set(ids))


def test_transactions_name_the_demo_customers_and_products(capsys, local_settings, demo_feeds):
    path, _ = drop(capsys, local_settings, "transactions", 2000, "--clean")
    rows = read(path, "SELECT customer_id, product_id FROM feed")
    customers, products = ids_in(demo_feeds, "customers"), ids_in(demo_feeds, "products")
    assert all(product in products for _, product in rows)
    # Drawn from every demo customer, as the demo's own transactions are; the demo's dirt leaves ~0.2%
    # of its customers without an id, so a few sales name a customer the warehouse never received.
    known = sum(customer in customers for customer, _ in rows)
    assert known >= 0.99 * len(rows)


def test_without_clean_a_drop_is_as_dirty_as_the_demo_feeds(capsys, local_settings):
    path, _ = drop(capsys, local_settings, "transactions", 2000)
    day_before = (date.fromisoformat(DAY) - timedelta(days=1)).isoformat()
    late, unusable = read(path, f"""
        SELECT count(*) FILTER (WHERE replace(transaction_date, '/', '-') LIKE '{day_before}%'),
               count(*) FILTER (WHERE transaction_id IS NULL OR quantity <= 0 OR total_amount <= 0
                                OR isnan(total_amount) OR transaction_date IS NULL)
        FROM feed""")[0]
    assert late > 0 and unusable > 0  # ~3% late arrivals, ~1.5% rows Silver quarantines


def test_clean_drops_lose_no_row_in_bronze_or_silver(capsys, local_settings, tmp_path):
    """Through the real Bronze loader and the real Silver models: nothing rejected or quarantined."""
    dropped = {source: drop(capsys, local_settings, source, 400, "--clean")[1] for source in SOURCES}
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in SOURCES.values():
            load_source(con, local_settings.landing, source)
    invocation = dbt_resource(replace(local_settings, duckdb_path=warehouse)).cli(
        ["build", "--select", "path:models/silver path:seeds"], target_path=tmp_path / "target",
        raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        def count(table):
            return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

        assert count("bronze.rejects") == 0
        assert [count(f"silver.{entity}_quarantine") for entity in ("customers", "products", "transactions")] == [0] * 3
        assert count("silver.customers") == dropped["customers"]
        assert count("silver.products") == dropped["products"]
        assert count("silver.transactions") == dropped["transactions"]
        assert count("bronze.events") == dropped["events"]


def test_resend_lands_new_versions_of_existing_customers(capsys, local_settings, tmp_path):
    """A CRM re-export: the drop's customers already exist, so Silver keeps as many customers as before
    and takes the dropped rows as their current versions."""
    demo_day = (date.fromisoformat(DAY) - timedelta(days=1)).isoformat()
    landing_root = Path(local_settings.landing.root)
    generate(GenerateConfig(scale=DEMO_SCALE, seed=DEFAULT_SEED, days=1, start_date=date.fromisoformat(demo_day),
                            dirty=DirtyRates.none()), landing_root)
    demo_ids = ids_in(landing_root, "customers")
    path, printed = drop(capsys, local_settings, "customers", 300, "--clean", "--resend")
    ids = [row[0] for row in read(path, "SELECT customer_id FROM feed")]
    assert printed == len(set(ids)) == 300 and set(ids) <= demo_ids

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, local_settings.landing, SOURCES["customers"])
    invocation = dbt_resource(replace(local_settings, duckdb_path=warehouse)).cli(
        ["build", "--select", "+customers", "--exclude", "test_name:relationships"], target_path=tmp_path / "target",
        raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        current = dict(con.execute("SELECT _source_file LIKE '%drop%', count(*) FROM silver.customers GROUP BY 1").fetchall())
    assert current == {False: len(demo_ids) - 300, True: 300}


@pytest.mark.parametrize("source, rows, reason", [("transactions", 10, "applies to customers and products"),
                                                  ("customers", 10**6, "more than the")])
def test_resend_refuses_what_it_cannot_send(source, rows, reason, tmp_path):
    with pytest.raises(ValueError, match=reason):
        drop_batch(GenerateConfig(scale=DEMO_SCALE), source, rows, date.fromisoformat(DAY), tmp_path, resend=True)
