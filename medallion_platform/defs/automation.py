"""How the pipeline moves by itself: Silver and the Gold facts follow Bronze, the whole-history Gold tables
follow every 15 minutes; a nightly full refresh reconciles."""

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

# Materialize when a parent did (or when never materialized), once no parent is in progress and the
# parents' blocking checks passed: a failed reconciliation holds Gold back until it is fixed.
# Missing parents do not hold it back: Bronze has a partition for every day since the start date and
# only the days that received files are ever materialized.
FOLLOW_UPSTREAM = (
    AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow_upstream")

# The Gold tables that rank or segment over all history (dbt tag `refreshed_every_15_minutes`, set in
# sql/dbt_project.yml) cost as much to refresh for one new file as for a day of them, so a landed file's
# run leaves them out and they follow on a cadence: after a quarter-hour tick, once a parent updated
# since they were last requested or updated, no parent or run of theirs is in progress, and the
# parents' blocking checks passed. At most one refresh per quarter hour however many files land; the
# nightly full refresh rebuilds them too.
REFRESHED_EVERY_15_MINUTES = "refreshed_every_15_minutes"
QUARTER_HOURS = "*/15 * * * *"

REFRESH_EVERY_15_MINUTES = (
    AutomationCondition.cron_tick_passed(QUARTER_HOURS).since_last_handled()
    & AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("refresh_every_15_minutes")

DOWNSTREAM_OF_BRONZE = AssetSelection.groups("silver", "gold")

follow_bronze = AutomationConditionSensorDefinition(
    "follow_bronze",
    target=DOWNSTREAM_OF_BRONZE | AssetSelection.groups("reports"),  # the Gold dashboard, on the cadence
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,  # latency from a landed file to Gold is what this pipeline is judged on
    description="Evaluates the Silver, Gold and report automation conditions: eager ones follow Bronze, "
                "the whole-history Gold tables and the dashboard refresh after a quarter-hour tick.",
)

# The dbt steps whose incremental models a full refresh rebuilds from all of Bronze: the classified
# dimensions, and the models that follow the landing days.
INCREMENTAL_DBT_OPS = ("silver_dbt_models", "incremental_dbt_models")

nightly_full_refresh_job = define_asset_job(
    "nightly_full_refresh",
    selection=DOWNSTREAM_OF_BRONZE,
    description="Rebuild Silver and Gold from all of Bronze (dimensions, incremental models with "
                "--full-refresh) and run every check on the result: the reconciliation of record.",
    config={"ops": {op: {"config": {"full_refresh": True}} for op in INCREMENTAL_DBT_OPS}},
)

nightly_full_refresh = build_schedule_from_partitioned_job(
    nightly_full_refresh_job, hour_of_day=2, minute_of_hour=0, default_status=DefaultScheduleStatus.RUNNING,
    description="02:00 UTC: full refresh. Incremental runs revisit only what new files touch; this "
                "catches anything they cannot see (e.g. a dimension corrected in a file for an old day).",
)
