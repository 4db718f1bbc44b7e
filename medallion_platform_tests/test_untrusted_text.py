"""Text from outside (landing keys, CSV headers, credentials, the landing window) reaches SQL only as
data: quotes, semicolons, `--`, backslashes and `../` execute nothing, and nothing is read or written
outside the landing root. Real loader, real DuckDB, a local landing folder and moto's S3 server."""

import subprocess
import sys
from pathlib import Path

import boto3
import duckdb
import pytest

from medallion_platform.bronze.loader import load_source
from medallion_platform.landing import LocalLandingZone, S3LandingZone
from medallion_platform.settings import DBT_PROJECT_DIR
from medallion_platform.sources import SOURCES

HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"
KEY = "customers/2026-11-20/o'brien; DROP TABLE bronze.load_ledger; -- \\ x.csv"
# A backslash in an S3 key is read as a glob escape by DuckDB's S3 reader: the key-globbing fix covers it.
S3_KEY = "customers/2026-11-20/o'brien; DROP TABLE bronze.load_ledger; -- x.csv"
# A header naming an extra column that, pasted into SQL, would end a literal and drop a table.
BODY = f'{HEADER},"x\'); DROP TABLE bronze.rejects; --\\"\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3,extra\n'


def _tables(con) -> set[str]:
    return {f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}


def _assert_loaded_as_data(con, report, key) -> None:
    assert [(f.key, f.status, f.rows_loaded) for f in report.files] == [(key, "loaded", 1)], report.files
    assert {"bronze.customers", "bronze.rejects", "bronze.load_ledger"} <= _tables(con)
    assert con.execute("SELECT _source_file, customer_id FROM bronze.customers").fetchall() == [(key, "C1")]
    assert con.execute("SELECT file_key, unexpected_columns FROM bronze.load_ledger").fetchall() == [
        (key, ["x'); DROP TABLE bronze.rejects; --\\"])]


def test_a_hostile_key_and_header_load_as_data_from_a_local_folder(tmp_path):
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    (tmp_path / "feed.csv").write_text(BODY)
    landing.put_file(tmp_path / "feed.csv", KEY)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _assert_loaded_as_data(con, load_source(con, landing, SOURCES["customers"]), KEY)


def test_hostile_keys_headers_and_credentials_load_as_data_from_s3(s3_endpoint, s3_bucket, clean_env, tmp_path):
    """moto accepts any credentials; DuckDB must be handed these verbatim, not as SQL."""
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIA'; SET enable_external_access = false; --")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "se'cret\\ --;")
    landing = S3LandingZone(bucket=s3_bucket, prefix="feeds/", endpoint_url=s3_endpoint)
    (tmp_path / "feed.csv").write_text(BODY)
    landing.put_file(tmp_path / "feed.csv", S3_KEY)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _assert_loaded_as_data(con, load_source(con, landing, SOURCES["customers"]), S3_KEY)
        [secret] = con.execute("SELECT secret_string FROM duckdb_secrets()").fetchone()
        assert "key_id=AKIA'; SET enable_external_access = false; --;" in secret


@pytest.mark.parametrize("key", ["../outside.csv", "customers/2026-11-20/../../../outside.csv",
                                 "customers/2026-11-20/..", "/tmp/customers/2026-11-20/x.csv"])
def test_nothing_is_written_outside_the_landing_folder(tmp_path, key):
    landing = LocalLandingZone(root=str(tmp_path / "root" / "landing"))
    (tmp_path / "feed.csv").write_text(BODY)
    with pytest.raises(ValueError, match="landing key"):
        landing.put_file(tmp_path / "feed.csv", key)
    assert [p.name for p in tmp_path.rglob("*")] == ["feed.csv"]


def test_a_link_out_of_the_landing_folder_is_not_read(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(f"{HEADER}\nC9,Eve,e@x.com,USA,VIP,2024-01-01,30,F,3\n")
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    link = tmp_path / "landing" / "customers" / "2026-11-20" / "link.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        report = load_source(con, landing, SOURCES["customers"])
        assert [(f.key, f.status) for f in report.files] == [("customers/2026-11-20/link.csv", "failed")]
        assert "outside the landing folder" in report.files[0].detail
        assert con.execute("SELECT count(*) FROM bronze.customers").fetchone()[0] == 0


def test_a_landing_window_that_is_not_a_date_stops_dbt_naming_the_variable(tmp_path):
    """The window reaches SQL through environment variables (sql/macros/landing_window.sql)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MEDALLION_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
           "MEDALLION_DUCKDB_THREADS": "1", "MEDALLION_DUCKDB_MEMORY_LIMIT": "1GB", "DBT_TARGET_PATH": str(tmp_path / "target"),
           "MEDALLION_MIN_LANDING_DATE": "2026-11-20' as date) or true --",
           "MEDALLION_MAX_LANDING_DATE": "2026-11-21"}
    dbt = subprocess.run([str(Path(sys.executable).with_name("dbt")), "compile",
                          "--select", "transactions_revisited", "--project-dir", str(DBT_PROJECT_DIR),
                          "--profiles-dir", str(DBT_PROJECT_DIR), "--no-partial-parse"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert dbt.returncode != 0, dbt.stdout[-2000:]
    assert "MEDALLION_MIN_LANDING_DATE" in dbt.stdout and "is not a date" in dbt.stdout, dbt.stdout[-2000:]


def test_s3_keys_with_dot_segments_are_refused(s3_endpoint, s3_bucket):
    """S3 keeps `..` in a key as text, but DuckDB's and other HTTP clients may resolve it in a URL."""
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").put_object(
        Bucket=s3_bucket, Key="feeds/customers/2026-11-20/..", Body=b"x")
    landing = S3LandingZone(bucket=s3_bucket, prefix="feeds/", endpoint_url=s3_endpoint)
    with pytest.raises(ValueError, match="landing key"):
        landing.duckdb_uri("customers/2026-11-20/..")
