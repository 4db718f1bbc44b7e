"""The S3 landing backend against a real S3-protocol server on 127.0.0.1 (moto's server mode)."""

import duckdb

from medallion_platform.bronze.loader import load_source
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.landing import LocalLandingZone, S3LandingZone, file_md5
from medallion_platform.sources import SOURCES


def test_deliver_list_and_etag_is_the_content_md5(s3_endpoint, s3_bucket, tmp_path):
    generate(GenerateConfig(scale=0.0005, days=2), tmp_path)
    zone = S3LandingZone(bucket=s3_bucket, prefix="feeds/", endpoint_url=s3_endpoint)
    delivered = zone.deliver_tree(tmp_path, "transactions")
    assert [o.key for o in delivered] == [
        "transactions/2026-11-20/transactions_20261120.parquet",
        "transactions/2026-11-21/transactions_20261121.parquet",
    ]
    listed = zone.list_objects(prefix="transactions/")
    assert [(o.key, o.etag) for o in listed] == [(o.key, file_md5(tmp_path / o.key)) for o in delivered]
    assert zone.deliver_tree(tmp_path, "transactions") == []  # unchanged content is not re-sent
    assert zone.duckdb_uri(listed[0].key) == f"s3://{s3_bucket}/feeds/{listed[0].key}"


def test_bronze_reads_s3_objects_with_duckdb_httpfs_same_as_local(s3_endpoint, s3_bucket, tmp_path):
    generate(GenerateConfig(scale=0.0005, days=2), tmp_path / "raw")
    s3 = S3LandingZone(bucket=s3_bucket, endpoint_url=s3_endpoint)
    local = LocalLandingZone(root=str(tmp_path / "landing"))
    results = {}
    for name, zone in (("s3", s3), ("local", local)):
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        for source in SOURCES.values():
            zone.deliver_tree(tmp_path / "raw", source.name)
            load_source(con, zone, source)
        results[name] = con.execute(
            "SELECT source, status, rows_loaded, rows_rejected, etag, file_key FROM bronze.load_ledger ORDER BY file_key"
        ).fetchall()
        results[name + "_rows"] = con.execute(
            "SELECT count(*), sum(total_amount), count(DISTINCT _source_file) FROM bronze.transactions").fetchone()
    assert len(results["s3"]) == 8 and all(r[1] == "loaded" for r in results["s3"])
    assert results["s3"] == results["local"]
    assert results["s3_rows"] == results["local_rows"]


def test_listing_pages_past_one_thousand_objects(s3_endpoint, s3_bucket, tmp_path):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    for i in range(1005):
        client.put_object(Bucket=s3_bucket, Key=f"events/2026-11-20/e{i:04d}.jsonl", Body=b"{}\n")
    zone = S3LandingZone(bucket=s3_bucket, endpoint_url=s3_endpoint)
    assert len(zone.list_objects(prefix="events/")) == 1005


def test_s3_keys_with_glob_and_query_characters_are_read_literally(s3_endpoint, s3_bucket, tmp_path):
    """Issue 10.1 on S3: DuckDB read `*` and `[` in an s3:// URL as a glob and `?` as a query string."""
    from medallion_platform_tests.test_bronze_loader import AWKWARD_NAMES, CUSTOMER_HEADER, customer_line

    zone = S3LandingZone(bucket=s3_bucket, prefix="feeds/", endpoint_url=s3_endpoint)
    names = ["a.csv", *AWKWARD_NAMES]
    for i, name in enumerate(names):
        path = tmp_path / f"c{i}.csv"
        path.write_text(f"{CUSTOMER_HEADER}\n{customer_line(f'C{i}')}\n")
        zone.put_file(path, f"customers/2026-11-20/{name}")
    parquet_names = ["t.parquet", "*.parquet", "[t].parquet", "?.parquet", "it's é.parquet"]
    for name in parquet_names:
        path = tmp_path / "t.parquet"
        duckdb.connect().execute(
            f"COPY (SELECT $${name}$$ AS transaction_id, 'C1' AS customer_id, 'P1' AS product_id, 1 AS quantity, "
            "9.99 AS total_amount, '2026-11-20' AS transaction_date, 'Cash' AS payment_method, "
            f"'Online' AS store_type) TO '{path}' (FORMAT PARQUET)")
        zone.put_file(path, f"transactions/2026-11-20/{name}")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for source in ("customers", "transactions"):
        report = load_source(con, zone, SOURCES[source])
        assert {f.status for f in report.files} == {"loaded"}, report.files
    assert sorted(con.execute("SELECT _source_file, customer_id FROM bronze.customers").fetchall()) == \
        sorted((f"customers/2026-11-20/{name}", f"C{i}") for i, name in enumerate(names))
    assert sorted(con.execute("SELECT _source_file, transaction_id FROM bronze.transactions").fetchall()) == \
        sorted((f"transactions/2026-11-20/{name}", name) for name in parquet_names)
