"""The real asset graph, as loaded by `dagster dev` and the CLI: its shape is pinned here on purpose."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.definitions.metadata.source_code import CodeReferencesMetadataSet
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from medallion_platform.definitions import build_definitions, defs
from medallion_platform.runs import LOCATION
from medallion_platform.settings import (
    CHANGE_SET_POOL,
    PROJECT_ROOT,
    WAREHOUSE_WRITER_POOL,
    SettingsError,
    get_settings,
)
from medallion_platform_tests.conftest import MEDALLION_VARIABLES, snowflake_environment

SOURCES = ("customers", "events", "products", "transactions")
SILVER = ("country_aliases", "customers", "customers_classified", "customers_quarantine", "products",
          "products_classified", "products_quarantine", "transactions", "transactions_quarantine",
          "transactions_revisited")
GOLD = ("client_activity", "customer_sales_report", "events_flattened", "inventory_status", "sales_by_country",
        "top_products", "vw_customer_product_affinity", "vw_daily_sales_analysis")


def _graph():
    return defs.resolve_asset_graph()


def _executable(definitions):
    """The assets definitions that run code (not the external landing assets, not the checks alone)."""
    return [a for a in definitions.resolve_asset_graph().assets_defs if a.is_executable and a.keys]


def test_asset_keys_and_groups_snapshot():
    groups = {}
    for key in _graph().get_all_asset_keys():
        groups.setdefault(_graph().get(key).group_name, set()).add(key.to_user_string())
    assert groups == {
        "landing": {f"landing/{s}" for s in SOURCES},
        "bronze": {f"bronze/{s}" for s in SOURCES},
        "silver": {f"silver/{m}" for m in SILVER},
        "gold": {f"gold/{m}" for m in GOLD},
        "reports": {"reports/gold_dashboard"},
    }


def test_lineage_runs_from_landed_files_to_gold():
    graph = _graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(AssetKey.from_user_string(key)).parent_keys}

    assert parents("landing/transactions") == set()
    assert parents("bronze/transactions") == {"landing/transactions"}
    # Silver transactions and their quarantine merge what the run revisits (every Bronze row on a first build).
    assert parents("silver/transactions") == {"silver/transactions_revisited", "silver/customers", "silver/products"}
    assert parents("silver/transactions_quarantine") == {"silver/transactions_revisited"}
    # What an incremental run revisits: the transactions its files carry, and those of the customers and
    # products its files carry.
    assert parents("silver/transactions_revisited") == {"bronze/transactions", "bronze/customers", "bronze/products"}
    # The incremental facts rebuild the groups of the revisited transactions; the sales join every Gold
    # model shares (macros/enrich_sales.sql) reads the Silver tables.
    assert parents("gold/vw_daily_sales_analysis") == {
        "silver/transactions", "silver/transactions_revisited", "silver/customers", "silver/products"}
    assert parents("gold/top_products") == {"silver/transactions", "silver/products", "silver/customers"}
    assert parents("gold/events_flattened") == {"bronze/events"}


def test_every_asset_is_described_and_every_step_opening_the_warehouse_shares_the_pool():
    for key in _graph().get_all_asset_keys():
        node = _graph().get(key)
        assert node.description, key
    for assets_def in _executable(defs):
        # Readers too: on DuckDB, no other process may open the file while a writer has it.
        opens_warehouse = "warehouse" in assets_def.required_resource_keys
        assert opens_warehouse == any(k.path[0] in ("bronze", "silver", "gold", "reports") for k in assets_def.keys)
        pools = {op.pool for op in assets_def.node_def.iterate_op_defs()}
        assert pools == ({WAREHOUSE_WRITER_POOL} if opens_warehouse else {None}), assets_def.keys


def test_on_snowflake_the_incremental_step_alone_has_a_pool_of_its_own(clean_env, tmp_path):
    """Snowflake takes concurrent writers, but not two runs replacing silver.transactions_revisited at once:
    that step's pool is the one the production instance keeps at one step (deploy/dagster.yaml)."""
    snowflake_environment(clean_env, "landing", "http://127.0.0.1:9")
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path))
    pools = {op.name: op.pool for assets_def in _executable(build_definitions(get_settings()))
             for op in assets_def.node_def.iterate_op_defs() if op.pool}
    assert pools.pop("incremental_dbt_models") == CHANGE_SET_POOL
    assert set(pools.values()) == {WAREHOUSE_WRITER_POOL}


def test_gold_has_a_freshness_policy_and_nothing_else_does():
    for key in _graph().get_all_asset_keys():
        policy = _graph().get(key).freshness_policy
        assert (policy is not None) == (key.path[0] == "gold"), key


def test_dbt_tests_are_asset_checks():
    checks = {(k.asset_key.to_user_string(), k.name) for k in _graph().asset_check_keys}
    assert ("silver/customers", "unique_customers_customer_id") in checks
    assert ("silver/transactions", "not_null_transactions_transaction_date") in checks
    assert len(checks) >= 20
    reconciliations = {(asset, name) for asset, name in checks if name.endswith("_reconcile_with_bronze")}
    assert reconciliations == {(f"silver/{e}", f"{e}_reconcile_with_bronze")
                               for e in ("customers", "products", "transactions")}
    # ERROR-severity dbt tests are blocking: automation waits for them to pass.
    reconciliation = AssetCheckKey(AssetKey(["silver", "transactions"]), "transactions_reconcile_with_bronze")
    assert _graph().get_check_spec(reconciliation).blocking


def test_bronze_and_the_sales_facts_are_partitioned_by_landing_day():
    partitioned = {k.to_user_string() for k in _graph().get_all_asset_keys() if _graph().get(k).partitions_def}
    assert partitioned == {f"bronze/{s}" for s in SOURCES} | {
        "silver/transactions_revisited", "silver/transactions", "silver/transactions_quarantine",
        "gold/vw_daily_sales_analysis", "gold/vw_customer_product_affinity"}


def test_sensors_schedule_and_automation_are_on_by_default():
    assert {s.name: s.default_status.value for s in defs.sensors} == {
        "landed_files_to_bronze": "RUNNING", "follow_bronze": "RUNNING",
        "alert_on_run_failure": "RUNNING", "alert_on_failed_checks": "RUNNING"}
    schedule = defs.resolve_schedule_def("nightly_full_refresh_schedule")
    assert (schedule.cron_schedule, schedule.default_status.value) == ("0 2 * * *", "RUNNING")
    silver = _graph().get(AssetKey(["silver", "transactions"]))
    assert silver.automation_condition.get_label() == "follow_upstream"
    on_a_cadence = {k.to_user_string() for k in _graph().get_all_asset_keys()
                    if _graph().get(k).automation_condition is not None
                    and _graph().get(k).automation_condition.get_label() == "refresh_every_15_minutes"}
    assert on_a_cadence == {"gold/client_activity", "gold/customer_sales_report", "gold/inventory_status",
                            "gold/sales_by_country", "gold/top_products", "reports/gold_dashboard"}


def _selected(definitions, job_name: str) -> set[str]:
    return {k.to_user_string() for k in definitions.resolve_job_def(job_name).asset_layer.selected_asset_keys}


def test_medallion_job_selects_every_asset_from_bronze_to_gold():
    assert _selected(defs, "medallion_job") == {k.to_user_string() for k in _graph().get_all_asset_keys()
                                                if k.path[0] != "landing"}


@pytest.mark.parametrize("variables, message", [
    ({"MEDALLION_WAREHOUSE": "oracle"}, "MEDALLION_WAREHOUSE='oracle' is not one of"),
    ({"MEDALLION_LANDING": "ftp"}, "MEDALLION_LANDING='ftp' is not one of: local, s3"),
    ({"MEDALLION_LANDING": "s3"}, "MEDALLION_LANDING=s3 needs MEDALLION_S3_BUCKET"),
    ({"MEDALLION_LANDING": "s3", "MEDALLION_S3_BUCKET": "b", "MEDALLION_S3_ENDPOINT_URL": "localhost:9000"},
     "MEDALLION_S3_ENDPOINT_URL='localhost:9000' must start with http"),
    ({"MEDALLION_DUCKDB_THREADS": "0"}, "MEDALLION_DUCKDB_THREADS='0' must be a whole number of threads"),
    ({"MEDALLION_DUCKDB_MEMORY_LIMIT": "3 gigs"}, "MEDALLION_DUCKDB_MEMORY_LIMIT='3 gigs' must be a size"),
    ({"MEDALLION_FIRST_LANDING_DAY": "2026-13-01"}, "MEDALLION_FIRST_LANDING_DAY='2026-13-01' must be a day as YYYY-MM-DD"),
    ({"MEDALLION_FIRST_LANDING_DAY": "20261120"}, "MEDALLION_FIRST_LANDING_DAY='20261120' must be a day as YYYY-MM-DD"),
])
def test_bad_settings_stop_with_the_variable_named(clean_env, variables, message):
    for name, value in variables.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        get_settings()


def test_duckdb_may_hold_four_fifths_of_the_machine_by_default_or_what_the_setting_says(clean_env):
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    assert get_settings().duckdb_memory_limit == f"{machine * 0.8:.1f}GiB"
    clean_env.setenv("MEDALLION_DUCKDB_MEMORY_LIMIT", "512MiB")
    assert get_settings().duckdb_memory_limit == "512MiB"


