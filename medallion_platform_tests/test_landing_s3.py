"""The S3 landing backend against a real S3-protocol server on 127.0.0.1 (moto's server mode)."""

import duckdb

from medallion_platform.bronze.loader import load_source
from medallion_platform.generate import GenerateConfig, generate
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
