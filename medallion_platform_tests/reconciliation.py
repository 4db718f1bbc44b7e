"""Each Bronze row's fate counted from the warehouse tables themselves: the Silver table, its quarantine
table and the superseded versions (every version of an id but one, counted in Bronze). The pipeline's own
check is the dbt test reconciles_with_bronze (sql/tests/generic/), which counts quarantined and superseded
rows among the classified versions; the tests count them here a second way, so a Silver or quarantine
model that drops or doubles rows is caught either way."""

from dataclasses import dataclass

import duckdb

from medallion_platform.sources import SOURCES

RECONCILED_ENTITIES = ("customers", "products", "transactions")


@dataclass(frozen=True)
class Reconciliation:
    entity: str
    bronze: int
    silver: int
    quarantined: int
    superseded: int

    @property
    def unaccounted(self) -> int:
        """Bronze rows that are in none of Silver, quarantine or superseded (or counted twice, if < 0)."""
        return self.bronze - (self.silver + self.quarantined + self.superseded)


def reconcile(con: duckdb.DuckDBPyConnection, entity: str) -> Reconciliation:
    bronze, silver, quarantined, superseded = con.execute(
        f"SELECT (SELECT count(*) FROM bronze.{entity}), (SELECT count(*) FROM silver.{entity}),"
        f" (SELECT count(*) FROM silver.{entity}_quarantine),"
        f" (SELECT count(key) - count(DISTINCT key) FROM"
        f"  (SELECT nullif(trim({SOURCES[entity].primary_key}), '') AS key FROM bronze.{entity}))"
    ).fetchone()
    return Reconciliation(entity, bronze, silver, quarantined, superseded)
