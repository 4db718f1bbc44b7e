"""The warehouse Bronze loads into and the checks read: DuckDB on a laptop, Snowflake in production.

One resource key, `warehouse`, with one implementation per warehouse, so the assets and checks are the
same code on both: they ask the warehouse to load a source's files into Bronze, to generate the
flattened events view (one set of rules, medallion_platform/events_flatten.py, in each one's SQL), to
count a table's rows, or to run a query written in SQL both dialects accept. dbt reaches the same
warehouse through its own profile (sql/profiles.yml), chosen by the same setting. The Snowflake
implementation lives in medallion_platform/snowflake/warehouse.py, imported only when Snowflake is
chosen.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, MetadataValue
from dagster_duckdb import DuckDBResource

from medallion_platform.bronze.ledger import LEDGER_ROWS_SQL, LoadReport
from medallion_platform.catalog import PREVIEW_ROWS, preview_markdown
from medallion_platform.events_flatten import DuckDBFlatten, FlattenedView, replace_flattened_view
from medallion_platform.landing import LandedObject, LandingZone
from medallion_platform.sources import Source
from medallion_platform.sql_text import date_list


@dataclass(frozen=True)
class BronzeLoad:
    """What one Bronze materialization reports: the loader's per-file results and the table after it."""

    report: LoadReport
    partition_rows: int  # rows of the loaded days now in bronze.<source>
    rejects_total: int  # bronze.rejects rows of this source, all days
    columns: list[tuple[str, str]]  # bronze.<source>'s columns and types, in order


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse and lets no one else read it now (DuckDB's one writer)."""


class Warehouse(ConfigurableResource, ABC):
    @abstractmethod
    def load_bronze(self, landing: LandingZone, source: Source, objects: Iterable[LandedObject],
                    days: list[str]) -> BronzeLoad:
        """Load the objects not yet in the ledger into bronze.<source>; report on the given days."""

    @abstractmethod
    def create_events_view(self, schema: str) -> FlattenedView:
        """Generate <schema>.events_flattened anew from the payloads now in bronze.events."""

    @abstractmethod
    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        """The column names (lower case) and rows of a read-only query; schema and table names unquoted,
        as both dialects resolve them."""

    def query(self, sql: str) -> list[tuple]:
        return self.query_with_columns(sql)[1]

    @abstractmethod
    def ledger_rows(self) -> list[tuple]:
        """bronze.load_ledger as LEDGER_ROWS_SQL reads it, none when Bronze does not exist yet; at once,
        without waiting for a lock (WarehouseBusy): a sensor tick must not block."""

    def count_rows(self, schema: str, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {schema}.{table}")[0][0])

    def preview(self, schema: str, table: str) -> MetadataValue:
        """A table's first rows, as markdown for its asset's page."""
        return preview_markdown(*self.query_with_columns(f"SELECT * FROM {schema}.{table} LIMIT {PREVIEW_ROWS}"))


class DuckDBWarehouse(Warehouse):
    """The embedded default: one DuckDB file, through dagster-duckdb (which retries a held lock)."""

    duckdb: DuckDBResource

    def load_bronze(self, landing, source, objects, days) -> BronzeLoad:
        from medallion_platform.bronze.loader import load_source  # noqa: PLC0415

        with self.duckdb.get_connection() as con:
            report = load_source(con, landing, source, objects)
            partition_rows = con.execute(f"SELECT count(*) FROM bronze.{source.name} "
                                         f"WHERE _landing_date IN ({date_list(days)})").fetchone()[0]
            rejects = con.execute("SELECT count(*) FROM bronze.rejects WHERE source = ?", [source.name]).fetchone()[0]
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'bronze' AND table_name = ? ORDER BY ordinal_position", [source.name]).fetchall()
        return BronzeLoad(report, partition_rows, rejects, columns)

    def create_events_view(self, schema: str) -> FlattenedView:
        with self.duckdb.get_connection() as con:
            return replace_flattened_view(DuckDBFlatten(con), schema)

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self.duckdb.get_connection() as con:
            rows = con.execute(sql).fetchall()
            return [column[0].lower() for column in con.description], rows

    def ledger_rows(self) -> list[tuple]:
        # Read-only and without dagster-duckdb's retries: a writer holds the file for minutes at scale,
        # and a reader that waited would also keep a run's dbt (which does not retry) from opening it.
        if not Path(self.duckdb.database).exists():
            return []
        try:
            con = duckdb.connect(self.duckdb.database, read_only=True)
        except duckdb.IOException as error:
            raise WarehouseBusy(f"{self.duckdb.database} is being written by another process ({error})") from error
        with con:
            if not con.execute("SELECT 1 FROM information_schema.tables "
                               "WHERE table_schema = 'bronze' AND table_name = 'load_ledger'").fetchall():
                return []
            return con.execute(LEDGER_ROWS_SQL).fetchall()

