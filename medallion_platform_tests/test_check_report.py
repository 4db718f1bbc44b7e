"""Severity in a real run: an ERROR on a Silver check keeps Gold from building; the report says so."""

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

from medallion_platform.definitions import build_definitions
from medallion_platform.demo.definitions import build_demo_definitions, run_demo
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.report import latest_check_results, render_html, render_markdown, render_text, write_report
from medallion_platform.settings import get_settings

SMALL_RUN = {"scale": 0.0002, "seed": 5, "days": 2, "start_date": "2026-11-20"}


@pytest.fixture(scope="module")
def broken_silver_run(tmp_path_factory):
    """A full run, then a Silver table loses a row behind the pipeline's back, then the checks and Gold run."""
    with pytest.MonkeyPatch.context() as env:
        for variable in ("MEDALLION_DUCKDB_PATH", "MEDALLION_LANDING", "MEDALLION_LANDING_DIR"):
            env.delenv(variable, raising=False)
        env.setenv("MEDALLION_DATA_DIR", str(tmp_path_factory.mktemp("blocking") / "data"))
        settings = get_settings()
        defs = build_definitions(settings)
        with DagsterInstance.ephemeral() as instance:
            full = run_demo(defs, build_demo_definitions(settings), instance, **SMALL_RUN)
            assert full.success
            with duckdb.connect(str(settings.duckdb_path)) as con:
                con.execute("DELETE FROM silver.transactions WHERE transaction_id = "
                            "(SELECT min(transaction_id) FROM silver.transactions)")
            # Only the Silver check and Gold, over the same landing days: the check sees the lost row,
            # and must stop Gold.
            checks_then_gold = define_asset_job(
                "checks_then_gold",
                selection=AssetSelection.checks_for_assets(AssetKey(["silver", "transactions"]))
                | AssetSelection.groups("gold"),
            )
            rerun = Definitions.merge(defs, Definitions(jobs=[checks_then_gold])).resolve_job_def(
                "checks_then_gold").execute_in_process(instance=instance, raise_on_error=False,
                                                       tags=landing_day_range_tags("2026-11-20", "2026-11-21"))
            yield settings, defs, instance, full, rerun


def test_the_failed_reconciliation_is_an_error_and_gold_is_not_built(broken_silver_run):
    _, _, _, _, rerun = broken_silver_run
    assert not rerun.success
    evaluations = {e.check_name: e for e in rerun.get_asset_check_evaluations()}
    failed = evaluations["transactions_reconcile_with_bronze"]
    assert (failed.passed, failed.severity.value, failed.metadata["dagster_dbt/failed_row_count"].value) == (
        False, "ERROR", 1)
    built = {e.asset_key.to_user_string() for e in rerun.get_asset_materialization_events()}
    # Everything below silver/transactions is held back; events_flattened does not read it, and builds.
    assert built == {"gold/events_flattened"}


def test_the_report_puts_the_blocking_failure_first_and_exits_nonzero(broken_silver_run, tmp_path):
    _, defs, instance, _, _ = broken_silver_run
    lines = latest_check_results(instance, defs)
    assert lines and all(line.result in ("PASS", "FAIL", "NOT RUN") for line in lines)
    blocking = [line for line in lines if line.blocks]
    assert [(l.asset, l.check, l.key_number) for l in blocking] == [
        ("silver/transactions", "transactions_reconcile_with_bronze", "failing rows: 1")]
    text = render_text(lines)
    assert text.splitlines()[0].startswith(f"Check report: {len(lines)} checks: ")
    assert "1 failed ERROR" in text.splitlines()[0]
    assert text.splitlines()[3].startswith("silver/transactions") and " ERROR " in text.splitlines()[3]
    relationships = next(l for l in lines if l.check.startswith("relationships_transactions_customer_id"))
    assert (relationships.severity, relationships.result) == ("WARN", "FAIL")
    assert relationships.key_number.startswith("failing rows: ")
    markdown, page = write_report(lines, tmp_path)
    assert "| silver/transactions | transactions_reconcile_with_bronze | ERROR | FAIL | failing rows: 1 |" in markdown.read_text()
    assert '<tr class="fail error"><td>silver/transactions</td><td>transactions_reconcile_with_bronze</td>' in page.read_text()
    assert render_markdown(lines).count("\n| ") == len(lines) + 2  # header, separator, one per check
    assert render_html(lines).count("<tr class=") == len(lines)


def test_checks_not_run_are_listed_as_such(broken_silver_run):
    _, defs, _, _, _ = broken_silver_run
    with DagsterInstance.ephemeral() as empty:
        lines = latest_check_results(empty, defs)
    assert lines and {line.result for line in lines} == {"NOT RUN"}
    assert not any(line.blocks for line in lines)
