"""The Bronze loader: exactly once, nothing lost, clear errors, on real files in a landing folder."""

import json
import os
import signal
import subprocess
import sys

import duckdb
import pytest

from medallion_platform.bronze.ledger import MAX_ATTEMPTS
from medallion_platform.bronze.loader import load_source
from medallion_platform.landing import LocalLandingZone, parse_key
from medallion_platform.sources import SOURCES

CUSTOMER_HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"


@pytest.fixture
def landing(tmp_path) -> LocalLandingZone:
    return LocalLandingZone(root=str(tmp_path / "landing"))


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def drop(landing: LocalLandingZone, key: str, text: str) -> None:
    path = landing._root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def count(con, sql: str, *params) -> int:
    return con.execute(sql, list(params)).fetchone()[0]


def test_each_file_loads_once_however_often_it_is_seen(landing, con):
    drop(landing, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    first = load_source(con, landing, SOURCES["customers"])
    second = load_source(con, landing, SOURCES["customers"])
    assert [f.status for f in first.files] == ["loaded"]
    assert [f.status for f in second.files] == ["already_loaded"]
    assert count(con, "SELECT count(*) FROM bronze.customers") == 1
    assert count(con, "SELECT count(*) FROM bronze.load_ledger") == 1


def test_same_content_under_a_new_key_is_recognised_as_a_duplicate(landing, con):
    body = f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n"
    drop(landing, "customers/2026-11-20/a.csv", body)
    load_source(con, landing, SOURCES["customers"])
    drop(landing, "customers/2026-11-21/a_resent.csv", body)
    report = load_source(con, landing, SOURCES["customers"])
    assert [(f.key, f.status) for f in report.files if f.status != "already_loaded"] == [
        ("customers/2026-11-21/a_resent.csv", "duplicate")]
    assert count(con, "SELECT count(*) FROM bronze.customers") == 1
    assert con.execute("SELECT duplicate_of FROM bronze.load_ledger WHERE status = 'duplicate'").fetchone()[0] == \
        "customers/2026-11-20/a.csv"


def test_overwritten_object_with_new_content_is_a_new_version(landing, con):
    drop(landing, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    load_source(con, landing, SOURCES["customers"])
    drop(landing, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,31,F,4\n")
    load_source(con, landing, SOURCES["customers"])
    ages = con.execute("SELECT age FROM bronze.customers ORDER BY _load_id").fetchall()
    assert ages == [(30,), (31,)]


def test_bad_rows_go_to_rejects_with_reasons_and_counts_reconcile(landing, con):
    rows = [
        "C1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3",
        "C2,Bob,b@x.com,USA,Reg,2024-01-01,thirty,M,1",      # age does not type
        "C3,Doe, Jane,j@x.com,USA,P,2024-01-01,40,F,2",      # unquoted comma: one field too many
        "C4,Cut Short",                                      # too few fields
        'C5,"Eve, Q.",e@x.com,UK,vip,2023-05-05,,F,-1',      # quoted comma, empty age: fine
        "C6,Fay,f@x.com,DE,R,2023-05-05,50,F,many",          # total_purchases does not type
    ]
    drop(landing, "customers/2026-11-20/mixed.csv", CUSTOMER_HEADER + "\n" + "\n".join(rows) + "\n")
    report = load_source(con, landing, SOURCES["customers"])
    assert (report.rows_loaded, report.rows_rejected) == (2, 4)
    assert report.rows_loaded + report.rows_rejected == len(rows)
    loaded = con.execute("SELECT customer_id, name, age, _row_number FROM bronze.customers ORDER BY 1").fetchall()
    # one numbering for loaded rows and rejects: the line the record starts on, the header being line 0
    assert loaded == [("C1", "Ann", 30, 1), ("C5", "Eve, Q.", None, 5)]
    assert con.execute("SELECT row_number FROM bronze.rejects WHERE raw_record LIKE 'C3%'").fetchone()[0] == 3
    rejects = dict(con.execute("SELECT split_part(raw_record, ',', 1), reason FROM bronze.rejects").fetchall())
    assert rejects['{"customer_id":"C2"'] == "age is not INTEGER (thirty)"
    assert rejects['{"customer_id":"C6"'] == "total_purchases is not INTEGER (many)"
    assert rejects["C3"].startswith("unparseable CSV line: TOO MANY COLUMNS")
    assert rejects["C4"].startswith("unparseable CSV line: MISSING COLUMNS")
    ledger = con.execute("SELECT rows_loaded, rows_rejected, status FROM bronze.load_ledger").fetchone()
    assert ledger == (2, 4, "loaded")


def test_a_file_missing_a_column_rejects_every_row_with_the_reason(landing, con):
    drop(landing, "customers/2026-11-20/old_layout.csv", "customer_id,name,email\nC1,Ann,a@x.com\nC2,Bob,b@x.com\n")
    report = load_source(con, landing, SOURCES["customers"])
    assert (report.rows_loaded, report.rows_rejected) == (0, 2)
    reasons = {r[0] for r in con.execute("SELECT reason FROM bronze.rejects").fetchall()}
    assert reasons == {"file lacks column(s) country, customer_type, registration_date, age, gender, total_purchases"}
    assert con.execute("SELECT missing_columns FROM bronze.load_ledger").fetchone()[0] == [
        "country", "customer_type", "registration_date", "age", "gender", "total_purchases"]


def test_json_records_type_and_reject_individually(landing, con):
    products = [
        {"product_id": "P1", "name": "A", "category": "Books", "brand": "X", "price": 10.5,
         "stock_quantity": 3, "rating": 4.5, "is_active": True},
        {"product_id": "P2", "name": "B", "category": "Books", "brand": "X", "price": "12,99",
         "stock_quantity": "12", "rating": 4.0, "is_active": True},
        {"product_id": "P3", "name": "C", "category": "Toys", "brand": "Y", "price": 5,
         "stock_quantity": "N/A", "rating": 3.0, "is_active": False, "colour": "red"},
        ["not", "an", "object"],
    ]
    drop(landing, "products/2026-11-20/p.json", json.dumps(products))
    report = load_source(con, landing, SOURCES["products"])
    assert (report.rows_loaded, report.rows_rejected) == (2, 2)
    assert report.files[0].detail == "unexpected columns: colour"
    assert con.execute("SELECT unexpected_columns, missing_columns FROM bronze.load_ledger").fetchone() == (["colour"], None)
    assert con.execute("SELECT product_id, price, stock_quantity FROM bronze.products ORDER BY 1").fetchall() == [
        ("P1", pytest.approx(10.5), "3"), ("P3", pytest.approx(5), "N/A")]
    assert {r[0] for r in con.execute("SELECT reason FROM bronze.rejects").fetchall()} == {
        "price is not DECIMAL(12,2) (12,99)", "record is not a JSON object"}


def test_json_lines_reject_a_broken_line_and_keep_the_rest_with_payload(landing, con):
    good = {"event_id": "E1", "event_type": "page_view", "event_timestamp": "2026-11-20T10:00:00Z",
            "customer_id": None, "session_id": "S1", "device": {"type": "mobile"}}
    drop(landing, "events/2026-11-20/e.jsonl", json.dumps(good) + '\n{"event_id": "E2", "device": {\n\n'
         + json.dumps({**good, "event_id": "E3"}) + "\n")
    report = load_source(con, landing, SOURCES["events"])
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    assert con.execute("SELECT event_id, _row_number, payload->>'$.device.type' FROM bronze.events ORDER BY 1").fetchall() == [
        ("E1", 1, "mobile"), ("E3", 4, "mobile")]
    assert con.execute("SELECT row_number, reason FROM bronze.rejects").fetchall() == [(2, "line is not a JSON object")]


def test_unreadable_file_is_recorded_failed_with_its_name_and_others_still_load(landing, con):
    drop(landing, "products/2026-11-20/broken.json", '[{"product_id": "P1", ')
    drop(landing, "products/2026-11-21/fine.json", json.dumps([{"product_id": "P9", "price": 1}]))
    report = load_source(con, landing, SOURCES["products"])
    statuses = {f.key: f.status for f in report.files}
    assert statuses == {"products/2026-11-20/broken.json": "failed", "products/2026-11-21/fine.json": "loaded"}
    assert report.failures[0].detail.startswith("products/2026-11-20/broken.json: ")
    assert count(con, "SELECT count(*) FROM bronze.products") == 1
    assert count(con, "SELECT count(*) FROM bronze.load_ledger WHERE status = 'failed' AND error IS NOT NULL") == 1


@pytest.mark.parametrize("part_bytes", [16, 1 << 20], ids=["in parts", "whole"])
def test_a_failed_file_leaves_no_partial_rows_whether_read_whole_or_in_parts(landing, con, monkeypatch, part_bytes):
    rows = "".join(f"C{i},Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n" for i in range(50))
    drop(landing, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\n{rows}C50,Bad,a@x.com,USA,VIP,2024-01-01,thirty,F,3\n")
    import medallion_platform.bronze.loader as loader

    monkeypatch.setattr(loader, "_record", _fail_on_loaded(loader._record))
    report = load_source(con, landing, SOURCES["customers"], part_bytes=part_bytes)
    assert report.files[0].status == "failed"
    assert count(con, "SELECT count(*) FROM bronze.customers") == 0
    assert count(con, "SELECT count(*) FROM bronze.rejects") == 0
    monkeypatch.undo()
    assert load_source(con, landing, SOURCES["customers"], part_bytes=part_bytes).files[0].status == "loaded"
    assert (count(con, "SELECT count(*) FROM bronze.customers"), count(con, "SELECT count(*) FROM bronze.rejects")) == (50, 1)


def test_a_load_killed_while_staging_parts_leaves_nothing_in_bronze_and_the_next_load_is_whole(landing, tmp_path):
    """The parts of a large file are staged, each committed, before one transaction moves them into Bronze:
    a process killed in between leaves staged rows that no reader of Bronze sees and the next load replaces."""
    rows = "".join(f"C{i},Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n" for i in range(2000))
    drop(landing, "customers/2026-11-20/a.csv", f"{CUSTOMER_HEADER}\n{rows}")
    warehouse = tmp_path / "killed.duckdb"
    script = (
        "import os, sys, duckdb\n"
        "import medallion_platform.bronze.loader as loader\n"
        "from medallion_platform.landing import LocalLandingZone\n"
        "from medallion_platform.sources import SOURCES\n"
        "def killed(*args, **kwargs):\n"
        "    os.kill(os.getpid(), 9)\n"
        "loader._move_loading_table = killed\n"
        "loader.load_source(duckdb.connect(sys.argv[1]), LocalLandingZone(root=sys.argv[2]), SOURCES['customers'], part_bytes=4096)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(warehouse), str(landing._root)], capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    con = duckdb.connect(str(warehouse))
    assert count(con, "SELECT count(*) FROM bronze._loading_customers") == 2000  # staged, committed
    assert count(con, "SELECT count(*) FROM bronze.customers") == 0
    report = load_source(con, landing, SOURCES["customers"], part_bytes=4096)
    assert report.files[0].status == "loaded" and report.files[0].rows_loaded == 2000
    assert count(con, "SELECT count(DISTINCT _row_number) FROM bronze.customers") == 2000
    assert count(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_loading_customers'") == 0


def _fail_on_loaded(record):
    def wrapper(con, load_id, source, obj, status, *args, **kwargs):
        if status == "loaded":  # the rows are inserted by now; the ledger write fails
            raise duckdb.IOException("disk went away")
        return record(con, load_id, source, obj, status, *args, **kwargs)
    return wrapper


def test_parquet_rows_keep_their_physical_row_number(landing, con, tmp_path):
    path = landing._root / "transactions/2026-11-20/t.parquet"
    path.parent.mkdir(parents=True)
    duckdb.connect().execute(
        "COPY (SELECT 'TRX' || i AS transaction_id, 'C1' AS customer_id, 'P1' AS product_id, 1 AS quantity,"
        " 9.99 AS total_amount, '2026-11-20' AS transaction_date, 'Cash' AS payment_method,"
        f" 'Online' AS store_type FROM range(5) t(i)) TO '{path}' (FORMAT PARQUET)")
    load_source(con, landing, SOURCES["transactions"])
    assert con.execute("SELECT transaction_id, _row_number FROM bronze.transactions ORDER BY 2").fetchall() == [
        (f"TRX{i}", i + 1) for i in range(5)]


@pytest.mark.parametrize("key, message", [
    ("customers/a.csv", "not of the form"),
    ("customers/2026-11-20/x/a.csv", "not of the form"),
    ("orders/2026-11-20/a.csv", "unknown source 'orders'"),
])
def test_bad_landing_keys_are_named(key, message):
    with pytest.raises(ValueError, match=message):
        parse_key(key)


def _deliver(landing: LocalLandingZone, key: str, text: str, modified: float) -> None:
    """Land `text` under `key` as last modified at `modified` (seconds since the epoch)."""
    drop(landing, key, text)
    os.utime(landing._root / key, (modified, modified))


def test_a_file_that_failed_once_is_retried_and_loads_on_the_next_run(landing, con, tmp_path):
    key = "customers/2026-11-20/a.csv"
    drop(landing, key, f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n")
    listed = landing.list_objects()
    # The object disappears between the listing and the read (a transient read error), then is back as it was.
    os.rename(landing._root / key, tmp_path / "away.csv")
    first = load_source(con, landing, SOURCES["customers"], listed)
    os.rename(tmp_path / "away.csv", landing._root / key)
    second = load_source(con, landing, SOURCES["customers"])
    assert [f.status for f in first.files] == ["failed"]
    assert [(f.status, f.rows_loaded) for f in second.files] == [("loaded", 1)]
    assert con.execute("SELECT status, attempt FROM bronze.load_ledger ORDER BY load_id").fetchall() == [
        ("failed", 1), ("loaded", 2)]
    assert count(con, "SELECT count(*) FROM bronze.customers") == 1


def test_a_file_that_keeps_failing_is_tried_a_bounded_number_of_times_and_says_so(landing, con):
    key = "products/2026-11-20/broken.json"
    drop(landing, key, '[{"product_id": "P1", ')
    statuses = [load_source(con, landing, SOURCES["products"]).files[0] for _ in range(MAX_ATTEMPTS + 1)]
    assert [f.status for f in statuses] == ["failed"] * MAX_ATTEMPTS + ["gave_up"]
    assert statuses[-1].detail.startswith(f"{key}: failed {MAX_ATTEMPTS} times, not retried")
    assert con.execute("SELECT attempt FROM bronze.load_ledger ORDER BY load_id").fetchall() == [
        (n,) for n in range(1, MAX_ATTEMPTS + 1)]
    # Landing it again (repaired) is a new delivery: it loads.
    drop(landing, key, json.dumps([{"product_id": "P1", "price": 1}]))
    assert load_source(con, landing, SOURCES["products"]).files[0].status == "loaded"


def test_an_object_reverted_to_earlier_content_is_a_new_delivery_and_its_rows_are_the_latest(landing, con):
    key = "customers/2026-11-20/a.csv"
    version_a = f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n"
    version_b = f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,31,F,4\n"
    for text, modified in ((version_a, 1_000_000), (version_b, 2_000_000), (version_a, 3_000_000)):
        _deliver(landing, key, text, modified)
        assert load_source(con, landing, SOURCES["customers"]).files[0].status == "loaded"
    latest = con.execute("SELECT age FROM bronze.customers ORDER BY _file_last_modified DESC LIMIT 1").fetchone()
    assert latest == (30,)
    assert count(con, "SELECT count(DISTINCT file_last_modified) FROM bronze.load_ledger WHERE status = 'loaded'") == 3


def test_the_same_content_landed_again_under_its_key_is_not_loaded_twice(landing, con):
    key = "customers/2026-11-20/a.csv"
    body = f"{CUSTOMER_HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n"
    _deliver(landing, key, body, 1_000_000)
    load_source(con, landing, SOURCES["customers"])
    _deliver(landing, key, body, 2_000_000)  # re-uploaded unchanged: a new last-modified, the same rows
    assert load_source(con, landing, SOURCES["customers"]).files[0].status == "already_loaded"
    assert count(con, "SELECT count(*) FROM bronze.customers") == 1


# Keys DuckDB would read as a pattern (or a query string, on S3), and others a reader could mangle.
AWKWARD_NAMES = ["*.csv", "?.csv", "[ab].csv", "{a,b}.csv", "it's \"q\".csv", "with space.csv", "Müller é.csv"]


def customer_line(customer_id: str) -> str:
    return f"{customer_id},Ann,a@x.com,USA,VIP,2024-01-01,30,F,3"


def test_keys_with_glob_characters_are_read_literally(landing, con):
    """Issue 10.1: `customers/<day>/*.csv` once loaded every CSV of its folder under its own key."""
    names = ["a.csv", "b.csv", *AWKWARD_NAMES]
    for i, name in enumerate(names):
        drop(landing, f"customers/2026-11-20/{name}", f"{CUSTOMER_HEADER}\n{customer_line(f'C{i}')}\n")
    report = load_source(con, landing, SOURCES["customers"])
    assert {f.status for f in report.files} == {"loaded"}, report.files
    rows = con.execute("SELECT _source_file, customer_id FROM bronze.customers ORDER BY 2").fetchall()
    assert sorted(rows) == sorted((f"customers/2026-11-20/{name}", f"C{i}") for i, name in enumerate(names))


def test_parquet_and_json_keys_with_glob_characters_are_read_literally(landing, con):
    for name in ("t.parquet", "*.parquet", "[t].parquet", "?.parquet"):
        path = landing._root / "transactions/2026-11-20" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect().execute(
            f"COPY (SELECT {sql_quote(name)} AS transaction_id, 'C1' AS customer_id, 'P1' AS product_id, 1 AS quantity,"
            " 9.99 AS total_amount, '2026-11-20' AS transaction_date, 'Cash' AS payment_method,"
            f" 'Online' AS store_type) TO {sql_quote(str(path))} (FORMAT PARQUET)")
    for name in ("p.json", "*.json", "[p].json"):
        drop(landing, f"products/2026-11-20/{name}", json.dumps([{"product_id": name, "price": 1}]))
    for source in ("transactions", "products"):
        load_source(con, landing, SOURCES[source])
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE 'transactions/2026-11-20/' || transaction_id = "
                       "_source_file) FROM bronze.transactions").fetchone() == (4, 4)
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE 'products/2026-11-20/' || product_id = "
                       "_source_file) FROM bronze.products").fetchone() == (3, 3)


def sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_json_lines_under_a_json_key_load_and_a_file_of_neither_fails_with_its_reason(landing, con):
    """Issue 10.5: a feed that switched from an array to lines keeps its key's .json suffix."""
    lines = [{"product_id": "P1", "price": 1}, {"product_id": "P2", "price": "x"}, {"product_id": "P3"}]
    drop(landing, "products/2026-11-20/lines.json", "\n".join(json.dumps(r) for r in lines) + "\n")
    drop(landing, "products/2026-11-20/array.json", json.dumps([{"product_id": "P4"}]))
    drop(landing, "products/2026-11-20/neither.json", "product_id,price\nP5,1\n")
    drop(landing, "products/2026-11-20/cut.json", '[\n {"product_id": "P6"},\n {"product_id": "P7"')  # an array, cut
    report = load_source(con, landing, SOURCES["products"])
    results = {f.key.rsplit("/", 1)[1]: f for f in report.files}
    assert (results["lines.json"].status, results["lines.json"].rows_loaded, results["lines.json"].rows_rejected) == \
        ("loaded", 2, 1)
    assert (results["array.json"].status, results["array.json"].rows_loaded) == ("loaded", 1)
    assert results["neither.json"].status == "failed"
    assert results["neither.json"].detail.endswith(
        "neither a JSON array nor JSON lines: it does not start with [ and no line starts with {")
    assert results["cut.json"].status == "failed"
    assert results["cut.json"].detail.endswith("ValueError: not one JSON array: Expecting ',' delimiter: line 3 column 21 (char 45)")
    assert con.execute("SELECT product_id, _row_number FROM bronze.products ORDER BY 1").fetchall() == [
        ("P1", 1), ("P3", 3), ("P4", 1)]
    assert con.execute("SELECT row_number, reason FROM bronze.rejects").fetchall() == [
        (2, "price is not DECIMAL(12,2) (x)")]


def test_an_unterminated_quote_rejects_its_own_record_only(landing, con):
    """Issue 10.6: the broken record once swallowed the next one into its reject. A quoted field that
    really spans lines is still one record."""
    body = "\n".join([CUSTOMER_HEADER, customer_line("C1"),
                      'C2,"Bob,b@x.com,USA,VIP,2024-01-01,30,M,1',
                      customer_line("C3"),
                      'C4,"Multi\nLine",m@x.com,USA,VIP,2024-01-01,30,F,3',
                      customer_line("C5")]) + "\n"
    drop(landing, "customers/2026-11-20/quote.csv", body)
    report = load_source(con, landing, SOURCES["customers"])
    assert (report.rows_loaded, report.rows_rejected) == (4, 1)
    assert con.execute("SELECT customer_id, name, _row_number FROM bronze.customers ORDER BY 1").fetchall() == [
        ("C1", "Ann", 1), ("C3", "Ann", 3), ("C4", "Multi\nLine", 4), ("C5", "Ann", 6)]
    assert con.execute("SELECT row_number, raw_record, reason FROM bronze.rejects").fetchall() == [
        (2, 'C2,"Bob,b@x.com,USA,VIP,2024-01-01,30,M,1', "unparseable CSV line: UNTERMINATED QUOTE")]


def test_loaded_rows_and_rejects_share_one_numbering(landing, con):
    """Issue 10.7: a CSV record's number is the line it starts on, the header being line 0, for loaded
    rows and rejects alike, so a reject sits between its neighbours."""
    rows = [customer_line("C1"), "C2,Cut Short", customer_line("C3"), "", customer_line("C5"),
            "C6,Doe, Jane,j@x.com,USA,P,2024-01-01,40,F,2", customer_line("C7")]
    drop(landing, "customers/2026-11-20/n.csv", CUSTOMER_HEADER + "\n" + "\n".join(rows) + "\n")
    load_source(con, landing, SOURCES["customers"])
    numbered = con.execute("SELECT _row_number, customer_id FROM bronze.customers UNION ALL "
                           "SELECT row_number, split_part(raw_record, ',', 1) FROM bronze.rejects ORDER BY 1").fetchall()
    assert numbered == [(1, "C1"), (2, "C2"), (3, "C3"), (5, "C5"), (6, "C6"), (7, "C7")]


def test_a_record_that_is_not_utf8_is_rejected_with_its_exact_bytes(landing, con):
    """Issue 10.8: the reject's raw_record is DuckDB's BLOB text of the record's bytes; casting it to
    BLOB gives them back (it once held `Jos??M?ller`)."""
    latin1 = "C2,José Müller,j@x.com,DE,VIP,2024-01-01,30,M,1".encode("latin-1")
    path = landing._root / "customers/2026-11-20/latin1.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(f"{CUSTOMER_HEADER}\n{customer_line('C1')}\n".encode() + latin1 + b"\r\n"
                     + f"{customer_line('C3')}\n".encode())
    report = load_source(con, landing, SOURCES["customers"])
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    raw, reason, number = con.execute("SELECT raw_record, reason, row_number FROM bronze.rejects").fetchone()
    assert con.execute("SELECT ?::BLOB", [raw]).fetchone()[0] == latin1
    assert (reason, number) == ("record is not UTF-8 (raw_record is its bytes as a BLOB literal)", 2)
    assert con.execute("SELECT customer_id, _row_number FROM bronze.customers ORDER BY 1").fetchall() == [
        ("C1", 1), ("C3", 3)]


@pytest.mark.parametrize("key, body, bad", [
    ("events/2026-11-20/e.jsonl", b'{"event_id":"E1"}\n%s\n{"event_id":"E3"}\n', b'{"event_id":"E2","x":"Jos\xe9"}'),
    ("products/2026-11-20/p.json", b'[{"product_id":"P1"},\n%s,\n{"product_id":"P3"}]', b'{"product_id":"P2","x":"\xfc\\\\"}'),
])
def test_a_json_record_that_is_not_utf8_is_rejected_alone_with_its_exact_bytes(landing, con, key, body, bad):
    path = landing._root / key
    path.parent.mkdir(parents=True)
    path.write_bytes(body % bad)
    source = SOURCES[key.split("/")[0]]
    report = load_source(con, landing, source)
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    raw, number = con.execute("SELECT raw_record, row_number FROM bronze.rejects").fetchone()
    assert (con.execute("SELECT ?::BLOB", [raw]).fetchone()[0], number) == (bad, 2)
    assert [n for (n,) in con.execute(f"SELECT _row_number FROM bronze.{source.name} ORDER BY 1").fetchall()] == [1, 3]


LOAD_IN_A_PROCESS = """
import os, signal, sys
import duckdb
from medallion_platform.bronze.loader import load_source
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import SOURCES
con = duckdb.connect(sys.argv[1])
load_source(con, LocalLandingZone(root=sys.argv[2]), SOURCES["customers"])
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)  # no checkpoint, no clean close: the WAL holds the load
con.close()
"""


def test_a_process_killed_after_a_load_leaves_load_ids_that_the_next_load_does_not_reuse(landing, tmp_path):
    """Found by benchmarks/faults.py: DuckDB replays a killed process's committed rows from its WAL but
    not the sequence's position, so the next load drew a load_id the ledger already had."""
    warehouse = str(tmp_path / "killed.duckdb")
    for day, name, end in (("2026-11-20", "Ann", "close"), ("2026-11-21", "Bob", "kill"), ("2026-11-22", "Cy", "close")):
        drop(landing, f"customers/{day}/{name}.csv", f"{CUSTOMER_HEADER}\n{name},{name},a@x.com,USA,VIP,2024-01-01,30,F,3\n")
        process = subprocess.run([sys.executable, "-c", LOAD_IN_A_PROCESS, warehouse, str(landing._root), end],
                                 capture_output=True, text=True)
        assert process.returncode == (-signal.SIGKILL if end == "kill" else 0), process.stderr
    with duckdb.connect(warehouse, read_only=True) as after:
        assert after.execute("SELECT file_key, load_id, status FROM bronze.load_ledger ORDER BY load_id").fetchall() == [
            ("customers/2026-11-20/Ann.csv", 1, "loaded"), ("customers/2026-11-21/Bob.csv", 2, "loaded"),
            ("customers/2026-11-22/Cy.csv", 3, "loaded")]
