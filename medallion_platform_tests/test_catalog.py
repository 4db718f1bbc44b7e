"""The catalog a user browses in the Dagster UI: owners, kinds, descriptions, documented columns, row counts
and previews, on the definitions as each setting builds them and on the real pipeline run (conftest.py)."""

import json

import yaml
from dagster import AssetKey

from medallion_platform.catalog import OWNER
from medallion_platform.dbt_project import dbt_resource
from medallion_platform.definitions import build_definitions
from medallion_platform.demo.definitions import build_demo_definitions
from medallion_platform.settings import DBT_PROJECT_DIR, get_settings
from medallion_platform_tests.conftest import snowflake_environment

FORMATS = {"customers": "csv", "products": "json", "transactions": "parquet", "events": "json"}


def _specs(definitions) -> dict[str, object]:
    graph = definitions.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_asset_of_both_locations_has_the_owner_and_a_description(local_settings):
    for definitions in (build_definitions(local_settings), build_demo_definitions(local_settings)):
        for key, node in _specs(definitions).items():
            assert node.owners == [OWNER], key
            assert node.description, key


def test_kinds_say_the_format_and_where_it_lives_on_a_laptop(local_settings):
    kinds = {key: node.kinds for key, node in _specs(build_definitions(local_settings)).items()}
    for source, file_format in FORMATS.items():
        assert kinds[f"landing/{source}"] == {file_format, "folder"}, source
        assert kinds[f"bronze/{source}"] == {file_format, "duckdb"}, source
    assert kinds["silver/customers"] == kinds["gold/top_products"] == {"dbt", "duckdb"}
    assert kinds["gold/events_flattened"] == {"duckdb", "view"}
    demo = {key: node.kinds for key, node in _specs(build_demo_definitions(local_settings)).items()}
    assert demo["landing/transactions"] == {"parquet", "folder"}
    assert demo["raw/customers"] == {"csv", "file"}


def test_kinds_on_s3_and_snowflake(clean_env, tmp_path):
    snowflake_environment(clean_env, "landing", "http://127.0.0.1:9")
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path))
    kinds = {key: node.kinds for key, node in _specs(build_definitions(get_settings())).items()}
    assert kinds["landing/customers"] == {"csv", "s3"}
    assert kinds["bronze/transactions"] == {"parquet", "snowflake"}
    assert kinds["silver/transactions"] == kinds["gold/sales_by_country"] == {"dbt", "snowflake"}
    assert kinds["gold/events_flattened"] == {"snowflake", "view"}


def test_every_check_says_what_it_asserts(local_settings):
    graph = build_definitions(local_settings).resolve_asset_graph()
    specs = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert [key.to_user_string() for key, spec in specs.items() if not spec.description] == []
    # dbt's generic tests are described from their own arguments: the column, the values, the parent.
    unique = specs[next(k for k in specs if k.name == "unique_customers_customer_id")]
    assert "customer_id" in unique.description and "silver.customers" in unique.description
    accepted = specs[next(k for k in specs if k.name.startswith("accepted_values_customers_customer_type"))]
    assert "Regular, Premium, VIP, Unknown" in accepted.description
    orphans = specs[next(k for k in specs if k.name.startswith("relationships_transactions_customer_id"))]
    assert "silver.customers" in orphans.description and "warn" in orphans.description.lower()


def _documented_models() -> dict[str, dict]:
    """Every Silver and Gold model's documentation, from sql/models/*/schema.yml."""
    models = {}
    for layer in ("silver", "gold"):
        for model in yaml.safe_load((DBT_PROJECT_DIR / "models" / layer / "schema.yml").read_text())["models"]:
            models[f"{layer}.{model['name']}"] = model
    return models


