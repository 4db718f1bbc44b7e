"""benchmarks/run.py times the project against a bare DuckDB script and a pandas script, and its
figures mean something only if the three build the same Gold. Here both scripts run on the files the
session's pipeline run landed (three days, re-sent versions, dirty rows) and must give its Gold rows,
money to the cent; and the check that the benchmark relies on must fail, naming the row, when one
cent differs. Timings are the benchmark's business, not the tests'."""

from pathlib import Path

import duckdb
import pytest

from benchmarks.agreement import GoldDisagreement, check_gold
from benchmarks.bare_duckdb import build as build_bare_duckdb
from benchmarks.pandas_medallion import build as build_pandas


@pytest.fixture(scope="module")
def scripts_on_pipeline_files(pipeline, tmp_path_factory):
    settings = pipeline[0]
    landing = Path(settings.landing.root)
    out = tmp_path_factory.mktemp("benchmark_scripts")
    bare = build_bare_duckdb(landing, out / "bare.duckdb")
    pandas = build_pandas(landing, out / "pandas")
    return settings.duckdb_path, out / "bare.duckdb", out / "pandas", bare, pandas


def test_bare_duckdb_and_pandas_build_the_projects_gold(scripts_on_pipeline_files):
    warehouse, bare_db, pandas_dir, bare, pandas = scripts_on_pipeline_files
    compared = check_gold(warehouse, bare_db, pandas_dir)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for view, rows in compared.items():
            assert rows == con.execute(f"SELECT count(*) FROM gold.{view}").fetchone()[0] > 0
        silver = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("silver.customers", "silver.products", "silver.transactions")}
    for table, rows in silver.items():
        assert bare["rows"][table] == pandas["rows"][table] == rows, table


def test_one_cent_of_difference_is_named(scripts_on_pipeline_files, tmp_path):
    warehouse, bare_db, pandas_dir, _, _ = scripts_on_pipeline_files
    changed = tmp_path / "changed.duckdb"
    changed.write_bytes(bare_db.read_bytes())
    with duckdb.connect(str(changed)) as con:
        customer, product = con.execute(
            "UPDATE gold.vw_customer_product_affinity SET total_spent = total_spent + 0.01 "
            "WHERE (customer_id, product_id) = (SELECT (customer_id, product_id) FROM gold.vw_customer_product_affinity "
            "WHERE customer_id IS NOT NULL ORDER BY ALL LIMIT 1) RETURNING customer_id, product_id").fetchone()

    with pytest.raises(GoldDisagreement) as raised:
        check_gold(warehouse, changed, pandas_dir)
    message = str(raised.value)
    assert "gold.vw_customer_product_affinity: bare DuckDB differs" in message
    assert "1 row(s) only in the project's, 1 only in bare DuckDB's" in message
    assert customer in message and product in message
