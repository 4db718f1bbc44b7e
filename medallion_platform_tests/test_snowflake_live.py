"""The graph on a real Snowflake account and S3 bucket: runs only where they are configured.

    SNOWFLAKE_ACCOUNT=... SNOWFLAKE_USER=... SNOWFLAKE_PASSWORD=... SNOWFLAKE_ROLE=... \\
    SNOWFLAKE_WAREHOUSE=... SNOWFLAKE_DATABASE=... MEDALLION_S3_BUCKET=... \\
    MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION=... .venv/bin/python -m pytest medallion_platform_tests/test_snowflake_live.py

It lands a small generated feed under a fresh prefix of the bucket, loads it into Bronze and builds
Silver and Gold on DuckDB (reading the same objects) and on Snowflake (COPY from the stage, then dbt-
snowflake), and compares every Silver and Gold table. The objects of
sql/snowflake/01_integration_and_stage.sql must exist, and the role must be allowed to create the
BRONZE, SILVER and GOLD schemas' objects. Without those variables it is skipped, saying which are unset.
"""

from __future__ import annotations

import os
import uuid

import pytest

from medallion_platform.demo.generate import generate
from medallion_platform.settings import SNOWFLAKE_VARIABLES
from medallion_platform_tests.snapshots import differences, snapshot_rows
from medallion_platform_tests.test_snowflake_pipeline import FEEDS, TABLES, read_duckdb_tables, run_warehouse_layers

REQUIRED = (*SNOWFLAKE_VARIABLES, "MEDALLION_S3_BUCKET", "MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION")
UNSET = [name for name in REQUIRED if not os.environ.get(name, "").strip()]

pytestmark = pytest.mark.skipif(bool(UNSET), reason="needs a Snowflake account and S3 bucket; unset: "
                                + ", ".join(UNSET))


def test_the_graph_runs_to_gold_on_snowflake_with_duckdbs_numbers(tmp_path):
    prefix = f"medallion-live-{uuid.uuid4().hex[:8]}/"
    generate(FEEDS, tmp_path / "raw")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MEDALLION_LANDING", "s3")
        duckdb_settings, on_duckdb = run_warehouse_layers(env, tmp_path / "raw", tmp_path / "duckdb", prefix,
                                                          MEDALLION_WAREHOUSE="duckdb")
        _, on_snowflake = run_warehouse_layers(env, tmp_path / "raw", tmp_path / "snowflake", prefix,
                                               MEDALLION_WAREHOUSE="snowflake")
        assert on_duckdb.success and on_snowflake.success

        from medallion_platform.snowflake.warehouse import snowflake_resource  # noqa: PLC0415

        duckdb_tables = read_duckdb_tables(duckdb_settings.duckdb_path)
        with snowflake_resource().process_config_and_initialize().get_connection() as snow:
            snowflake_tables = {t: snapshot_rows(snow.cursor().execute(
                f"SELECT {', '.join(duckdb_tables[t][0])} FROM {t}")) for t in TABLES}
    assert differences(duckdb_tables, snowflake_tables) == []
