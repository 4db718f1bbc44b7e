"""The source registry: one entry per feed, and the only place a feed's contract is written.

Everything generic (the generator's file layout, the landing zone keys, the Bronze loader, the dbt
sources) reads these entries, so adding a feed means adding an entry, not copying a loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["csv", "json", "jsonl", "parquet"]


@dataclass(frozen=True)
class Column:
    name: str
    # The DuckDB type Bronze stores. A value that will not cast to it sends its row to the rejects
    # table, so only contract-level types belong here; messy fields stay VARCHAR and Silver cleans them.
    type: str = "VARCHAR"


@dataclass(frozen=True)
class Source:
    name: str
    format: FileFormat
    columns: tuple[Column, ...]
    primary_key: str
    description: str
    # For semi-structured feeds: keep the whole record as JSON in a `payload` column, as a VARIANT would.
    keep_payload: bool = False
    # Top-level keys of the payload that are known, though not typed columns (nested objects).
    payload_keys: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def file_suffix(self) -> str:
        return {"csv": ".csv", "json": ".json", "jsonl": ".jsonl", "parquet": ".parquet"}[self.format]


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="customers",
            format="csv",
            primary_key="customer_id",
            description="CRM customer extract (CSV, header row, comma-separated, double-quoted).",
            columns=(
                Column("customer_id"),
                Column("name"),
                Column("email"),
                Column("country"),
                Column("customer_type"),
                Column("registration_date"),
                Column("age", "INTEGER"),
                Column("gender"),
                Column("total_purchases", "INTEGER"),
            ),
        ),
        Source(
            name="products",
            format="json",
            primary_key="product_id",
            description="Inventory product catalogue (one JSON array of objects per file).",
            columns=(
                Column("product_id"),
                Column("name"),
                Column("category"),
                Column("brand"),
                Column("price", "DECIMAL(12,2)"),
                Column("stock_quantity"),
                Column("rating", "DOUBLE"),
                Column("is_active", "BOOLEAN"),
            ),
        ),
        Source(
            name="transactions",
            format="parquet",
            primary_key="transaction_id",
            description="E-commerce order transactions (Parquet; transaction_date is a string).",
            columns=(
                Column("transaction_id"),
                Column("customer_id"),
                Column("product_id"),
                Column("quantity", "INTEGER"),
                Column("total_amount", "DECIMAL(12,2)"),
                Column("transaction_date"),
                Column("payment_method"),
                Column("store_type"),
            ),
        ),
        Source(
            name="events",
            format="jsonl",
            primary_key="event_id",
            description="Web events (JSON lines with nested device, geo, page and cart objects).",
            keep_payload=True,
            payload_keys=("device", "geo", "page", "cart"),
            columns=(
                Column("event_id"),
                Column("event_type"),
                Column("event_timestamp"),
                Column("customer_id"),
                Column("session_id"),
            ),
        ),
    )
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; known sources: {', '.join(SOURCES)}") from None
