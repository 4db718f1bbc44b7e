"""Time the DuckDB Bronze loader on one large customers CSV: issue 10 has the loader cut CSV records
itself, within 1.5x of DuckDB's own reader. Usage: bronze_csv.py [rows] (default 1,000,000); prints
the times and writes them to benchmarks/results/bronze_csv-<time>.json."""

import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from medallion_platform.bronze.loader import load_source
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import SOURCES


def main(rows: int) -> None:
    started_at = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw"
        generate(GenerateConfig(scale=rows / 5_000_000, days=1), raw)
        landing = LocalLandingZone(root=str(Path(folder) / "landing"))
        landing.deliver_tree(raw, "customers")
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        wall, cpu = time.perf_counter(), time.process_time()
        report = load_source(con, landing, SOURCES["customers"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"benchmark": "bronze_csv", "started_at": started_at.isoformat(timespec="seconds"), "rows": rows,
              "rows_loaded": report.rows_loaded, "rows_rejected": report.rows_rejected,
              "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2)}
    print(json.dumps(result))
    out = Path(__file__).parent / "results" / f"bronze_csv-{started_at.strftime('%Y-%m-%dT%H%M%S%z')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
