"""Declarative automation on the real definitions: after Bronze loads a new file for the latest day,
evaluating the automation conditions tick by tick carries it through Silver to the Gold facts and the Gold
dashboard, and no further; the Gold tables over all history follow at the next quarter-hour tick, once,
and the dashboard with them.

The evaluations run at set times of the latest day (its partition is then the latest time window): the
file's chain between 00:01 and 00:07, the quarter-hour ticks at 00:15 and 00:30."""

from datetime import date, datetime, time, timedelta, timezone

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions

from medallion_platform.definitions import build_definitions
from medallion_platform.demo.definitions import build_demo_definitions, run_demo
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.partitions import LANDING_DAYS
from medallion_platform.settings import get_settings

LATEST = LANDING_DAYS.get_last_partition_key()
# The Gold tables over all history, and the dashboard that shows them (with the facts' and the quarantine's
# totals, which at scale cost as much to read as a whole-history table).
ON_A_CADENCE = {"gold/client_activity", "gold/customer_sales_report", "gold/inventory_status",
                "gold/sales_by_country", "gold/top_products", "reports/gold_dashboard"}


def _at(minute: int) -> datetime:
    """`minute` minutes past midnight (UTC) of the latest day."""
    return datetime.combine(date.fromisoformat(LATEST), time(0, minute), tzinfo=timezone.utc)


def _execute(defs, instance, keys, partition):
    job = defs.get_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
    assert job.execute_in_process(partition_key=partition, instance=instance).success, (keys, partition)


def _tick(defs, instance, cursor, minute):
    """Evaluate the conditions at `minute`, run what they request; the cursor and what was requested."""
    result = evaluate_automation_conditions(defs, instance, cursor=cursor, evaluation_time=_at(minute))
    requested = {key: result.get_requested_partitions(key)
                 for key in defs.resolve_asset_graph().get_all_asset_keys() if result.get_num_requested(key)}
    for partition in {p for partitions in requested.values() for p in partitions}:
        _execute(defs, instance, [k for k, p in requested.items() if partition in p], partition)
    return result.cursor, {k.to_user_string(): p for k, p in requested.items()}


@pytest.fixture(scope="module")
def automation_ticks(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        for variable in ("MEDALLION_DUCKDB_PATH", "MEDALLION_LANDING", "MEDALLION_LANDING_DIR"):
            env.delenv(variable, raising=False)
        env.setenv("MEDALLION_DATA_DIR", str(tmp_path_factory.mktemp("automation") / "data"))
        settings = get_settings()
        defs = build_definitions(settings)
        yesterday = (date.fromisoformat(LATEST) - timedelta(days=1)).isoformat()
        with DagsterInstance.ephemeral() as instance:
            first = run_demo(defs, build_demo_definitions(settings), instance, scale=0.0002, seed=9, days=1,
                             start_date=yesterday)
            assert first.success
            # settled: nothing new
            cursor = evaluate_automation_conditions(defs, instance, evaluation_time=_at(1)).cursor

            # Today's feed, from another seed: new content (the ledger would skip a copy) whose ids
            # overlap yesterday's, so it also carries corrections of yesterday's sales.
            todays = generate(GenerateConfig(scale=0.0002, seed=10, days=1, start_date=date.fromisoformat(LATEST)),
                              settings.data_dir / "today")
            new_file = settings.data_dir / "today" / next(f.key for f in todays if f.source == "transactions")
            settings.landing.put_file(new_file, f"transactions/{LATEST}/arrived_today.parquet")
            _execute(defs, instance, [AssetKey(["bronze", "transactions"])], LATEST)

            ticks = []
            for minute in range(2, 8):  # each tick crosses at most one partitioning boundary
                cursor, requested = _tick(defs, instance, cursor, minute)
                if not requested:
                    break
                ticks.append(requested)
            # Past the 00:15 tick, just after it, and past the 00:30 tick with no parent updated since.
            cadence = {}
            for minute in (16, 17, 31):
                cursor, cadence[minute] = _tick(defs, instance, cursor, minute)
            yield settings, ticks, cadence


def test_the_first_tick_requests_the_day_partitions_built_on_bronze_transactions(automation_ticks):
    _, ticks, _ = automation_ticks
    # What the day revisits, Silver transactions, their quarantine and the Gold facts all read Bronze's
    # day, so they go together.
    assert ticks[0] == {"silver/transactions_revisited": {LATEST}, "silver/transactions": {LATEST},
                        "silver/transactions_quarantine": {LATEST},
                        "gold/vw_daily_sales_analysis": {LATEST}, "gold/vw_customer_product_affinity": {LATEST}}


def test_the_chain_reaches_the_gold_facts_for_the_latest_day_only(automation_ticks):
    _, ticks, _ = automation_ticks
    requested = {key: partitions for tick in ticks for key, partitions in tick.items()}
    assert requested["silver/transactions_revisited"] == {LATEST}
    assert requested["silver/transactions"] == {LATEST}
    assert requested["silver/transactions_quarantine"] == {LATEST}
    assert requested["gold/vw_daily_sales_analysis"] == {LATEST}
    assert requested["gold/vw_customer_product_affinity"] == {LATEST}
    assert not ON_A_CADENCE & set(requested)  # before the quarter-hour tick
    assert not any(key.startswith(("landing/", "bronze/")) or key.endswith("_classified") for key in requested)
    assert not any(key.startswith("silver/customers") or key.startswith("silver/products") for key in requested)


def test_the_gold_tables_over_all_history_refresh_once_after_the_quarter_hour_tick(automation_ticks):
    _, _, cadence = automation_ticks
    assert cadence[16] == {key: {None} for key in ON_A_CADENCE}
    assert cadence[17] == {}  # handled: no second request before the next tick
    assert cadence[31] == {}  # a tick, but no parent updated since they were refreshed


def test_the_new_rows_are_in_gold(automation_ticks):
    settings, _, _ = automation_ticks
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        in_gold = con.execute(
            "SELECT sum(num_transactions) FROM gold.vw_daily_sales_analysis WHERE transaction_date IN "
            "(SELECT transaction_date FROM silver.transactions WHERE _landing_date = ?)", [LATEST]).fetchone()[0]
        landed = con.execute("SELECT count(*) FROM silver.transactions WHERE _landing_date = ?", [LATEST]).fetchone()[0]
    assert landed > 0 and in_gold >= landed
