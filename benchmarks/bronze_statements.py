"""Where a Bronze load's time goes: load one source's files from a local landing folder into a fresh
DuckDB file with the project's loader, timing every SQL statement it runs, and print the load's peak
RSS and the statements' total seconds, largest first (grouped by their first words).

    .venv/bin/python -m benchmarks.bronze_statements <landing folder> <source> [--memory-limit 4GB]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from medallion_platform.bronze.loader import load_source
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import get_source


class TimedConnection:
    """A DuckDB connection that adds each statement's seconds to `seconds`, by the statement's first words."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con, self.seconds = con, defaultdict(float)

    def execute(self, sql: str, *params):
        started = time.perf_counter()
        result = self._con.execute(sql, *params)
        self.seconds[" ".join(sql.split()[:4])[:60]] += time.perf_counter() - started
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("landing", type=Path)
    parser.add_argument("source")
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bronze-statements-") as folder:
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        timed = TimedConnection(con)
        started = time.perf_counter()
        report = load_source(timed, LocalLandingZone(root=str(args.landing)), get_source(args.source))
        total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{args.source}: {total:.2f} s, peak RSS {peak_mb:,} MB; " + ", ".join(f"{f.key} {f.status} {f.rows_loaded:,} loaded "
                                                      f"{f.rows_rejected:,} rejected" for f in report.files))
    for statement, seconds in sorted(timed.seconds.items(), key=lambda item: -item[1])[:10]:
        print(f"  {seconds:8.2f} s  {statement}")


if __name__ == "__main__":
    main()
