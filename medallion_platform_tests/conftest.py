"""Shared fixtures: an isolated data folder per test, a real S3-protocol server on 127.0.0.1, and one
real pipeline run that every test of its results reads."""

import socket
import uuid
from datetime import date, timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
from dagster import DagsterInstance
from moto.server import ThreadedMotoServer

from medallion_platform.settings import Settings, get_settings

MEDALLION_VARIABLES = (
    "MEDALLION_DATA_DIR", "MEDALLION_DUCKDB_PATH", "MEDALLION_WAREHOUSE", "MEDALLION_LANDING",
    "MEDALLION_LANDING_DIR", "MEDALLION_S3_BUCKET", "MEDALLION_S3_PREFIX", "MEDALLION_S3_ENDPOINT_URL",
    "MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION", "MEDALLION_FAKESNOW_DIR", "MEDALLION_ALERT_WEBHOOK_URL", "MEDALLION_DUCKDB_THREADS", "MEDALLION_DUCKDB_MEMORY_LIMIT",
    "MEDALLION_FIRST_LANDING_DAY",
)

PIPELINE_RUN = {"scale": 0.0005, "seed": 11, "days": 3, "start_date": "2026-11-20"}


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server in a thread, on a free loopback port; boto3 and DuckDB talk HTTP to it."""
    port = free_port()
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


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    """The demo's feeds landed and one full run of medallion_job over their days, then both again, on an
    isolated data folder and an instance kept beside it (pipeline_dagster_home), which the UI can show.
    Session-scoped because a run costs most of the suite's time; the environment is restored once the
    runs are done, so their settings do not leak into the tests of other modules."""
    with pytest.MonkeyPatch.context() as env:
        data_dir = tmp_path_factory.mktemp("pipeline") / "data"
        for variable in MEDALLION_VARIABLES:
            env.delenv(variable, raising=False)
        env.setenv("MEDALLION_DATA_DIR", str(data_dir))
        # Imported here: importing the module builds the default definitions, which tests that never use
        # this fixture should not pay for.
        from medallion_platform.definitions import build_definitions
        from medallion_platform.demo.definitions import build_demo_definitions, run_demo

        settings = get_settings()
        defs, demo = build_definitions(settings), build_demo_definitions(settings)
        pipeline_dagster_home(settings).mkdir()
        with DagsterInstance.local_temp(str(pipeline_dagster_home(settings))) as instance:
            first = run_demo(defs, demo, instance, **PIPELINE_RUN)
            with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
                gold_after_first = con.execute(
                    "SELECT sum(total_sales), count(*) FROM gold.vw_daily_sales_analysis").fetchone()
            second = run_demo(defs, demo, instance, **PIPELINE_RUN)
            # What the 02:00 schedule runs: every Silver and Gold model again from all of Bronze. The
            # tests that follow read the warehouse after it, so they check its result too.
            last_day = (date.fromisoformat(PIPELINE_RUN["start_date"]) + timedelta(days=PIPELINE_RUN["days"] - 1)).isoformat()
            refreshed = defs.resolve_job_def("nightly_full_refresh").execute_in_process(
                partition_key=last_day, instance=instance, raise_on_error=False)
            env.undo()
            yield settings, first, second, gold_after_first, refreshed


def pipeline_dagster_home(settings: Settings) -> Path:
    """The DAGSTER_HOME of the `pipeline` fixture's runs, beside its data folder."""
    return settings.data_dir.parent / "dagster_home"


DAEMON_FIRST_DAY = date(2026, 11, 20)  # the base's day; the daemon tests' runs are for the two after it


@pytest.fixture(scope="session")
def daemon_base(tmp_path_factory):
    """Three landed days and a warehouse built from the first alone (daemon.build_base), for the tests whose
    runs go through a dagster-daemon from there (test_concurrency, test_faults): each works on its own
    copy, so the base costs one full run per session. The landing folder and the base's path."""
    from medallion_platform.definitions import build_definitions  # noqa: PLC0415 (see `pipeline`)
    from medallion_platform.demo.generate import GenerateConfig, generate  # noqa: PLC0415
    from medallion_platform_tests.daemon import build_base  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("daemon_base")
    generate(GenerateConfig(scale=0.0005, seed=9, days=3, start_date=DAEMON_FIRST_DAY), folder / "landing")
    with pytest.MonkeyPatch.context() as env:
        for variable in MEDALLION_VARIABLES:
            env.delenv(variable, raising=False)
        env.setenv("MEDALLION_DATA_DIR", str(folder / "base"))
        defs = build_definitions(get_settings())
        return folder / "landing", build_base(folder / "base", folder / "landing", defs,
                                              DAEMON_FIRST_DAY.isoformat())


@pytest.fixture
def con(pipeline):
    """A read-only connection to the warehouse the pipeline run built."""
    settings = pipeline[0]
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        yield connection


SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "fake", "SNOWFLAKE_USER": "dagster", "SNOWFLAKE_PASSWORD": "secret",
    "SNOWFLAKE_ROLE": "TRANSFORMER", "SNOWFLAKE_WAREHOUSE": "TRANSFORM_WH", "SNOWFLAKE_DATABASE": "MEDALLION",
}


def snowflake_environment(env: pytest.MonkeyPatch, bucket: str, endpoint: str) -> pytest.MonkeyPatch:
    """The settings of MEDALLION_WAREHOUSE=snowflake, landing on the S3 server's `bucket`
    (MEDALLION_DATA_DIR is the caller's; fakesnow_harness.fakesnow_definitions plays Snowflake)."""
    variables = {**SNOWFLAKE_ENV, "MEDALLION_WAREHOUSE": "snowflake", "MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION": "LANDING_S3",
                 "MEDALLION_LANDING": "s3",
                 "MEDALLION_S3_BUCKET": bucket, "MEDALLION_S3_ENDPOINT_URL": endpoint}
    for name, value in variables.items():
        env.setenv(name, value)
    return env