def test_every_silver_and_gold_model_documents_each_column_it_has(pipeline, con):
    warehouse = {}
    for schema, table, column, data_type in con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN ('silver', 'gold') ORDER BY table_schema, table_name, ordinal_position").fetchall():
        warehouse.setdefault(f"{schema}.{table}", []).append((column, data_type))
    documented = _documented_models()
    warehouse.pop("silver.country_aliases")  # a seed, documented in sql/seeds/schema.yml
    warehouse.pop("gold.events_flattened")  # its columns are discovered from the payloads (defs/events.py)
    assert set(warehouse) == set(documented) - {"gold.sales_enriched"}  # ephemeral: no relation
    for relation, columns in warehouse.items():
        model = documented[relation]
        assert [(c["name"], c.get("data_type")) for c in model.get("columns", [])] == columns, relation
        assert all(c.get("description") for c in model["columns"]), relation


def test_the_gold_asset_shows_all_its_columns_with_types(local_settings):
    node = _specs(build_definitions(local_settings))["gold/vw_daily_sales_analysis"]
    schema = node.metadata["dagster/column_schema"]
    assert len(schema.columns) == 11
    assert all(column.description for column in schema.columns)
    assert (schema.columns[1].name, schema.columns[1].type) == ("product_id", "VARCHAR")
    assert "catalogue feed" in schema.columns[1].description  # a shared description (sql/models/columns.md)


def test_every_warehouse_materialization_has_a_row_count_and_a_preview(pipeline, con):
    _, first, _, _, _ = pipeline
    seen = set()
    for event in first.get_asset_materialization_events():
        key = event.asset_key
        if key.path[0] not in ("bronze", "silver", "gold"):
            continue
        metadata = event.materialization.metadata
        assert isinstance(metadata["dagster/row_count"].value, int), key
        preview = metadata["preview"].value
        header = preview.splitlines()[0]
        assert header.startswith("| ") and header.count("|") >= 3, key
        assert len(preview.splitlines()) == 2 + min(5, metadata["dagster/row_count"].value), key
        seen.add(key.to_user_string())
        if key.to_user_string() == "gold/top_products":
            columns = [c[0] for c in con.execute("DESCRIBE gold.top_products").fetchall()]
            assert header == "| " + " | ".join(columns) + " |"
    assert {"bronze/customers", "silver/customers", "silver/transactions", "gold/top_products",
            "gold/events_flattened", "gold/vw_daily_sales_analysis"} <= seen


def test_dbt_materializations_carry_column_lineage(pipeline):
    """Which upstream columns each column is computed from, through the ephemeral sales join."""
    _, first, second, _, _ = pipeline
    for result in (first, second):  # derived on the first run, read back from its cache on the second
        lineage = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/column_lineage"].value
                   for e in result.get_asset_materialization_events() if "dagster/column_lineage" in e.materialization.metadata}
        deps = {column: {(d.asset_key.to_user_string(), d.column_name) for d in found}
                for column, found in lineage["gold/top_products"].deps_by_column.items()}
        assert deps["total_revenue"] == {("silver/transactions", "total_amount")}
        assert deps["product_name"] == {("silver/products", "product_name")}
        assert ("bronze/customers", "email") in {(d.asset_key.to_user_string(), d.column_name)
                                                 for d in lineage["silver/customers_classified"].deps_by_column["email"]}


def test_bronze_materializations_carry_the_table_column_schema(pipeline):
    _, first, _, _, _ = pipeline
    bronze = {e.asset_key: e.materialization.metadata for e in first.get_asset_materialization_events()
              if e.asset_key.path[0] == "bronze"}
    columns = [c.name for c in bronze[AssetKey(["bronze", "customers"])]["dagster/column_schema"].value.columns]
    assert columns[0] == "customer_id" and "_source_file" in columns


def test_dbt_docs_generate_runs_on_the_demo_warehouse(pipeline, tmp_path):
    settings = pipeline[0]
    invocation = dbt_resource(settings).cli(["docs", "generate"], target_path=tmp_path, raise_on_error=False)
    invocation.wait()
    assert invocation.is_successful(), invocation.get_error()
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert catalog["errors"] is None
    nodes = {node["metadata"]["schema"] + "." + node["metadata"]["name"]: node for node in catalog["nodes"].values()}
    assert len(nodes["gold.vw_daily_sales_analysis"]["columns"]) == 11

