"""Test harness: the incremental dbt step as a job of its own, for tests that start its runs in their own
processes (`dagster job execute -m medallion_platform_tests.incremental_job -a incremental_job`) or in
this one. Its assets and their dbt tests, on the real definitions for the current settings; not the Python
check that reads the Gold facts afterwards (it reads the warehouse, which fakesnow opens to one process
at a time, while a real warehouse takes readers at any time). With Snowflake settings, Snowflake is
fakesnow over the databases in MEDALLION_FAKESNOW_DIR (fakesnow_harness)."""

import os
from pathlib import Path

from dagster import AssetCheckKey, AssetKey, AssetSelection, Definitions, JobDefinition, define_asset_job

INCREMENTAL_ASSETS = ("silver/transactions_revisited", "silver/transactions", "gold/vw_daily_sales_analysis",
                      "gold/vw_customer_product_affinity")
VOLUME_CHECK = AssetCheckKey(AssetKey(["gold", "vw_daily_sales_analysis"]), "daily_sales_volume_in_band")


def incremental_job() -> JobDefinition:
    from medallion_platform.definitions import build_definitions  # noqa: PLC0415  (reads the settings)
    from medallion_platform.settings import get_settings  # noqa: PLC0415

    settings = get_settings()
    if settings.snowflake is None:
        defs = build_definitions(settings)
    else:
        from medallion_platform_tests.fakesnow_harness.fake_dbt import DB_PATH_VARIABLE  # noqa: PLC0415
        from medallion_platform_tests.fakesnow_harness.warehouse import fakesnow_definitions  # noqa: PLC0415

        defs = fakesnow_definitions(settings, Path(os.environ[DB_PATH_VARIABLE]))
    selection = AssetSelection.assets(*INCREMENTAL_ASSETS) - AssetSelection.checks(VOLUME_CHECK)
    job = define_asset_job("incremental", selection=selection)
    return Definitions.merge(defs, Definitions(jobs=[job])).resolve_job_def("incremental")
