"""The one place that reads the environment: which landing zone, which warehouse, which files.

It reads and never writes: what dbt needs from the settings reaches each dbt process it is for
(medallion_platform/dbt_project.py), so two Settings in one process never see each other's values.
Every setting is an environment variable with a default that works on a laptop. A missing or
malformed value stops start-up with a message naming the variable, not a stack trace later on.
Secrets (Snowflake's credentials) are checked for presence here and handed to Dagster as `EnvVar`s,
so their values never appear in run config or the UI.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from medallion_platform.landing import LandingZone, LocalLandingZone, S3LandingZone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "sql"

WAREHOUSES = ("duckdb", "snowflake")
SNOWFLAKE_VARIABLES = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_ROLE",
                       "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE")
# An account identifier (`myorg-myaccount`, or a locator such as `xy12345.eu-west-1`), not a URL.
SNOWFLAKE_ACCOUNT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")

# Every asset that writes the warehouse takes this pool. DuckDB allows one writer process per file, so
# the laptop's dagster.yaml limits it to one step at a time; Snowflake's instance (deploy/) does not.
WAREHOUSE_WRITER_POOL = "warehouse_writer"
# The incremental dbt step replaces silver.transactions_revisited, one table every run shares, and merges
# it into Silver and the Gold facts: two such steps at once would merge each other's change set, or one
# computed before the other's Bronze rows. On Snowflake, where writers are not limited, that step has a
# pool of its own which the production instance limits to one (deploy/dagster.yaml); on DuckDB the
# writer pool already admits one step at a time.
CHANGE_SET_POOL = "transactions_change_set"
LANDING_BACKENDS = ("local", "s3")
# dbt installed beside this interpreter, so nothing depends on PATH or an activated venv, through the
# wrapper that makes it die with the run that started it (medallion_platform/dbt_cli.py).
DEFAULT_DBT_EXECUTABLE = str(Path(sys.executable).with_name("medallion-dbt"))


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: str) -> date | None:
    """The day `value` names as YYYY-MM-DD (a real calendar day), else None."""
    try:
        return date.fromisoformat(value) if DAY.fullmatch(value) else None
    except ValueError:
        return None


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


# The landing-day partitions start here: by default the demo's first day, so that a demo's UI shows its
# days rather than years of empty partitions. A deployment sets the day its feeds began.
DEFAULT_FIRST_LANDING_DAY = "2026-11-20"


def first_landing_day() -> str:
    """MEDALLION_FIRST_LANDING_DAY, on its own: the partitions are declared when the assets are imported."""
    value = os.environ.get("MEDALLION_FIRST_LANDING_DAY", "").strip() or DEFAULT_FIRST_LANDING_DAY
    if iso_day(value) is None:
        raise SettingsError(f"MEDALLION_FIRST_LANDING_DAY={value!r} must be a day as YYYY-MM-DD")
    return value


@dataclass(frozen=True)
class SnowflakeSettings:
    # The storage integration the landing stage authenticates with (sql/snowflake/01_integration_and_stage.sql).
    storage_integration: str


@dataclass(frozen=True)
class Settings:
    warehouse: str
    data_dir: Path
    duckdb_path: Path
    landing: LandingZone
    duckdb_threads: int
    duckdb_memory_limit: str
    snowflake: SnowflakeSettings | None = None
    # Whether MEDALLION_ALERT_WEBHOOK_URL is set; its value reaches Dagster as an EnvVar only.
    alert_webhook: bool = False
    first_landing_day: str = DEFAULT_FIRST_LANDING_DAY

    @property
    def change_set_pool(self) -> str:
        """The pool of the dbt step that builds and merges silver.transactions_revisited."""
        return WAREHOUSE_WRITER_POOL if self.snowflake is None else CHANGE_SET_POOL

    @property
    def raw_dir(self) -> Path:
        """Where the demo generator writes the files that the landing assets deliver."""
        return self.data_dir / "raw"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's artifacts and parse state, per data folder: partial parsing stays valid while the profile
        (this warehouse) stays the same, and sql/ holds no run output."""
        return self.data_dir / "dbt_target"


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable, "").strip()
    path = Path(value) if value else default
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _choice(variable: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(variable, default).strip().lower() or default
    if value not in allowed:
        raise SettingsError(f"{variable}={value!r} is not one of: {', '.join(allowed)}")
    return value


def _duckdb_threads() -> int:
    value = os.environ.get("MEDALLION_DUCKDB_THREADS", "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"MEDALLION_DUCKDB_THREADS={value!r} must be a whole number of threads, 1 or more")
    return int(value)


# What DuckDB may hold in memory before it spills to disk (beside the warehouse file), in the Bronze loader
# and in dbt alike. By default DuckDB's own default, 80% of the machine's memory: with 2.5 GiB a scale-1.0
# first build peaked at 4.2 GB, but a re-send day then ran out of memory in a test whose operator does not
# spill (README, "Scale and speed"), and a default must not fail an ordinary day.
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _duckdb_memory_limit() -> str:
    value = os.environ.get("MEDALLION_DUCKDB_MEMORY_LIMIT", "").strip()
    if not value:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') * 0.8 / 2**30:.1f}GiB"
    if not MEMORY_SIZE.fullmatch(value):
        raise SettingsError(f"MEDALLION_DUCKDB_MEMORY_LIMIT={value!r} must be a size such as 3GB or 512MiB")
    return value


def _landing(data_dir: Path) -> LandingZone:
    backend = _choice("MEDALLION_LANDING", "local", LANDING_BACKENDS)
    if backend == "local":
        return LocalLandingZone(root=str(_path("MEDALLION_LANDING_DIR", data_dir / "landing")))
    bucket = os.environ.get("MEDALLION_S3_BUCKET", "").strip()
    if not bucket:
        raise SettingsError("MEDALLION_LANDING=s3 needs MEDALLION_S3_BUCKET (the landing bucket's name)")
    endpoint = os.environ.get("MEDALLION_S3_ENDPOINT_URL", "").strip() or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise SettingsError(f"MEDALLION_S3_ENDPOINT_URL={endpoint!r} must start with http:// or https://")
    return S3LandingZone(
        bucket=bucket,
        prefix=os.environ.get("MEDALLION_S3_PREFIX", "").strip(),
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
    )


def _snowflake(landing: LandingZone) -> SnowflakeSettings:
    missing = [name for name in SNOWFLAKE_VARIABLES if not os.environ.get(name, "").strip()]
    if missing:
        raise SettingsError(f"MEDALLION_WAREHOUSE=snowflake needs {', '.join(missing)} (see the README's settings)")
    account = os.environ["SNOWFLAKE_ACCOUNT"].strip()
    if not SNOWFLAKE_ACCOUNT_PATTERN.fullmatch(account) or "snowflakecomputing" in account:
        raise SettingsError(f"SNOWFLAKE_ACCOUNT={account!r} is not an account identifier "
                            "(e.g. myorg-myaccount; not the URL)")
    if not isinstance(landing, S3LandingZone):
        raise SettingsError("MEDALLION_WAREHOUSE=snowflake copies from an external stage on the landing "
                            "bucket: set MEDALLION_LANDING=s3")
    integration = os.environ.get("MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION", "").strip()
    if not integration:
        raise SettingsError("MEDALLION_WAREHOUSE=snowflake needs MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION "
                            "(the storage integration the landing stage uses)")
    if not IDENTIFIER.fullmatch(integration):
        raise SettingsError(f"MEDALLION_SNOWFLAKE_STORAGE_INTEGRATION={integration!r} is not an identifier")
    return SnowflakeSettings(storage_integration=integration)


def _alert_webhook() -> bool:
    url = os.environ.get("MEDALLION_ALERT_WEBHOOK_URL", "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError("MEDALLION_ALERT_WEBHOOK_URL must start with http:// or https://")  # not echoed: a token
    return bool(url)


def get_settings() -> Settings:
    data_dir = _path("MEDALLION_DATA_DIR", PROJECT_ROOT / "data")
    warehouse = _choice("MEDALLION_WAREHOUSE", "duckdb", WAREHOUSES)
    landing = _landing(data_dir)
    snowflake = _snowflake(landing) if warehouse == "snowflake" else None
    duckdb_path = _path("MEDALLION_DUCKDB_PATH", data_dir / "warehouse.duckdb")
    duckdb_threads, duckdb_memory_limit = _duckdb_threads(), _duckdb_memory_limit()
    return Settings(warehouse=warehouse, data_dir=data_dir, duckdb_path=duckdb_path, landing=landing,
                    duckdb_threads=duckdb_threads,
                    duckdb_memory_limit=duckdb_memory_limit, snowflake=snowflake, alert_webhook=_alert_webhook(),
                    first_landing_day=first_landing_day())
