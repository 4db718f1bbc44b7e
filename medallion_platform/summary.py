"""What a run left in the warehouse, per layer, with every rejected or quarantined row accounted for.

Read through the configured warehouse (DuckDB or Snowflake), in SQL both dialects accept."""

from __future__ import annotations

import re
from collections import Counter

from medallion_platform.sources import SOURCES
from medallion_platform.warehouse import Warehouse

LAYERS = ("bronze", "silver", "gold")
ENTITIES = ("customers", "products", "transactions")
# A reject reason's quoted value (`age is not INTEGER (thirty)`): left out, so reasons group by kind.
QUOTED_VALUE = re.compile(r" \([^)]*\)")


def warehouse_summary(warehouse: Warehouse) -> str:
    relations = {(schema, name): kind for schema, name, kind in warehouse.query(
        "SELECT lower(table_schema), lower(table_name), table_type FROM information_schema.tables "
        "WHERE lower(table_schema) IN ('bronze', 'silver', 'gold')")}
    lines = ["Rows per layer"]
    for schema, table in sorted(relations, key=lambda key: (LAYERS.index(key[0]), key[1])):
        if relations[(schema, table)] == "BASE TABLE":
            lines.append(f"  {schema:<7} {table:<32} {warehouse.count_rows(schema, table):>12,}")

    if ("bronze", "load_ledger") in relations:
        lines += ["", "Landed files (bronze.load_ledger)"]
        for source, status, files, rows in warehouse.query(
                "SELECT source, status, count(*), sum(rows_loaded) FROM bronze.load_ledger "
                "GROUP BY source, status ORDER BY source, status"):
            lines.append(f"  {source:<14} {status:<10} {files:>4} file(s) {int(rows or 0):>12,} rows")
        for key, error in warehouse.query("SELECT file_key, error FROM bronze.load_ledger WHERE status = 'failed'"):
            lines.append(f"  FAILED {key}: {error}")

    if ("bronze", "rejects") in relations:
        lines += ["", "Rejected in Bronze (bronze.rejects), by reason"]
        rejects: Counter[tuple[str, str]] = Counter()
        for source, reason, n in warehouse.query(
                "SELECT source, reason, count(*) FROM bronze.rejects GROUP BY source, reason"):
            rejects[(source, QUOTED_VALUE.sub("", reason))] += n
        ranked = sorted(rejects.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
        lines += [f"  {source:<14} {why:<58} {n:>8,}" for (source, why), n in ranked] or ["  none"]

    present = [entity for entity in ENTITIES if ("silver", f"{entity}_quarantine") in relations]
    if present:
        lines += ["", "Quarantined in Silver, by reason / superseded by a later version"]
        for entity in present:
            for reason, n in warehouse.query(f"SELECT reason, count(*) FROM silver.{entity}_quarantine "
                                             "GROUP BY reason ORDER BY 2 DESC, 1"):
                lines.append(f"  {entity:<14} {reason:<58} {n:>8,}")
            # every version of a key but its latest, counted in Bronze
            key = f"nullif(trim({SOURCES[entity].primary_key}), '')"
            superseded = warehouse.query(f"SELECT count({key}) - count(DISTINCT {key}) FROM bronze.{entity}")[0][0]
            if superseded:
                lines.append(f"  {entity:<14} {'(superseded duplicate)':<58} {superseded:>8,}")
    return "\n".join(lines)
