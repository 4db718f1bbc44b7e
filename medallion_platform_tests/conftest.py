"""Shared fixtures: an isolated data folder per test, and a real S3-protocol server on 127.0.0.1."""

import socket
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from medallion_platform.settings import Settings, get_settings

MEDALLION_VARIABLES = (
    "MEDALLION_DATA_DIR", "MEDALLION_DUCKDB_PATH", "MEDALLION_WAREHOUSE", "MEDALLION_LANDING",
    "MEDALLION_LANDING_DIR", "MEDALLION_S3_BUCKET", "MEDALLION_S3_PREFIX", "MEDALLION_S3_ENDPOINT_URL",
)


@pytest.fixture
def clean_env(monkeypatch):
    for variable in MEDALLION_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.fixture
def local_settings(tmp_path, clean_env) -> Settings:
    """Settings as on a laptop, but every file under this test's tmp_path."""
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "data"))
    return get_settings()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server in a thread, on a free loopback port; boto3 and DuckDB talk HTTP to it."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, clean_env) -> str:
    """A fresh bucket on the test server, with the credentials boto3 and DuckDB will use."""
    clean_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clean_env.delenv("AWS_PROFILE", raising=False)
    bucket = f"landing-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket
