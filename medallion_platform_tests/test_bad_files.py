"""A day with unreadable files beside good ones: the good files reach Silver and Gold in the same run,
the bad ones are named by a failing check and recorded in the ledger; nothing blocks the day."""

import shutil
import subprocess
import sys

import duckdb
import pandas as pd
import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from medallion_platform.defs.bronze import LANDED_FILES_CHECK
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.settings import PROJECT_ROOT, get_settings
from medallion_platform_tests.day_runs import order_name

DAY = "2026-11-20"
BAD_FILES = {
    f"transactions/{DAY}/zero_bytes.parquet": b"",
    f"transactions/{DAY}/truncated.parquet": b"PAR1\x15\x04\x15",
    f"customers/{DAY}/empty.csv": b"",
    f"transactions/{DAY}/_SUCCESS": b"",  # a marker: ignored, not a failure
}


def _run_day(tmp_path, env, name: str, landing) -> tuple:
    from medallion_platform.definitions import build_definitions

    env.setenv("MEDALLION_DATA_DIR", str(tmp_path / name))
    env.setenv("MEDALLION_LANDING_DIR", str(landing))
    settings = get_settings()
    job = define_asset_job("refresh", selection=AssetSelection.groups("bronze", "silver", "gold"))
    defs = Definitions.merge(build_definitions(settings), Definitions(jobs=[job]))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("refresh").execute_in_process(partition_key=DAY, instance=instance)
    return settings.duckdb_path, result


@pytest.fixture(scope="module")
def clean_and_bad_day(tmp_path_factory):
    """The day without the bad files (its warehouse built meanwhile in a process of its own, by the runs
    medallion_platform_tests/day_runs.py makes, on the second core) and with them (here, every layer)."""
    tmp_path = tmp_path_factory.mktemp("bad_files")
    generate(GenerateConfig(scale=0.0003, seed=5, days=1, start_date=pd.Timestamp(DAY).date()),
             tmp_path / "clean" / "landing")
    shutil.copytree(tmp_path / "clean" / "landing", tmp_path / "bad")
    for key, body in BAD_FILES.items():
        (tmp_path / "bad" / key).write_bytes(body)
    log = tmp_path / "clean.log"
    with open(log, "w") as out:
        clean = subprocess.Popen([sys.executable, "-m", "medallion_platform_tests.day_runs", str(tmp_path / "clean"), DAY],
                                 cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        with pytest.MonkeyPatch.context() as env:
            for variable in ("MEDALLION_LANDING", "MEDALLION_DUCKDB_PATH"):
                env.delenv(variable, raising=False)
            bad = _run_day(tmp_path, env, "bad-warehouse", tmp_path / "bad")
        assert clean.wait(timeout=600) == 0, log.read_text()[-5000:]
    finally:
        if clean.poll() is None:
            clean.kill()
            clean.wait()
    return tmp_path / "clean" / order_name([DAY]) / "warehouse.duckdb", bad


def _rows(path, sql) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


@pytest.mark.parametrize("table, order", [
    ("silver.transactions", "transaction_id"),
    ("silver.customers", "customer_id"),
    ("gold.vw_daily_sales_analysis", "transaction_date, product_id, customer_id"),
])
def test_the_good_files_reach_silver_and_gold_in_the_same_run(clean_and_bad_day, table, order):
    clean, (bad, bad_run) = clean_and_bad_day
    assert bad_run.success
    lineage = "EXCLUDE (_load_id, _ingested_at)" if table.startswith("silver") else ""
    sql = f"SELECT * {lineage} FROM {table} ORDER BY {order}"
    expected = _rows(clean, sql)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_rows(bad, sql), expected)


def test_the_bad_files_fail_a_check_naming_each_and_are_in_the_ledger(clean_and_bad_day):
    _, (bad, bad_run) = clean_and_bad_day
    failed_checks = {(e.asset_key.to_user_string(), tuple(sorted(e.metadata["failed_files"].value)))
                     for e in bad_run.get_asset_check_evaluations()
                     if e.check_name == LANDED_FILES_CHECK and not e.passed}
    assert failed_checks == {
        ("bronze/transactions", (f"transactions/{DAY}/truncated.parquet", f"transactions/{DAY}/zero_bytes.parquet")),
        ("bronze/customers", (f"customers/{DAY}/empty.csv",)),
    }
    ledger = _rows(bad, "SELECT file_key, status, error FROM bronze.load_ledger WHERE status <> 'loaded'")
    assert sorted(ledger["file_key"]) == sorted(k for k in BAD_FILES if not k.endswith("_SUCCESS"))
    assert (ledger["status"] == "failed").all() and ledger["error"].notna().all()
