"""Declarative automation on the real definitions: after Bronze loads a new file for the latest day,
evaluating the automation conditions tick by tick carries it through Silver to Gold, and no further."""

from datetime import date, timedelta

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions

from medallion_platform.definitions import build_definitions
from medallion_platform.defs.raw import demo_run
from medallion_platform.generate import GenerateConfig, generate
from medallion_platform.partitions import LANDING_DAYS
from medallion_platform.settings import get_settings

LATEST = LANDING_DAYS.get_last_partition_key()


def _execute(defs, instance, keys, partition):
    job = defs.get_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
    assert job.execute_in_process(partition_key=partition, instance=instance).success, (keys, partition)


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
            first = defs.resolve_job_def("medallion_job").execute_in_process(
                **demo_run(scale=0.0002, seed=9, days=1, start_date=yesterday), instance=instance)
            assert first.success
            cursor = evaluate_automation_conditions(defs, instance).cursor  # settled: nothing new

            # Today's feed, from another seed: new content (the ledger would skip a copy) whose ids
            # overlap yesterday's, so it also carries corrections of yesterday's sales.
            todays = generate(GenerateConfig(scale=0.0002, seed=10, days=1, start_date=date.fromisoformat(LATEST)),
                              settings.data_dir / "today")
            new_file = settings.data_dir / "today" / next(f.key for f in todays if f.source == "transactions")
            settings.landing.put_file(new_file, f"transactions/{LATEST}/arrived_today.parquet")
            _execute(defs, instance, [AssetKey(["bronze", "transactions"])], LATEST)

            ticks = []
            for _ in range(6):  # each tick crosses at most one partitioning boundary
                result = evaluate_automation_conditions(defs, instance, cursor=cursor)
                cursor = result.cursor
                requested = {key: result.get_requested_partitions(key)
                             for key in defs.resolve_asset_graph().get_all_asset_keys()
                             if result.get_num_requested(key)}
                if not requested:
                    break
                ticks.append({k.to_user_string(): p for k, p in requested.items()})
                for partition in {p for partitions in requested.values() for p in partitions}:
                    _execute(defs, instance, [k for k, p in requested.items() if partition in p], partition)
            yield settings, ticks


def test_the_first_tick_requests_the_day_partitions_built_on_bronze_transactions(automation_ticks):
    _, ticks = automation_ticks
    # Silver transactions and the Gold facts read Bronze's day (through views), so they go together;
    # not the views between them (transactions_classified, the quarantine): those show Bronze live.
    assert ticks[0] == {"silver/transactions": {LATEST}, "gold/vw_daily_sales_analysis": {LATEST},
                        "gold/vw_customer_product_affinity": {LATEST}}


def test_the_chain_reaches_gold_for_the_latest_day_only(automation_ticks):
    _, ticks = automation_ticks
    requested = {key: partitions for tick in ticks for key, partitions in tick.items()}
    assert requested["silver/transactions"] == {LATEST}
    assert requested["gold/vw_daily_sales_analysis"] == {LATEST}
    assert requested["gold/vw_customer_product_affinity"] == {LATEST}
    assert {"gold/top_products", "gold/customer_sales_report"} <= set(requested)
    assert not any(key.startswith(("raw/", "landing/", "bronze/")) or key.endswith(("_classified", "_quarantine"))
                   for key in requested)
    assert not any(key.startswith("silver/customers") or key.startswith("silver/products") for key in requested)


def test_the_new_rows_are_in_gold(automation_ticks):
    settings, _ = automation_ticks
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        in_gold = con.execute(
            "SELECT sum(num_transactions) FROM gold.vw_daily_sales_analysis WHERE transaction_date IN "
            "(SELECT transaction_date FROM silver.transactions WHERE _landing_date = ?)", [LATEST]).fetchone()[0]
        landed = con.execute("SELECT count(*) FROM silver.transactions WHERE _landing_date = ?", [LATEST]).fetchone()[0]
    assert landed > 0 and in_gold >= landed
