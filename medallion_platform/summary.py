"""What a run left in the warehouse, per layer, with every rejected or quarantined row accounted for."""

from __future__ import annotations

from pathlib import Path

import duckdb

from medallion_platform.sql_text import quote_ident

LAYERS = ("bronze", "silver", "gold")


def _tables(con, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' "
        "ORDER BY table_name", [schema]).fetchall()]


def warehouse_summary(duckdb_path: Path) -> str:
    if not duckdb_path.exists():
        return f"No warehouse at {duckdb_path} yet: run `make demo` first."
    lines: list[str] = []
    # Not read_only: a connection this process still holds (e.g. after a failed step) must match it.
    with duckdb.connect(str(duckdb_path)) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
        lines.append("Rows per layer")
        for layer in LAYERS:
            if layer not in schemas:
                continue
            for table in _tables(con, layer):
                rows = con.execute(f"SELECT count(*) FROM {quote_ident(layer)}.{quote_ident(table)}").fetchone()[0]
                lines.append(f"  {layer:<7} {table:<32} {rows:>12,}")

        if "bronze" in schemas:
            lines.append("")
            lines.append("Landed files (bronze.load_ledger)")
            for source, status, files, rows in con.execute(
                "SELECT source, status, count(*), sum(rows_loaded) FROM bronze.load_ledger GROUP BY ALL ORDER BY ALL"
            ).fetchall():
                lines.append(f"  {source:<14} {status:<10} {files:>4} file(s) {rows:>12,} rows")
            failed = con.execute("SELECT file_key, error FROM bronze.load_ledger WHERE status = 'failed'").fetchall()
            for key, error in failed:
                lines.append(f"  FAILED {key}: {error}")

            lines.append("")
            lines.append("Rejected in Bronze (bronze.rejects), by reason")
            rejects = con.execute(
                "SELECT source, regexp_replace(reason, ' \\([^)]*\\)', '', 'g') AS why, count(*) "
                "FROM bronze.rejects GROUP BY ALL ORDER BY source, 3 DESC").fetchall()
            lines += [f"  {source:<14} {why:<58} {n:>8,}" for source, why, n in rejects] or ["  none"]

        if "silver" in schemas:
            lines.append("")
            lines.append("Quarantined in Silver, by reason / superseded by a later version")
            for entity in ("customers", "products", "transactions"):
                if f"{entity}_classified" not in {r[0] for r in con.execute(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'").fetchall()}:
                    continue
                for status, reason, n in con.execute(
                    f"SELECT _status, coalesce(_quarantine_reason, ''), count(*) FROM silver.{entity}_classified "
                    "WHERE _status <> 'valid' GROUP BY ALL ORDER BY 1, 3 DESC"
                ).fetchall():
                    label = reason if status == "quarantined" else "(superseded duplicate)"
                    lines.append(f"  {entity:<14} {label:<58} {n:>8,}")
    return "\n".join(lines)
