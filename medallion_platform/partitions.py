"""Daily partitions, keyed by the landing day in a file's key (`<source>/<YYYY-MM-DD>/<file>`).

A Bronze partition is "the files that landed under that day"; the facts built from them carry the
same key, so a backfill of days re-reads exactly those files.
"""

from dagster import BackfillPolicy, DailyPartitionsDefinition

from medallion_platform.settings import first_landing_day, iso_day

# From MEDALLION_FIRST_LANDING_DAY to today (UTC): end_offset=1 adds the day in progress to the complete ones.
LANDING_DAYS = DailyPartitionsDefinition(start_date=first_landing_day(), end_offset=1)

# A backfill of any range runs as one run: one DuckDB writer, one dbt invocation over the window.
# Unpartitioned assets carry it too: `dagster asset materialize --partition-range` requires it of
# every asset it selects, and they then simply run once in that run.
ONE_RUN_PER_BACKFILL = BackfillPolicy.single_run()

# Incremental models also revisit files filed under the day before the window: a feed that drops a
# late file into yesterday's folder after yesterday's run is still merged.
LOOKBACK_DAYS = 1


def not_a_landing_day(day: str) -> str | None:
    """Why `day` has no Bronze partition, naming the setting that decides it; None when it has one."""
    if iso_day(day) is None:
        return f"day {day} is not a calendar day"
    if LANDING_DAYS.has_partition_key(day):
        return None
    first = LANDING_DAYS.get_first_partition_key()
    if day < first:
        return f"day {day} is before MEDALLION_FIRST_LANDING_DAY ({first})"
    return f"day {day} is after today (UTC), the last landing day"


def landing_day_range_tags(first_day: str, last_day: str) -> dict[str, str]:
    """Run tags that make one run cover the landing days first_day..last_day (inclusive)."""
    return {"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day}
