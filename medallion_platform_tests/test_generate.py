"""The generator: deterministic per seed, at the requested scale, as dirty as configured."""

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import duckdb
import pytest

from medallion_platform.demo import generate as generate_module
from medallion_platform.demo.generate import DirtyRates, GenerateConfig, generate
from medallion_platform.landing import file_md5


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(GenerateConfig(scale=0.002, seed=7, days=2), out)
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_md5(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(generated, tmp_path):
    generate(GenerateConfig(scale=0.002, seed=7, days=2), tmp_path / "again")
    generate(GenerateConfig(scale=0.002, seed=8, days=2), tmp_path / "other")
    assert _digests(tmp_path / "again") == _digests(generated)
    other = _digests(tmp_path / "other")
    data_files = [k for k in other if k != "manifest.json"]
    assert all(other[k] != _digests(generated)[k] for k in data_files)


def test_layout_is_one_file_per_source_per_day(generated):
    keys = sorted(p.relative_to(generated).as_posix() for p in generated.glob("*/*/*"))
    assert keys == [
        "customers/2026-11-20/customers_20261120.csv", "customers/2026-11-21/customers_20261121.csv",
        "events/2026-11-20/events_20261120.jsonl", "events/2026-11-21/events_20261121.jsonl",
        "products/2026-11-20/products_20261120.json", "products/2026-11-21/products_20261121.json",
        "transactions/2026-11-20/transactions_20261120.parquet",
        "transactions/2026-11-21/transactions_20261121.parquet",
    ]


def test_scale_sets_row_counts(generated):
    con = duckdb.connect()
    distinct_customers = con.execute(
        f"SELECT count(DISTINCT customer_id) FROM read_csv('{generated}/customers/*/*.csv', all_varchar=true, "
        "ignore_errors=true) WHERE customer_id NOT LIKE 'C9%'").fetchone()[0]
    transactions = con.execute(f"SELECT count(*) FROM read_parquet('{generated}/transactions/*/*.parquet')").fetchone()[0]
    # 0.002 x 5M customers (a few lose their id), 0.002 x 20M transactions + ~2% re-sent corrections
    assert 9_900 <= distinct_customers <= 10_000
    assert 40_000 * 1.015 <= transactions <= 40_000 * 1.025


def test_dirty_data_at_configured_rates(generated):
    con = duckdb.connect()
    customers = f"read_csv('{generated}/customers/*/*.csv', all_varchar=true, ignore_errors=true)"
    n = con.execute(f"SELECT count(*) FROM {customers}").fetchone()[0]
    bad_email = con.execute(
        f"SELECT count(*) FROM {customers} WHERE email IS NULL OR NOT regexp_full_match(trim(email), "
        "'^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$')").fetchone()[0]
    assert 0.02 <= bad_email / n <= 0.04  # default 3%
    spellings = {r[0] for r in con.execute(f"SELECT DISTINCT customer_type FROM {customers}").fetchall()}
    assert {"VIP", "vip", "Reg", "P", " premium "} <= spellings
    ages = {r[0] for r in con.execute(f"SELECT DISTINCT age FROM {customers}").fetchall()}
    assert {"-1", "200"} <= ages
    assert con.execute(f"SELECT count(*) FROM {customers} WHERE country = 'Unknown'").fetchone()[0] > 0
    assert con.execute(f"SELECT count(*) - count(DISTINCT customer_id) FROM {customers}").fetchone()[0] > 100

    products = [p for f in sorted(generated.glob("products/*/*.json")) for p in json.loads(f.read_text())]
    assert any(isinstance(p["stock_quantity"], str) and p["stock_quantity"].isdigit() for p in products)
    assert any(isinstance(p["price"], float) and p["price"] < 0 for p in products)

    trx = f"read_parquet('{generated}/transactions/*/*.parquet')"
    bad_amount, orphans, bad_dates, total = con.execute(
        f"SELECT count(*) FILTER (total_amount <= 0), count(*) FILTER (customer_id LIKE 'C00%' AND length(customer_id) = 10),"
        " count(*) FILTER (transaction_date IS NULL OR transaction_date IN ('', 'yesterday', 'N/A', '2026-13-45 10:00:00')),"
        f" count(*) FROM {trx}").fetchone()
    assert 0.003 <= bad_amount / total <= 0.008  # default 0.5%
    assert orphans > 0 and bad_dates > 0


def test_rates_can_be_turned_off(tmp_path):
    clean = DirtyRates(**{name: 0.0 for name in DirtyRates.__dataclass_fields__})
    generate(GenerateConfig(scale=0.0005, seed=1, days=1, dirty=clean), tmp_path)
    con = duckdb.connect()
    dupes = con.execute(f"SELECT count(*) - count(DISTINCT transaction_id) FROM read_parquet('{tmp_path}/transactions/*/*')").fetchone()[0]
    bad = con.execute(f"SELECT count(*) FILTER (total_amount <= 0) FROM read_parquet('{tmp_path}/transactions/*/*')").fetchone()[0]
    assert dupes == 0 and bad == 0


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="scale"):
        GenerateConfig(scale=0)
    with pytest.raises(ValueError, match="bad_email"):
        DirtyRates(bad_email=0.9)


