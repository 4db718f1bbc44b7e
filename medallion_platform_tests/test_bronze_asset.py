"""The Bronze asset itself, materialized by Dagster over a landing folder: metadata, checks, failures."""

import fcntl
import os
import pty
import select
import struct
import sys
import termios

import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from medallion_platform.defs.bronze import LANDED_COLUMNS_CHECK, LANDED_FILES_CHECK, bronze_assets
from medallion_platform.landing import LocalLandingZone
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.warehouse import DuckDBWarehouse

HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"
BRONZE_CUSTOMERS = next(a for a in bronze_assets if a.key.path == ["bronze", "customers"])
BOTH_DAYS = landing_day_range_tags("2026-11-20", "2026-11-21")  # one run over the two landing days


@pytest.fixture
def resources(tmp_path):
    duckdb = DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))
    return {"landing": LocalLandingZone(root=str(tmp_path / "landing")), "duckdb": duckdb,
            "warehouse": DuckDBWarehouse(duckdb=duckdb)}


def land(resources, key: str, text: str) -> None:
    path = resources["landing"]._root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_feed_sending_another_column_loads_and_warns_naming_the_file(resources):
    land(resources, "customers/2026-11-20/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    land(resources, "customers/2026-11-21/b.csv",
         f"{HEADER},loyalty_tier\nC2,Bob,b@x.com,USA,VIP,2024-01-01,40,M,1,gold\n")
    result = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["dagster/row_count"].value, metadata["files_loaded"].value) == (2, 2)

    only_first_day = materialize([BRONZE_CUSTOMERS], resources=resources, partition_key="2026-11-20")
    metadata = only_first_day.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["dagster/row_count"].value, metadata["files_already_loaded"].value) == (1, 1)
    assert "_load_id" in [c.name for c in metadata["dagster/column_schema"].schema.columns]
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == LANDED_COLUMNS_CHECK)
    assert (check.check_name, check.passed, check.severity.value) == (LANDED_COLUMNS_CHECK, False, "WARN")
    assert check.metadata["files_with_other_columns"].value == {
        "customers/2026-11-21/b.csv": "unexpected columns: loyalty_tier"}

    again = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)  # nothing new: nothing to warn about
    check = next(c for c in again.get_asset_check_evaluations() if c.check_name == LANDED_COLUMNS_CHECK)
    assert check.passed and check.metadata["files_checked"].value == 0


def test_unreadable_files_fail_a_check_naming_them_and_the_good_files_still_materialize(resources):
    land(resources, "customers/2026-11-20/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    land(resources, "customers/2026-11-20/_SUCCESS", "")  # a marker: not data, not a failure
    land(resources, "customers/2026-11-21/empty.csv", "")  # zero bytes: perhaps still being written
    land(resources, "customers/2026-11-21/b.csv", f"{HEADER}\nC2,Bob,b@x.com,USA,VIP,2024-01-01,40,M,1\n")
    result = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert (metadata["dagster/row_count"].value, metadata["files_loaded"].value, metadata["files_failed"].value) == (2, 2, 1)
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == LANDED_FILES_CHECK)
    assert (check.passed, check.severity.value) == (False, "ERROR")
    assert list(check.metadata["failed_files"].value) == ["customers/2026-11-21/empty.csv"]
    assert "customers/2026-11-21/empty.csv: ValueError: CSV file is empty" in check.description
    with resources["duckdb"].get_connection() as con:
        assert con.execute("SELECT file_key, status FROM bronze.load_ledger ORDER BY file_key").fetchall() == [
            ("customers/2026-11-20/a.csv", "loaded"), ("customers/2026-11-21/b.csv", "loaded"),
            ("customers/2026-11-21/empty.csv", "failed")]

    land(resources, "customers/2026-11-21/empty.csv", f"{HEADER}\nC3,Cy,c@x.com,USA,VIP,2024-01-01,50,M,1\n")
    retry = materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS)  # the file is complete now
    check = next(c for c in retry.get_asset_check_evaluations() if c.check_name == LANDED_FILES_CHECK)
    assert check.passed
    assert retry.get_asset_materialization_events()[0].materialization.metadata["dagster/row_count"].value == 3


def _terminal_stderr(monkeypatch) -> tuple[int, object]:
    """sys.stderr on a pseudo-terminal (as `medallion demo` in a shell has it); the reading end's fd."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    terminal = os.fdopen(follower, "w")
    monkeypatch.setattr(sys, "stderr", terminal)
    return leader, terminal


def _read_or_empty(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other end is closed and nothing is left to read
        return b""


def test_a_bronze_load_shows_its_files_in_a_progress_bar_on_a_terminal_only(resources, monkeypatch, capfd):
    for day in ("2026-11-20", "2026-11-21"):
        land(resources, f"customers/{day}/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    leader, terminal = _terminal_stderr(monkeypatch)
    try:
        assert materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS).success
        terminal.close()
        shown = b""
        while select.select([leader], [], [], 0.5)[0] and (chunk := _read_or_empty(leader)):
            shown += chunk
    finally:
        os.close(leader)
    assert "bronze/customers: 100%" in shown.decode() and " 2/2 " in shown.decode(), shown

    monkeypatch.undo()  # stderr a pipe, as in a run `make dev` launches: the bar stays out of its logs
    land(resources, "customers/2026-11-21/b.csv", f"{HEADER}\nC2,Bo,b@x.com,USA,VIP,2024-01-01,30,F,3\n")
    assert materialize([BRONZE_CUSTOMERS], resources=resources, tags=BOTH_DAYS).success
    assert "bronze/customers:" not in capfd.readouterr().err
