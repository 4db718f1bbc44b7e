"""Property tests of the DuckDB Bronze loader (issue 10): feeds with random defects, on real files in a
local landing folder. Whatever a file holds, each of its records ends in Bronze or in bronze.rejects
with a reason, never in both, never lost, never split in two; blank lines are no record."""

import json
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings, strategies as st

from medallion_platform.bronze.loader import load_source
from medallion_platform.bronze.records import PART_BYTES
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import SOURCES

SMALL = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CUSTOMER_HEADER = b"customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"

# kind -> (loads?, the record's CSV bytes for record i)
CSV_KINDS = {
    "good": (True, lambda i: b"C%d,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3" % i),
    "quoted comma": (True, lambda i: b'C%d,"Doe, Jane",a@x.com,USA,VIP,2024-01-01,30,F,3' % i),
    "quoted quote": (True, lambda i: b'C%d,"Say ""hi""",a@x.com,USA,VIP,2024-01-01,,F,3' % i),
    "line break in a field": (True, lambda i: b'C%d,"Multi\nLine",a@x.com,USA,VIP,2024-01-01,30,F,3' % i),
    "bad type": (False, lambda i: b"C%d,Ann,a@x.com,USA,VIP,2024-01-01,thirty,F,3" % i),
    "unterminated quote": (False, lambda i: b'C%d,"Ann,a@x.com,USA,VIP,2024-01-01,30,F,3' % i),
    "quote after a field": (False, lambda i: b'C%d,"Ann"x,a@x.com,USA,VIP,2024-01-01,30,F,3' % i),
    "missing field": (False, lambda i: b"C%d,Ann,a@x.com,USA,VIP,2024-01-01,30,F" % i),
    "extra field": (False, lambda i: b"C%d,Doe, Jane,a@x.com,USA,VIP,2024-01-01,30,F,3" % i),
    "invalid UTF-8": (False, lambda i: b"C%d,Jos\xe9 M\xfcller,a@x.com,USA,VIP,2024-01-01,30,F,3" % i),
}

GOOD_PRODUCT = {"product_id": "P", "name": "A", "category": "Books", "brand": "X", "price": 10.5,
                "stock_quantity": 3, "rating": 4.5, "is_active": True}
# kind -> (loads?, the record's JSON bytes for record i); a missing key is NULL and an unknown key is
# only reported, so neither rejects a record
JSON_KINDS = {
    "good": (True, lambda i: json.dumps({**GOOD_PRODUCT, "product_id": f"P{i}"}).encode()),
    "missing field": (True, lambda i: json.dumps({"product_id": f"P{i}"}).encode()),
    "extra field": (True, lambda i: json.dumps({**GOOD_PRODUCT, "product_id": f"P{i}", "colour": "red"}).encode()),
    "bad type": (False, lambda i: json.dumps({**GOOD_PRODUCT, "product_id": f"P{i}", "price": "12,99"}).encode()),
    "not an object": (False, lambda i: json.dumps([i, "x"]).encode()),
    "invalid UTF-8": (False, lambda i: b'{"product_id": "P%d", "name": "Jos\xe9"}' % i),
}
# A file that starts with [ is an array (a truncated one fails whole), so no line here is an array.
JSON_LINE_KINDS = {**JSON_KINDS, "not an object": (False, lambda i: json.dumps(f"text {i}").encode()),
                   "broken line": (False, lambda i: b'{"product_id": "P%d", "brand": {' % i)}


def records(kinds: dict) -> st.SearchStrategy:
    return st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=12)


def with_blank_lines(lines: list[bytes], blanks: list[int]) -> list[bytes]:
    for at in sorted(blanks, reverse=True):
        lines.insert(at % (len(lines) + 1), b"")
    return lines


def load_one(key: str, body: bytes, source: str):
    """Land one file in a fresh folder, load it into a fresh warehouse: (report of the file, connection)."""
    return load_in_parts(key, body, source, [PART_BYTES])[0]


def load_in_parts(key: str, body: bytes, source: str, part_sizes: list[int]) -> list:
    """Land one file, load it into a fresh warehouse for each part size: [(report of the file, connection)]."""
    with tempfile.TemporaryDirectory(prefix="bronze-prop-") as folder:
        path = Path(folder) / key
        path.parent.mkdir(parents=True)
        path.write_bytes(body)
        loads = []
        for part_bytes in part_sizes:
            con = duckdb.connect()
            report = load_source(con, LocalLandingZone(root=folder), SOURCES[source], part_bytes=part_bytes)
            loads.append((report.files[0], con))
    return loads


def assert_every_record_accounted_for(file, con, table: str, kinds: list[str], catalogue: dict) -> None:
    assert file.status == "loaded", file.detail
    loaded = con.execute(f"SELECT _row_number FROM bronze.{table}").fetchall()
    rejects = con.execute("SELECT row_number, reason FROM bronze.rejects").fetchall()
    assert len(loaded) + len(rejects) == len(kinds), (kinds, rejects)
    assert len(loaded) == sum(catalogue[k][0] for k in kinds), (kinds, rejects)
    assert all(reason for _, reason in rejects)
    numbers = [n for (n,) in loaded] + [n for n, _ in rejects]
    assert len(set(numbers)) == len(numbers), numbers


