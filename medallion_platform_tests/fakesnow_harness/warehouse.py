"""The production Snowflake warehouse on fakesnow, and the production definitions with it injected.

Everything above the connection is the production code: SnowflakeWarehouse, the COPY INTO loader,
dagster-snowflake's resource. Only the COPY forms differ (`FakesnowCopy`: fakesnow runs a subset of
COPY), and each operation opens fakesnow over the database files in `db_path` and closes it afterwards,
because dbt runs in another process (fake_dbt.py) over the same files and DuckDB lets one process hold
them at a time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from dagster import Definitions

from medallion_platform.definitions import build_definitions
from medallion_platform.events_flatten import FlattenedView
from medallion_platform.landing import LandingZone
from medallion_platform.settings import Settings
from medallion_platform.snowflake.bronze import CopyForms
from medallion_platform.snowflake.warehouse import SnowflakeWarehouse, snowflake_resource
from medallion_platform.sources import Source
from medallion_platform.warehouse import BronzeLoad
from medallion_platform_tests.fakesnow_harness.fake_dbt import DB_PATH_VARIABLE, fake_snowflake

_PATCHED: ContextVar[bool] = ContextVar("fakesnow_patched", default=False)
# A line of text is read with delimiter and quote characters that valid JSON cannot contain unescaped
# (fakesnow passes FIELD_DELIMITER = NONE to DuckDB as the four letters 'NONE').
FIELD_DELIMITER = "\x1f"
QUOTE = "\x1e"


class FakesnowCopy(CopyForms):
    """The COPY forms fakesnow 0.11.4 runs where Snowflake's differ:

    | | Snowflake | fakesnow |
    | --- | --- | --- |
    | file name | METADATA$FILENAME | `filename`, DuckDB's reader column (the whole s3:// URL) |
    | row number | METADATA$FILE_ROW_NUMBER | `ROW_NUMBER() OVER ()` over the one file's scan, in file order |
    | CSV field n | `$n` | `column<n-1>`, DuckDB's name for it (fakesnow cannot bind a bare `$n`) |
    | CSV field past the header | `$<header + 1>`: a line with too many fields is rejected | NULL (DuckDB refuses such a file) |
    | CSV line COPY cannot parse | ON_ERROR = CONTINUE; counted in one REJECTS row | no ON_ERROR: the file fails |
    | lines of text (JSON) | FIELD_DELIMITER = NONE, no enclosing or escape character | delimiter 0x1F, quote 0x1E |
    """

    def metadata(self) -> list[str]:
        return ["filename", "ROW_NUMBER() OVER ()"]

    def line(self) -> str:
        return "column0"

    def csv_field(self, position: int, header: list[str]) -> str:
        if position > len(header):
            return "NULL"
        width = len(str(len(header) - 1))  # DuckDB names a headerless file's columns column0.. or column00..
        return f"column{position - 1:0{width}d}"

    def lines_format(self) -> str:
        return f"TYPE = CSV FIELD_DELIMITER = '{FIELD_DELIMITER}' FIELD_OPTIONALLY_ENCLOSED_BY = '{QUOTE}'"

    def on_error(self, source: Source) -> str:
        return ""


FAKESNOW_COPY = FakesnowCopy()


class FakesnowWarehouse(SnowflakeWarehouse):
    db_path: str  # one DuckDB file per Snowflake database

    def copy_forms(self) -> CopyForms:
        return FAKESNOW_COPY

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

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self._fakesnow():
            return super().query_with_columns(sql)


def fake_dbt_executable(db_path: Path) -> str:
    """A `dbt` that runs the real dbt CLI against the fakesnow databases in `db_path` (fake_dbt.py)."""
    db_path.mkdir(parents=True, exist_ok=True)
    shim = db_path / "dbt"
    text = (f"#!{sys.executable}\nimport os, sys\nos.environ[{DB_PATH_VARIABLE!r}] = {str(db_path)!r}\n"
            "from medallion_platform_tests.fakesnow_harness.fake_dbt import main\nsys.exit(main())\n")
    if not shim.exists() or shim.read_text() != text:
        # Written aside and renamed: processes building these definitions at once (overlapping runs)
        # must never start a half-written shim.
        staged = shim.with_name(f".dbt.{os.getpid()}")
        staged.write_text(text)
        staged.chmod(0o755)
        os.replace(staged, shim)
    return str(shim)


def fakesnow_definitions(settings: Settings, db_path: Path) -> Definitions:
    """The production definitions for Snowflake settings, with Snowflake played by fakesnow over the
    databases in `db_path`: the warehouse resource and dbt's executable replaced, nothing else."""
    assert settings.snowflake is not None, "fakesnow stands in for MEDALLION_WAREHOUSE=snowflake"
    warehouse = FakesnowWarehouse(snowflake=snowflake_resource(), db_path=str(db_path),
                                  storage_integration=settings.snowflake.storage_integration)
    return build_definitions(settings, warehouse=warehouse, dbt_executable=fake_dbt_executable(db_path))
