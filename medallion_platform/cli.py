"""`medallion`: generate feeds, run the demo, print what the warehouse holds, start the UI."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from medallion_platform.settings import (
    PROJECT_ROOT,
    Settings,
    SettingsError,
    first_landing_day,
    get_settings,
    iso_day,
)
from medallion_platform.sources import SOURCES

if TYPE_CHECKING:
    from dagster import EventLogEntry

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


def _check_landing_days(*days: str) -> None:
    """Refuse a day the landing-day partitions do not have: its files would never reach Bronze."""
    from medallion_platform.partitions import not_a_landing_day  # noqa: PLC0415

    for day in days:
        if reason := not_a_landing_day(day):
            raise ValueError(reason)


def cmd_drop(args: argparse.Namespace) -> int:
    """Land one more file for a source, as its feed would deliver it: what the sensors pick up live."""
    from medallion_platform.demo.generate import DirtyRates, GenerateConfig, drop_batch  # noqa: PLC0415

    landing = get_settings().landing
    _check_landing_days(args.day)
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
    _check_landing_days(args.start_date, (date.fromisoformat(args.start_date) + timedelta(days=args.days - 1)).isoformat())
    use_dagster_home(settings.data_dir)
    from dagster import DagsterInstance  # noqa: PLC0415

    from medallion_platform.definitions import defs  # noqa: PLC0415
    from medallion_platform.defs.dashboard import dashboard_page  # noqa: PLC0415
    from medallion_platform.demo.definitions import defs as demo_defs  # noqa: PLC0415
    from medallion_platform.demo.definitions import run_demo  # noqa: PLC0415

    print(f"medallion demo: landing zone {settings.landing.describe()}, warehouse {settings.duckdb_path}")
    print("running demo_feeds (raw -> landing), then medallion_job (landing -> bronze -> silver -> gold) "
          "(step logs: `make dev`) ...", flush=True)
    instance = DagsterInstance.get()
    demo_run = functools.partial(run_demo, defs, demo_defs, instance, scale=args.scale, seed=args.seed,
                                 days=args.days, start_date=args.start_date, raise_on_error=False,
                                 on_event=_print_step(sys.stdout))
    if args.verbose:
        result = demo_run(log_level="INFO")
    else:
        # dagster-dbt copies every line dbt writes to stdout: hundreds of lines a run, kept in a file.
        dbt_log = settings.data_dir / "logs" / "demo-dbt.log"
        dbt_log.parent.mkdir(parents=True, exist_ok=True)
        with open(dbt_log, "w") as log, contextlib.redirect_stdout(log):
            result = demo_run(log_level="WARNING")
        print(f"dbt's output: {dbt_log} (or run with --verbose)")
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


def _print_step(out: TextIO) -> Callable[[EventLogEntry], None]:
    """A line on `out` as each step starts and ends, so that a long step shows what is running."""
    def on_event(entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.is_step_start:
            print(f"  step {event.step_key} ...", file=out, flush=True)
        elif event.is_step_success:
            print(f"  step {event.step_key} succeeded in {event.event_specific_data.duration_ms / 1000:.1f} s",
                  file=out, flush=True)
        elif event.is_step_failure or event.is_step_skipped:
            print(f"  step {event.step_key} {'failed' if event.is_step_failure else 'skipped'}", file=out, flush=True)
    return on_event


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


def cmd_dev(args: argparse.Namespace) -> int:
    settings = get_settings()
    use_dagster_home(settings.data_dir)
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.execv(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(args.port)])
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

    tags = ({"dagster/partition": args.partition} if args.partition
            else landing_day_range_tags(*args.partition_range) if args.partition_range else {})
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


def landing_day(value: str) -> str:
    """An argparse type: a day as YYYY-MM-DD (argparse names the option in its error)."""
    if iso_day(value) is None:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}")
    return value


def landing_day_range(value: str) -> tuple[str, str]:
    """An argparse type: FIRST...LAST, two landing days."""
    days = value.split("...")
    if len(days) != 2:
        raise argparse.ArgumentTypeError(f"expected FIRST...LAST (YYYY-MM-DD...YYYY-MM-DD), got {value!r}")
    return landing_day(days[0]), landing_day(days[1])


def tcp_port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1-65535, got {value!r}")
    return int(value)


def _add_generate_options(parser: argparse.ArgumentParser, scale: float) -> None:
    parser.add_argument("--scale", type=float, default=scale,
                        help="1.0 = 5M customers, 100k products, 20M transactions, 20M events")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="random seed: the same seed and scale give the same files")
    parser.add_argument("--days", type=int, default=3, help="one file per source per day")
    parser.add_argument("--start-date", type=landing_day, default=first_landing_day(),
                        help="the first landing day, YYYY-MM-DD (default: MEDALLION_FIRST_LANDING_DAY, %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medallion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the synthetic feeds in the landing layout")
    _add_generate_options(generate, scale=0.001)
    generate.add_argument("--out", default=str(PROJECT_ROOT / "data" / "raw"),
                          help="folder the files are written under, as <source>/<day>/<file>")
    generate.add_argument("--quiet", action="store_true", help="no progress bar (there is none off a terminal)")
    generate.set_defaults(func=cmd_generate)

    demo = commands.add_parser("demo", help="generate and land the demo feeds, run medallion_job on their days "
                                            "and print the summary")
    _add_generate_options(demo, scale=DEMO_SCALE)
    demo.add_argument("--verbose", action="store_true",
                      help="print dbt's output and Dagster's step logs here instead of into data/logs/demo-dbt.log")
    demo.set_defaults(func=cmd_demo)

    drop = commands.add_parser("drop", help="land one new file for a source and day, as its feed would")
    drop.add_argument("--source", required=True, choices=list(SOURCES), help="the feed the file belongs to")
    drop.add_argument("--rows", type=int, required=True, help="rows in the file")
    drop.add_argument("--day", type=landing_day, default=datetime.now(timezone.utc).date().isoformat(),
                      help="landing day, YYYY-MM-DD (default: today, UTC)")
    drop.add_argument("--scale", type=float, default=DEMO_SCALE,
                      help="the scale the warehouse was built at, so the rows name its customers and products")
    drop.add_argument("--seed", type=int, default=DEFAULT_SEED,
                      help="the seed the warehouse was built with, so the rows name its customers and products")
    drop.add_argument("--clean", action="store_true", help="no dirty rows: every row reaches Silver")
    drop.add_argument("--resend", action="store_true",
                      help="customers or products: new versions of existing records instead of new ones")
    drop.set_defaults(func=cmd_drop)

    commands.add_parser("summary", help="rows per layer, rejects and quarantine").set_defaults(func=cmd_summary)
    commands.add_parser("report", help="latest result of every asset check; exit 1 if an ERROR check failed"
                        ).set_defaults(func=cmd_report)
    dev = commands.add_parser("dev", help="the Dagster UI and daemon on these definitions")
    dev.add_argument("--port", type=tcp_port, default=3000, help="the UI's port on 127.0.0.1")
    dev.set_defaults(func=cmd_dev)

    materialize = commands.add_parser(
        "materialize", help="queue a run of some assets for the daemon `make dev` runs, and wait for it")
    materialize.add_argument("--select", required=True,
                             help="Dagster asset selection, e.g. 'bronze/customers*' or 'bronze/events,gold/events_flattened'")
    window = materialize.add_mutually_exclusive_group()
    window.add_argument("--partition", type=landing_day, help="one landing day, YYYY-MM-DD")
    window.add_argument("--partition-range", type=landing_day_range,
                        help="landing days FIRST...LAST (YYYY-MM-DD...YYYY-MM-DD), as one run")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # its defaults read settings too
        return args.func(args)
    except (SettingsError, ValueError) as error:
        print(f"medallion: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
