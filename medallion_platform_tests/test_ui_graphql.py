"""The catalog as the Dagster UI serves it: a real dagster-webserver over the workspace.yaml `make dev` uses
and the instance of the `pipeline` fixture's runs (conftest.py), asked through its GraphQL API and opened
in headless Chromium, whose screenshots are the README's (MEDALLION_UPDATE_SCREENSHOTS=1 copies them to
docs/screenshots/)."""

import os
import shutil

import pytest

from medallion_platform.catalog import OWNER
from medallion_platform.runs import LOCATION
from medallion_platform.settings import PROJECT_ROOT
from medallion_platform_tests.chromium import find_chromium, render
from medallion_platform_tests.conftest import pipeline_dagster_home
from medallion_platform_tests.webserver import dagster_webserver

ASSETS = """{ assetNodes {
    assetKey { path } groupName kinds description
    owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type description } } } }
    assetChecksOrError { ... on AssetChecks { checks { name description } } }
    assetMaterializations(limit: 1) { metadataEntries { label
        ... on IntMetadataEntry { intValue } ... on MarkdownMetadataEntry { mdStr } } }
} }"""

LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { ... on RepositoryLocation { repositories { sensors { name } schedules { name } } } } } } } }"""


@pytest.fixture(scope="module")
def server(pipeline, tmp_path_factory):
    settings = pipeline[0]
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    with dagster_webserver(pipeline_dagster_home(settings), settings.data_dir, log=log) as server:
        yield server


@pytest.fixture(scope="module")
def ui(server):
    nodes = server.graphql(ASSETS)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}, server.graphql(LOCATIONS)


def test_assets_and_their_groups(ui):
    nodes, _ = ui
    groups = {}
    for key, node in nodes.items():
        groups.setdefault(node["groupName"], set()).add(key)
    assert {group: len(keys) for group, keys in groups.items()} == {
        "raw": 4, "landing": 4, "bronze": 4, "silver": 10, "gold": 8, "reports": 1}
    assert "gold/vw_daily_sales_analysis" in groups["gold"] and "bronze/events" in groups["bronze"]


def test_every_asset_has_the_owner_a_description_and_its_kinds(ui):
    nodes, _ = ui
    for key, node in nodes.items():
        assert node["owners"] == [{"__typename": "TeamAssetOwner", "team": OWNER.removeprefix("team:")}], key
        assert node["description"], key
    assert sorted(nodes["landing/customers"]["kinds"]) == ["csv", "folder"]
    assert sorted(nodes["bronze/transactions"]["kinds"]) == ["duckdb", "parquet"]
    assert sorted(nodes["silver/customers"]["kinds"]) == sorted(nodes["gold/top_products"]["kinds"]) == ["dbt", "duckdb"]


def test_a_gold_model_shows_every_column_with_its_type_and_description(ui, con):
    nodes, _ = ui
    schema = next(e["schema"] for e in nodes["gold/vw_daily_sales_analysis"]["metadataEntries"]
                  if e["label"] == "dagster/column_schema")
    in_warehouse = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                               "table_schema = 'gold' AND table_name = 'vw_daily_sales_analysis' "
                               "ORDER BY ordinal_position").fetchall()
    assert [(c["name"], c["type"]) for c in schema["columns"]] == in_warehouse
    assert len(in_warehouse) == 11 and all(c["description"] for c in schema["columns"])


def test_the_latest_materialization_shows_the_row_count_and_a_preview(ui, con):
    nodes, _ = ui
    metadata = {e["label"]: e for e in nodes["gold/top_products"]["assetMaterializations"][0]["metadataEntries"]}
    assert metadata["dagster/row_count"]["intValue"] == con.execute("SELECT count(*) FROM gold.top_products").fetchone()[0]
    assert metadata["preview"]["mdStr"].startswith("| product_id | product_name |")


def test_every_check_has_a_description(ui):
    nodes, _ = ui
    checks = {(key, c["name"]): c["description"] for key, node in nodes.items()
              for c in node["assetChecksOrError"].get("checks", [])}
    assert len(checks) >= 60
    assert [check for check, description in checks.items() if not description] == []
    assert "bronze.load_ledger" in checks[("bronze/customers", "landed_files_loaded")]


def test_the_locations_sensors_and_schedule(ui):
    _, workspace = ui
    entries = {e["name"]: e["locationOrLoadError"]["repositories"][0]
               for e in workspace["workspaceOrError"]["locationEntries"]}
    assert set(entries) == {LOCATION, "medallion_demo"}
    assert {s["name"] for s in entries[LOCATION]["sensors"]} == {
        "landed_files_to_bronze", "follow_bronze", "alert_on_run_failure", "alert_on_failed_checks"}
    assert [s["name"] for s in entries[LOCATION]["schedules"]] == ["nightly_full_refresh_schedule"]


# What a newcomer opens first (README "What you will see"), and text each page shows only once the UI has
# loaded its data through GraphQL: the groups on the lineage graph, a Gold model's columns and owner.
UI_PAGES = {
    "lineage": ("/asset-groups", ("Global asset lineage", "landing", "bronze", "silver", "gold", "reports")),
    "asset-page": ("/assets/gold/vw_daily_sales_analysis",
                   ("vw_daily_sales_analysis", "total_sales", "num_transactions", "data-platform")),
}


@pytest.mark.parametrize("name", UI_PAGES)
def test_the_ui_pages_a_newcomer_opens_render_the_pipeline_in_chromium(server, name, tmp_path_factory):
    if find_chromium() is None:
        pytest.skip("no Chromium: `make chromium` installs Debian's package (needs root or sudo)")
    server.graphql("mutation { setNuxSeen }")  # the first-visit dialog would cover the page
    path, expected = UI_PAGES[name]
    shot = tmp_path_factory.mktemp("screenshots") / f"{name}.png"
    rendered = render(server.url + path, shot, width=1600, height=1000, budget_ms=20_000)
    missing = [text for text in expected if text not in rendered.dom]
    assert not missing, f"{path}: not on the page: {missing}"
    assert shot.stat().st_size > 30_000  # a blank page of this size is a few kB
    if os.environ.get("MEDALLION_UPDATE_SCREENSHOTS") == "1":
        target = PROJECT_ROOT / "docs" / "screenshots" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
