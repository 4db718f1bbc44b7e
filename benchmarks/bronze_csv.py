"""Time the DuckDB Bronze loader on one large customers CSV (issue 10: record-by-record CSV reading
must stay within 1.5x of DuckDB's own reader). Usage: bronze_csv.py [rows] (default 1,000,000)."""

import sys
import tempfile
import time
from pathlib import Path

import duckdb

from medallion_platform.bronze.loader import load_source
from medallion_platform.generate import GenerateConfig, generate
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import SOURCES


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw"
        generate(GenerateConfig(scale=rows / 5_000_000, days=1), raw)
        landing = LocalLandingZone(root=str(Path(folder) / "landing"))
        landing.deliver_tree(raw, "customers")
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        started = time.perf_counter()
        report = load_source(con, landing, SOURCES["customers"])
        elapsed = time.perf_counter() - started
        print(f"{report.rows_loaded} loaded, {report.rows_rejected} rejected in {elapsed:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
