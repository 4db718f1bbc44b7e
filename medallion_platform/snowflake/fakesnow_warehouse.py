"""The Snowflake warehouse on fakesnow: the TEST HARNESS's stand-in (MEDALLION_SNOWFLAKE_EMULATOR=fakesnow).

Everything above the connection is the production code: SnowflakeWarehouse, the COPY INTO loader (in
its fakesnow statement forms, see medallion_platform/snowflake/bronze.py), dagster-snowflake's
resource. Each operation opens fakesnow over the database files in MEDALLION_FAKESNOW_DIR and closes
it afterwards, because dbt runs in another process (medallion_platform/snowflake/fake_dbt.py) over the
same files and DuckDB lets one process hold them at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from medallion_platform.events_flatten import FlattenedView
from medallion_platform.landing import LandingZone
from medallion_platform.snowflake.fake_dbt import fake_snowflake
from medallion_platform.snowflake.warehouse import SnowflakeWarehouse
from medallion_platform.warehouse import BronzeLoad

_PATCHED: ContextVar[bool] = ContextVar("fakesnow_patched", default=False)


class FakesnowWarehouse(SnowflakeWarehouse):
    db_path: str  # MEDALLION_FAKESNOW_DIR: one DuckDB file per Snowflake database

    @contextmanager
    def _fakesnow(self, landing: LandingZone | None = None) -> Iterator[None]:
        if _PATCHED.get():  # an operation within another (a load's own queries): already open
            yield
            return
        Path(self.db_path).mkdir(parents=True, exist_ok=True)
        token = _PATCHED.set(True)
        try:
            with fake_snowflake(self.db_path):
                if landing is not None:
                    with self.snowflake.get_connection() as connection:
                        # One DuckDB serves every connection under the patch: COPY reads S3 through it.
                        landing.configure_duckdb(connection._duck_conn)
                yield
        finally:
            _PATCHED.reset(token)

    def load_bronze(self, landing, source, objects, days) -> BronzeLoad:
        with self._fakesnow(landing):
            return super().load_bronze(landing, source, objects, days)

    def create_events_view(self, schema: str) -> FlattenedView:
        with self._fakesnow():
            return super().create_events_view(schema)

    def query(self, sql: str) -> list[tuple]:
        with self._fakesnow():
            return super().query(sql)
