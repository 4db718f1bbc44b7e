"""Column lineage of the dbt models: which upstream columns each column is computed from, shown on the
asset's page. dagster-dbt derives it (sqlglot over the compiled SQL and the column types of the model and
its parents) through a dbt adapter opened in the run's process while dbt runs, which DuckDB's one process
per file forbids (medallion_platform/dbt_project.py); here the same derivation runs after dbt has exited,
the types read from the warehouse in one query.

sqlglot takes 0.05 to 1.7 s a model at any scale, ~7 s over the project, so a result is kept under
<dbt target dir>/column_lineage.json, one per model, with a key of its compiled SQL (the step's landing
window masked: it changes every run, the lineage does not) and its columns and its parents': only a
change of SQL or of columns derives it again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey, TableColumnDep, TableColumnLineage
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata

from medallion_platform.warehouse import Warehouse

logger = logging.getLogger(__name__)
CACHE_FILE = "column_lineage.json"
Columns = dict[str, dict[str, str]]  # column -> {"data_type": type}, as dagster-dbt takes them


def warehouse_columns(warehouse: Warehouse) -> dict[tuple[str, str], Columns]:
    """Every Bronze, Silver and Gold relation's columns, by (schema, name), lower case."""
    columns: dict[tuple[str, str], Columns] = {}
    for schema, table, column, data_type in warehouse.query(
            "SELECT lower(table_schema), lower(table_name), lower(column_name), data_type "
            "FROM information_schema.columns WHERE lower(table_schema) IN ('bronze', 'silver', 'gold') "
            "ORDER BY table_schema, table_name, ordinal_position"):
        columns.setdefault((schema, table), {})[column] = {"data_type": data_type}
    return columns


def _through_ephemeral(manifest: Mapping[str, Any], unique_id: str) -> list[str]:
    """A node's parents, an ephemeral model replaced by its own (its SQL is inlined in the compiled SQL)."""
    parents: list[str] = []
    for parent_id in manifest["nodes"][unique_id]["depends_on"]["nodes"]:
        parent = manifest["nodes"].get(parent_id)
        if parent is not None and parent["config"].get("materialized") == "ephemeral":
            parents += _through_ephemeral(manifest, parent_id)
        else:
            parents.append(parent_id)
    return list(dict.fromkeys(parents))


class ColumnLineage:
    """The lineage of one dbt invocation's models (`invocation`: a finished DbtCliInvocation)."""

    def __init__(self, invocation, warehouse: Warehouse, window: tuple[str, str] | None, cache_dir: str):
        self.invocation = invocation
        self.manifest = invocation.manifest
        self.columns = warehouse_columns(warehouse)
        self.window = window or ()
        self.cache_path = Path(cache_dir) / CACHE_FILE
        self.cache: dict[str, dict] = json.loads(self.cache_path.read_text()) if self.cache_path.exists() else {}
        self.added = False

    def _relation_columns(self, props: Mapping[str, Any]) -> Columns:
        return self.columns.get((props["schema"].lower(), (props.get("alias") or props["name"]).lower()), {})

    def metadata(self, unique_id: str) -> dict[str, Any]:
        """`dagster/column_lineage` for the model; empty, with a warning, where it cannot be derived."""
        props = self.manifest["nodes"][unique_id]
        compiled = Path(self.invocation.target_path, "compiled", props["package_name"], props["original_file_path"])
        if not compiled.exists():
            return {}
        sql = compiled.read_text()
        for day, mask in zip(self.window, ("<first landing day>", "<last landing day>")):
            sql = sql.replace(day, mask)
        parent_ids = _through_ephemeral(self.manifest, unique_id)
        parent_nodes = [self.manifest["nodes"].get(p) or self.manifest["sources"][p] for p in parent_ids]
        parents = {node["relation_name"]: self._relation_columns(node) for node in parent_nodes}
        own = self._relation_columns(props)
        key = hashlib.sha256(json.dumps([sql, own, parents], sort_keys=True).encode()).hexdigest()
        kept = self.cache.get(unique_id, {})
        if kept.get("key") != key:
            try:
                derived = _build_column_lineage_metadata(
                    EventHistoryMetadata(columns=own, parents=parents),
                    dbt_resource_props={**props, "depends_on": {**props["depends_on"], "nodes": parent_ids}},
                    manifest=self.manifest, dagster_dbt_translator=self.invocation.dagster_dbt_translator,
                    target_path=Path(self.invocation.target_path), project=self.invocation.project)
            except Exception as error:  # noqa: BLE001 (sqlglot may not parse a dialect's SQL: no lineage, said)
                logger.warning(f"no column lineage for {unique_id}: {type(error).__name__}: {error}")
                return {}
            lineage = derived["dagster/column_lineage"].deps_by_column
            kept = self.cache[unique_id] = {"key": key, "lineage": {
                column: [[dep.asset_key.path, dep.column_name] for dep in deps] for column, deps in lineage.items()}}
            self.added = True
        return {"dagster/column_lineage": TableColumnLineage(deps_by_column={
            column: [TableColumnDep(asset_key=AssetKey(path), column_name=name) for path, name in deps]
            for column, deps in kept["lineage"].items()})}

    def save(self) -> None:
        """Keep what this invocation derived for the next (written aside and renamed: steps run in parallel)."""
        if self.added:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            staged = self.cache_path.with_name(f".{CACHE_FILE}.{os.getpid()}")
            staged.write_text(json.dumps(self.cache))
            staged.replace(self.cache_path)
