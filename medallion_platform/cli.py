"""`medallion`: generate feeds, run the demo, print what the warehouse holds, start the UI."""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from medallion_platform.settings import PROJECT_ROOT, Settings, SettingsError, get_settings
from medallion_platform.sources import SOURCES

# `medallion demo` and `medallion drop` share these, so a drop names the demo's customers and products.
DEMO_SCALE = 0.002
DEFAULT_SEED = 42


def use_dagster_home(data_dir: Path) -> Path:
    """A persistent Dagster instance under data/, so runs and check results outlive the process.
    Created under a lock, before anything else can touch it: Dagster's SQLite storage is not safe to
    create from several processes at once (`make dev` alone starts three on it)."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".medallion-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
        from dagster import DagsterInstance  # noqa: PLC0415

        DagsterInstance.from_config(str(home)).dispose()  # creates the run, event and schedule storage
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def cmd_generate(args: argparse.Namespace) -> int:
    from medallion_platform.demo.generate import GenerateConfig, generate  # noqa: PLC0415

    from tqdm import tqdm  # noqa: PLC0415

    config = GenerateConfig(scale=args.scale, seed=args.seed, days=args.days,
                            start_date=date.fromisoformat(args.start_date))
    # On stderr, and only on a terminal (disable=None) unless --quiet: stdout keeps the file list.
    with tqdm(desc="generate", unit=" rows", unit_scale=True, file=sys.stderr,
              disable=True if args.quiet else None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        files = generate(config, Path(args.out), progress)
    for f in files:
        print(f"{f.rows:>12,}  {Path(args.out) / f.key}")
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    """Land one more file for a source, as its feed would deliver it: what the sensors pick up live."""
    from medallion_platform.demo.generate import DirtyRates, GenerateConfig, drop_batch  # noqa: PLC0415

    landing = get_settings().landing
    config = GenerateConfig(scale=args.scale, seed=args.seed,
                            dirty=DirtyRates.none() if args.clean else DirtyRates())
    with tempfile.TemporaryDirectory(prefix="medallion-drop-") as folder:
        dropped = drop_batch(config, args.source, args.rows, date.fromisoformat(args.day), Path(folder),
                             resend=args.resend)
        landed = landing.put_file(Path(folder) / dropped.key, dropped.key)
    print(f"{dropped.rows:>12,}  {landed.key}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    settings = get_settings()
    use_dagster_home(settings.data_dir)
    from dagster import DagsterInstance  # noqa: PLC0415

    from medallion_platform.definitions import defs  # noqa: PLC0415
    from medallion_platform.defs.dashboard import dashboard_page  # noqa: PLC0415
    from medallion_platform.demo.definitions import defs as demo_defs  # noqa: PLC0415
    from medallion_platform.demo.definitions import run_demo  # noqa: PLC0415

    print(f"medallion demo: landing zone {settings.landing.describe()}, warehouse {settings.duckdb_path}")
    print("running demo_feeds (raw -> landing), then medallion_job (landing -> bronze -> silver -> gold) "
          "(step logs: `make dev`) ...")
    instance = DagsterInstance.get()
    result = run_demo(defs, demo_defs, instance, scale=args.scale, seed=args.seed, days=args.days,
                      start_date=args.start_date, log_level="WARNING", raise_on_error=False)
    print()
    print(_summary(settings))
    print()
    report_status = _print_report(instance, defs, settings)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"FAILED step {event.step_key}: {event.event_specific_data.error.message.strip()}")
        return 1
    print(f"Run {result.run_id} succeeded. Browse it with `make dev` (DAGSTER_HOME={os.environ['DAGSTER_HOME']}).")
    print(f"Gold dashboard: {dashboard_page(settings.reports_dir)}")
    return report_status


def cmd_report(_args: argparse.Namespace) -> int:
    settings = get_settings()
    use_dagster_home(settings.data_dir)
    from dagster import DagsterInstance  # noqa: PLC0415

    from medallion_platform.definitions import defs  # noqa: PLC0415

    return _print_report(DagsterInstance.get(), defs, settings)


def _print_report(instance, defs, settings) -> int:
    """Print the check report, write it as Markdown and HTML; 1 when an ERROR check failed."""
    from medallion_platform.report import latest_check_results, render_text, write_report  # noqa: PLC0415

    lines = latest_check_results(instance, defs)
    print(render_text(lines))
    markdown, page = write_report(lines, settings.reports_dir)
    print(f"\nwritten: {markdown}, {page}")
    return 1 if any(line.blocks for line in lines) else 0


def _summary(settings: Settings) -> str:
    """The summary of the configured warehouse, read through the `warehouse` resource the assets use."""
    if settings.snowflake is None and not settings.duckdb_path.exists():
        return f"No warehouse at {settings.duckdb_path} yet: run `make demo` first."
    from medallion_platform.definitions import warehouse_resource  # noqa: PLC0415
    from medallion_platform.summary import warehouse_summary  # noqa: PLC0415

    with warehouse_resource(settings).process_config_and_initialize_cm() as warehouse:
        return warehouse_summary(warehouse)


def cmd_summary(_args: argparse.Namespace) -> int:
    print(_summary(get_settings()))
    return 0


def cmd_dev(_args: argparse.Namespace) -> int:
    settings = get_settings()
    use_dagster_home(settings.data_dir)
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.execv(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")])
    return 0


def cmd_materialize(args: argparse.Namespace) -> int:
    """Queue a run on the instance `make dev` serves, for its daemon to launch, and follow it to its end:
    it waits its turn for the warehouse_writer pool like the sensors' runs, instead of opening the
    warehouse while one of them writes it (dbt-duckdb does not wait for DuckDB's lock)."""
    settings = get_settings()
    home = use_dagster_home(settings.data_dir)
    from dagster import AssetSelection, DagsterEventType, DagsterInstance, DagsterRunStatus  # noqa: PLC0415

    from medallion_platform.definitions import defs  # noqa: PLC0415
    from medallion_platform.partitions import landing_day_range_tags  # noqa: PLC0415
    from medallion_platform.runs import code_location, daemon_is_running, queue_run  # noqa: PLC0415

    if args.partition_range and len(args.partition_range.split("...")) != 2:
        raise ValueError(f"--partition-range {args.partition_range!r} is not FIRST...LAST")
    tags = ({"dagster/partition": args.partition} if args.partition
            else landing_day_range_tags(*args.partition_range.split("...")) if args.partition_range else {})
    keys = AssetSelection.from_coercible(args.select.split(",")).resolve(defs.resolve_asset_graph())
    with DagsterInstance.get() as instance:
        if not daemon_is_running(instance):
            print(f"medallion: no dagster-daemon is running on DAGSTER_HOME={home} to launch the run; "
                  "start it with `make dev` and try again", file=sys.stderr)
            return 2
        with code_location(instance) as workspace:
            run = queue_run(instance, workspace, keys, tags)
        print(f"queued run {run.run_id}: {len(keys)} assets, {tags or 'unpartitioned'}", flush=True)
        status = run.status
        while not run.is_finished:
            time.sleep(1)
            run = instance.get_run_by_id(run.run_id)
            if run.status != status:
                status = run.status
                print(f"run {run.run_id}: {status.value}", flush=True)
        for event in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE):
            print(f"FAILED step {event.step_key}: {event.dagster_event.event_specific_data.error.message.strip()}")
    return 0 if run.status == DagsterRunStatus.SUCCESS else 1


