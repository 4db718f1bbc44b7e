"""Run benchmarks/bare_duckdb.sql: the project's Silver and Gold rules as one DuckDB script, in one
process, straight from the landing files into a DuckDB file. The floor the project's build is
measured against (benchmarks/run.py).

    .venv/bin/python -m benchmarks.bare_duckdb <landing folder> <database file>
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).with_name("bare_duckdb.sql")
SEEDS = Path(__file__).resolve().parent.parent / "sql" / "seeds"
TABLES = ("silver.customers", "silver.products", "silver.transactions",
          "gold.vw_daily_sales_analysis", "gold.vw_customer_product_affinity")


def build(landing: Path, database: Path) -> dict:
    """Build Silver and Gold from the landing folder into `database` (which must not exist yet);
    the seconds it took and the rows of each table."""
    if database.exists():
        raise FileExistsError(f"{database} exists: the bare DuckDB build starts from an empty database")
    script = SCRIPT.read_text().replace("__LANDING__", str(landing.resolve())).replace("__SEEDS__", str(SEEDS))
    # One statement at a time (each ends a line with `;`), so reading the files into Bronze is timed apart.
    statements = [s for s in re.split(r";[ \t]*\n", script) if s.strip()]
    bronze_seconds = 0.0
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        for statement in statements:
            at = time.perf_counter()
            con.execute(statement)
            if re.search(r"^CREATE TABLE bronze\.", statement, re.MULTILINE):
                bronze_seconds += time.perf_counter() - at
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
        rows = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    return {"seconds": round(seconds, 3), "bronze_seconds": round(bronze_seconds, 3), "rows": rows}


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]))))