def test_s3_settings_build_an_s3_landing_zone(clean_env, tmp_path):
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path))
    clean_env.setenv("MEDALLION_LANDING", "s3")
    clean_env.setenv("MEDALLION_S3_BUCKET", "acme-landing")
    clean_env.setenv("MEDALLION_S3_PREFIX", "feeds")
    settings = get_settings()
    assert settings.landing.describe() == "s3://acme-landing/feeds"
    assert settings.duckdb_path == tmp_path / "warehouse.duckdb"
    on_s3 = build_definitions(settings)
    assert on_s3.resources["landing"].describe() == "s3://acme-landing/feeds"
    assert _selected(on_s3, "medallion_job") == _selected(defs, "medallion_job")


# What loading the production definitions leaves in sys.modules and in the asset graph, in a process of
# its own (this one has imported the demo already).
_PRODUCTION_PROBE = """
import json, sys
from medallion_platform.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "modules": sorted(m for m in sys.modules if m.startswith(("medallion_platform", "faker"))),
    "executable": sorted(k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_executable),
    "groups": sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()}),
    "landing": sorted(k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "landing"),
}))
"""


def test_the_production_definitions_cannot_write_the_landing_zone_nor_load_the_demo(tmp_path):
    """The landing zone is written by feeds (in production, other systems), never by the pipeline: its
    objects are external assets, and the demo's generator is not even imported."""
    env = {name: value for name, value in os.environ.items() if name not in MEDALLION_VARIABLES}
    env["MEDALLION_DATA_DIR"] = str(tmp_path)
    probe = subprocess.run([sys.executable, "-c", _PRODUCTION_PROBE], env=env, capture_output=True, text=True,
                           cwd=PROJECT_ROOT, check=True)
    loaded = json.loads(probe.stdout.splitlines()[-1])
    assert [m for m in loaded["modules"] if m.startswith(("medallion_platform.demo", "medallion_platform.demo.generate",
                                                         "medallion_platform.defs.raw", "faker"))] == []
    assert loaded["landing"] == [f"landing/{s}" for s in SOURCES]
    assert {key.split("/")[0] for key in loaded["executable"]} == {"bronze", "silver", "gold", "reports"}
    assert loaded["groups"] == ["bronze", "gold", "landing", "reports", "silver"]


def _workspace_modules(path) -> list[str]:
    return [entry["python_module"]["module_name"] for entry in yaml.safe_load(path.read_text())["load_from"]]


def test_a_production_workspace_lists_the_pipeline_alone_under_its_location_name():
    assert _workspace_modules(PROJECT_ROOT / "deploy" / "workspace.yaml") == ["medallion_platform.definitions"]
    entry = yaml.safe_load((PROJECT_ROOT / "deploy" / "workspace.yaml").read_text())["load_from"][0]
    assert entry["python_module"]["location_name"] == LOCATION == "medallion_platform"


def test_the_local_workspace_adds_the_demo_and_reads_raw_to_landing_to_bronze(local_settings):
    """Both locations loaded as `make dev` loads them: the demo's deliveries are the materializable side of
    the pipeline's external landing assets, one lineage from the generated files to Bronze, no duplicate."""
    assert _workspace_modules(PROJECT_ROOT / "workspace.yaml") == [
        "medallion_platform.definitions", "medallion_platform.demo.definitions"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Dagster warns of a key two locations both materialize
        with DagsterInstance.local_temp() as instance, WorkspaceProcessContext(
                instance, WorkspaceFileTarget(paths=[str(PROJECT_ROOT / "workspace.yaml")])) as process:
            workspace = process.create_request_context()
            assert {name: entry.load_error for name, entry in workspace.get_code_location_entries().items()} == {
                LOCATION: None, "medallion_demo": None}
            landing = workspace.asset_graph.get(AssetKey(["landing", "transactions"]))
            assert (landing.parent_keys, landing.child_keys, landing.is_materializable) == (
                {AssetKey(["raw", "transactions"])}, {AssetKey(["bronze", "transactions"])}, True)


def test_every_asset_links_to_the_code_that_defines_it():
    """From an asset's page in the UI to its code in one step: each carries code references to files that
    exist, a dbt model its own SQL file, an asset written in Python the function that builds it."""
    references = {}
    for key in _graph().get_all_asset_keys():
        found = CodeReferencesMetadataSet.extract(_graph().get(key).metadata).code_references
        assert found is not None, key
        references[key.to_user_string()] = {Path(r.file_path) for r in found.code_references}
        assert all(path.is_file() for path in references[key.to_user_string()]), key
    assert PROJECT_ROOT / "sql" / "models" / "silver" / "customers.sql" in references["silver/customers"]
    assert PROJECT_ROOT / "sql" / "models" / "gold" / "top_products.sql" in references["gold/top_products"]
    assert PROJECT_ROOT / "medallion_platform" / "defs" / "bronze.py" in references["bronze/events"]
    assert PROJECT_ROOT / "medallion_platform" / "defs" / "events.py" in references["gold/events_flattened"]
    assert PROJECT_ROOT / "medallion_platform" / "defs" / "landing.py" in references["landing/customers"]