def cmd_snowflake_ddl(args: argparse.Namespace) -> int:
    """Render the Snowflake objects (stage, file formats, Bronze, grants) from the source registry."""
    from medallion_platform.snowflake.ddl import SnowflakeParams, write_files  # noqa: PLC0415

    given = {"bucket": args.bucket, "prefix": args.prefix, "aws_role_arn": args.role_arn,
             "database": args.database, "warehouse": args.warehouse}
    params = SnowflakeParams(**{name: value for name, value in given.items() if value is not None})
    for path in write_files(Path(args.out), params):
        print(path)
    return 0


def _add_generate_options(parser: argparse.ArgumentParser, scale: float) -> None:
    parser.add_argument("--scale", type=float, default=scale,
                        help="1.0 = 5M customers, 100k products, 20M transactions, 20M events")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--days", type=int, default=3, help="one file per source per day")
    parser.add_argument("--start-date", default="2026-11-20")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medallion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the synthetic feeds in the landing layout")
    _add_generate_options(generate, scale=0.001)
    generate.add_argument("--out", default=str(PROJECT_ROOT / "data" / "raw"))
    generate.add_argument("--quiet", action="store_true", help="no progress bar (there is none off a terminal)")
    generate.set_defaults(func=cmd_generate)

    demo = commands.add_parser("demo", help="generate and land the demo feeds, run medallion_job on their days "
                                            "and print the summary")
    _add_generate_options(demo, scale=DEMO_SCALE)
    demo.set_defaults(func=cmd_demo)

    drop = commands.add_parser("drop", help="land one new file for a source and day, as its feed would")
    drop.add_argument("--source", required=True, choices=list(SOURCES))
    drop.add_argument("--rows", type=int, required=True)
    drop.add_argument("--day", default=datetime.now(timezone.utc).date().isoformat(),
                      help="landing day, YYYY-MM-DD (default: today, UTC)")
    drop.add_argument("--scale", type=float, default=DEMO_SCALE,
                      help="the scale the warehouse was built at, so the rows name its customers and products")
    drop.add_argument("--seed", type=int, default=DEFAULT_SEED)
    drop.add_argument("--clean", action="store_true", help="no dirty rows: every row reaches Silver")
    drop.add_argument("--resend", action="store_true",
                      help="customers or products: new versions of existing records instead of new ones")
    drop.set_defaults(func=cmd_drop)

    commands.add_parser("summary", help="rows per layer, rejects and quarantine").set_defaults(func=cmd_summary)
    commands.add_parser("report", help="latest result of every asset check; exit 1 if an ERROR check failed"
                        ).set_defaults(func=cmd_report)
    commands.add_parser("dev", help="the Dagster UI and daemon on these definitions").set_defaults(func=cmd_dev)

    materialize = commands.add_parser(
        "materialize", help="queue a run of some assets for the daemon `make dev` runs, and wait for it")
    materialize.add_argument("--select", required=True,
                             help="Dagster asset selection, e.g. 'bronze/customers*' or 'bronze/events,gold/events_flattened'")
    window = materialize.add_mutually_exclusive_group()
    window.add_argument("--partition", help="one landing day, YYYY-MM-DD")
    window.add_argument("--partition-range", help="landing days FIRST...LAST, as one run")
    materialize.set_defaults(func=cmd_materialize)

    snowflake = commands.add_parser("snowflake", help="Snowflake-native objects for the production path")
    snowflake_commands = snowflake.add_subparsers(dest="snowflake_command", required=True)
    ddl = snowflake_commands.add_parser("ddl", help="write the Snowflake SQL (stage, file formats, Bronze, "
                                                    "grants) rendered from the source registry")
    ddl.add_argument("--out", default=str(PROJECT_ROOT / "sql" / "snowflake"), help="folder for the .sql files")
    ddl.add_argument("--bucket", help="landing bucket")
    ddl.add_argument("--prefix", help="key prefix inside the bucket")
    ddl.add_argument("--role-arn", help="IAM role the storage integration assumes")
    ddl.add_argument("--database", help="Snowflake database (default MEDALLION)")
    ddl.add_argument("--warehouse", help="warehouse the Bronze loader, dbt and readers use")
    ddl.set_defaults(func=cmd_snowflake_ddl)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SettingsError, ValueError) as error:
        print(f"medallion: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
