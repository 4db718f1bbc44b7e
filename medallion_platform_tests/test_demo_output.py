"""What `make demo` prints into a pipe (a CI log, `| tee`): a line per step as it runs, the summary and the
check report; dbt's own output goes to a file unless asked for (--verbose), and nothing carries a
terminal's colour codes."""

import os
import subprocess
import sys
from pathlib import Path

from medallion_platform_tests.conftest import MEDALLION_VARIABLES

BIN = Path(sys.executable).parent
ANSI = "\x1b["
DBT_LINES = ("Running with dbt=", "START sql", "OK created sql")


def _demo(data_dir: Path, *options: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in (*MEDALLION_VARIABLES, "DAGSTER_HOME")}
    env["MEDALLION_DATA_DIR"] = str(data_dir)
    return subprocess.run([str(BIN / "medallion"), "demo", "--scale", "0.0005", "--days", "1", *options],
                          env=env, capture_output=True, text=True, timeout=300)


def test_make_demo_into_a_pipe_prints_steps_not_dbt_logs_and_no_colour_codes(tmp_path):
    quiet = _demo(tmp_path / "data")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert ANSI not in quiet.stdout + quiet.stderr
    assert not [line for line in quiet.stdout.splitlines() if any(dbt in line for dbt in DBT_LINES)]
    steps = [line for line in quiet.stdout.splitlines() if line.startswith("  step ")]
    for step in ("raw_files", "bronze__transactions", "incremental_dbt_models", "gold_dbt_models"):
        assert any(f" {step} " in line and "succeeded in" in line for line in steps), quiet.stdout
    log = tmp_path / "data" / "logs" / "demo-dbt.log"
    assert f"dbt's output: {log}" in quiet.stdout
    assert "Running with dbt=" in log.read_text() and ANSI not in log.read_text()

    verbose = _demo(tmp_path / "data", "--verbose")
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "Running with dbt=" in verbose.stdout and ANSI not in verbose.stdout + verbose.stderr