@SMALL
@given(kinds=records(CSV_KINDS), blanks=st.lists(st.integers(0, 20), max_size=3), crlf=st.booleans())
def test_every_csv_record_is_loaded_or_rejected_with_a_reason(kinds, blanks, crlf):
    lines = with_blank_lines([CSV_KINDS[k][1](i) for i, k in enumerate(kinds)], blanks)
    body = (b"\r\n" if crlf else b"\n").join([CUSTOMER_HEADER, *lines]) + b"\n"
    file, con = load_one("customers/2026-11-20/c.csv", body, "customers")
    assert_every_record_accounted_for(file, con, "customers", kinds, CSV_KINDS)


@SMALL
@given(kinds=records(JSON_LINE_KINDS), blanks=st.lists(st.integers(0, 20), max_size=3), suffix=st.sampled_from([".json", ".jsonl"]))
def test_every_json_line_is_loaded_or_rejected_with_a_reason(kinds, blanks, suffix):
    # A file none of whose lines starts an object is neither JSON lines nor an array: it fails whole
    # (test_bronze_loader covers that); here some record is an object, or the start of one.
    kinds = kinds if any(k != "not an object" for k in kinds) else [*kinds, "good"]
    lines = with_blank_lines([JSON_LINE_KINDS[k][1](i) for i, k in enumerate(kinds)], blanks)
    file, con = load_one(f"products/2026-11-20/p{suffix}", b"\n".join(lines) + b"\n", "products")
    assert_every_record_accounted_for(file, con, "products", kinds, JSON_LINE_KINDS)


@SMALL
@given(kinds=records(JSON_KINDS), pretty=st.booleans())
def test_every_json_array_element_is_loaded_or_rejected_with_a_reason(kinds, pretty):
    separator = b",\n\n  " if pretty else b","
    body = b"[" + separator.join(JSON_KINDS[k][1](i) for i, k in enumerate(kinds)) + b"]"
    file, con = load_one("products/2026-11-20/p.json", body, "products")
    assert_every_record_accounted_for(file, con, "products", kinds, JSON_KINDS)


def loaded_and_rejected(con, table: str) -> tuple[list, list]:
    """Every Bronze row and reject, without the columns that say when they were written."""
    rows = con.execute(f"SELECT * EXCLUDE (_ingested_at) FROM bronze.{table} ORDER BY _row_number").fetchall()
    rejects = con.execute("SELECT * EXCLUDE (rejected_at) FROM bronze.rejects ORDER BY row_number").fetchall()
    return rows, rejects


# Large files are read a part at a time (bronze/records.py); parts of a few bytes cut every record
# boundary there is, multi-line CSV records and blank lines included.
@SMALL
@given(kinds=records(CSV_KINDS), blanks=st.lists(st.integers(0, 20), max_size=3), crlf=st.booleans(),
       part_bytes=st.integers(1, 300))
def test_a_csv_file_read_in_parts_loads_as_it_does_whole(kinds, blanks, crlf, part_bytes):
    lines = with_blank_lines([CSV_KINDS[k][1](i) for i, k in enumerate(kinds)], blanks)
    body = (b"\r\n" if crlf else b"\n").join([CUSTOMER_HEADER, *lines]) + b"\n"
    (whole, whole_con), (parts, parts_con) = load_in_parts("customers/2026-11-20/c.csv", body, "customers",
                                                           [PART_BYTES, part_bytes])
    assert (parts.status, parts.rows_loaded, parts.rows_rejected) == (whole.status, whole.rows_loaded, whole.rows_rejected)
    assert loaded_and_rejected(parts_con, "customers") == loaded_and_rejected(whole_con, "customers")


@SMALL
@given(kinds=records(JSON_LINE_KINDS), blanks=st.lists(st.integers(0, 20), max_size=3), part_bytes=st.integers(1, 300),
       bom=st.booleans())
def test_a_json_lines_file_read_in_parts_loads_as_it_does_whole(kinds, blanks, part_bytes, bom):
    lines = with_blank_lines([JSON_LINE_KINDS[k][1](i) for i, k in enumerate(kinds)], blanks)
    body = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines)  # no line break after the last line
    (whole, whole_con), (parts, parts_con) = load_in_parts("events/2026-11-20/e.jsonl", body, "events",
                                                           [PART_BYTES, part_bytes])
    assert (parts.status, parts.rows_loaded, parts.rows_rejected, parts.columns) == \
        (whole.status, whole.rows_loaded, whole.rows_rejected, whole.columns)
    if whole.status == "loaded":
        assert loaded_and_rejected(parts_con, "events") == loaded_and_rejected(whole_con, "events")
