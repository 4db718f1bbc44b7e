"""Generate one landing day of feeds and print, as JSON, how long `generate` took and the rows per
source. benchmarks/run.py starts it as its own process, so the generator's memory is measured and
given back before the builds it compares run.

    .venv/bin/python -m benchmarks.generate_feeds <scale> <seed> <YYYY-MM-DD> <output folder>
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from medallion_platform.demo.generate import GenerateConfig, generate


def main(scale: str, seed: str, day: str, out_dir: str) -> None:
    config = GenerateConfig(scale=float(scale), days=1, seed=int(seed), start_date=date.fromisoformat(day))
    started = time.perf_counter()
    files = generate(config, Path(out_dir))
    seconds = time.perf_counter() - started
    rows = {f.source: f.rows for f in files}
    print(json.dumps({"seconds": round(seconds, 2), "rows": rows, "rows_per_second": round(sum(rows.values()) / seconds)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