def test_files_written_in_many_chunks_hold_every_row_once(tmp_path, monkeypatch):
    """A file is built and written a chunk at a time (at scale, memory stays flat): the chunks follow
    each other in order, each source's file reads back whole, and no row is lost or repeated."""
    monkeypatch.setattr(generate_module, "CHUNK_ROWS", 16)
    config = GenerateConfig(scale=0.0002, seed=3, days=1)  # 1,000 customers, 20 products, 4,000 of the rest
    files = {f.source: f for f in generate(config, tmp_path)}
    con = duckdb.connect()
    customers = f"read_csv('{tmp_path}/{files['customers'].key}', all_varchar=true, ignore_errors=true)"
    ids = [r[0] for r in con.execute(f"SELECT customer_id FROM {customers} WHERE customer_id LIKE 'C0%'").fetchall()]
    new = ids[:990]  # the day's new customers (a few lose their id), then later versions of some
    assert new == sorted(new) and len(set(new)) == 990 and len(ids) >= 1000
    products = json.loads((tmp_path / files["products"].key).read_text())  # one JSON array over 2 chunks
    assert [p["product_id"] for p in products] == [f"P{i:05d}" for i in range(1, 21)]
    trx = f"read_parquet('{tmp_path}/{files['transactions'].key}')"
    assert con.execute(f"SELECT count(*) FROM {trx}").fetchone()[0] == files["transactions"].rows == 4_080
    assert con.execute(f"SELECT count(DISTINCT transaction_id) FROM {trx}").fetchone()[0] >= 3_980
    lines = (tmp_path / files["events"].key).read_text().splitlines()
    events = [json.loads(line) for line in lines if not line.startswith('{"event_id":"EVTBROKEN')]
    assert [e["event_id"] for e in events] == [f"EVT{i:09d}" for i in range(1, 4_001)]
    assert len(lines) == files["events"].rows


def test_progress_reports_every_row_written(tmp_path):
    heard = []
    files = generate(GenerateConfig(scale=0.0005, days=2), tmp_path, lambda done, total: heard.append((done, total)))
    written = sum(f.rows for f in files)
    assert heard[-1] == (written, written)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    assert {total for _, total in heard} == {written}


def _generate_command(out: Path, *options: str, stderr) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medallion_platform.cli", "generate", "--scale", "0.0005",
                           "--days", "1", "--out", str(out), *options],
                          stdout=subprocess.PIPE, stderr=stderr, text=True, check=True, timeout=120)


def test_medallion_generate_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    """The bar goes to stderr, so stdout stays the list of files; off a terminal, or with --quiet,
    there is no bar at all."""
    for options, bar_expected in (((), True), (("--quiet",), False)):
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal's size
        try:
            run = _generate_command(tmp_path / "tty", *options, stderr=follower)
            os.close(follower)
            shown = b""
            while chunk := _read_or_empty(leader):
                shown += chunk
        finally:
            os.close(leader)
        assert ("100%" in shown.decode()) is bar_expected, shown
        assert "customers_20261120.csv" in run.stdout and "100%" not in run.stdout
    piped = _generate_command(tmp_path / "pipe", stderr=subprocess.PIPE)
    assert piped.stderr == ""


def _read_or_empty(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other end is closed and nothing is left to read
        return b""
