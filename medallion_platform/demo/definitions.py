"""The demo's code location: synthetic feeds generated (`raw/*`) and delivered into the landing zone
(`landing/*`), where the pipeline (medallion_platform.definitions) finds them as it finds any feed's files.

Only the local workspace.yaml lists this location; a production workspace lists the pipeline alone, which
has no asset that writes the landing zone. Here `landing/*` are the materializable side of the keys the
pipeline declares as external assets, so the local lineage reads raw -> landing -> bronze across the two
locations.
"""

import shutil
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Config,
    DagsterInstance,
    Definitions,
    EventLogEntry,
    ExecuteInProcessResult,
    MaterializeResult,
    define_asset_job,
    in_process_executor,
    multi_asset,
)

from medallion_platform.catalog import catalogued
from medallion_platform.code_references import with_code_references
from medallion_platform.defs.landing import landing_specs
from medallion_platform.landing import LandingZone
from medallion_platform.partitions import landing_day_range_tags
from medallion_platform.settings import Settings, first_landing_day, get_settings
from medallion_platform.sources import SOURCES

FEEDS_JOB = "demo_feeds"


class RawFilesConfig(Config):
    scale: float = 0.001  # 1.0 = 5M customers, 100k products, 20M transactions, 20M events
    seed: int = 42
    days: int = 3
    start_date: str = first_landing_day()


def build_raw_assets(raw_dir: Path):
    @multi_asset(
        name="raw_files",
        specs=[
            AssetSpec(
                ["raw", name], group_name="raw",
                description=f"Generated demo feed: {source.description}",
            )
            for name, source in SOURCES.items()
        ],
        can_subset=False,
    )
    def raw_files(context: AssetExecutionContext, config: RawFilesConfig):
        """Regenerate every feed at once: transactions reference the customers and products drawn with them."""
        # Imported here: Faker costs ~2 s, and every run's process loads these definitions.
        from medallion_platform.demo.generate import GenerateConfig, generate  # noqa: PLC0415

        for name in SOURCES:
            shutil.rmtree(raw_dir / name, ignore_errors=True)
        files = generate(
            GenerateConfig(scale=config.scale, seed=config.seed, days=config.days,
                           start_date=date.fromisoformat(config.start_date)),
            raw_dir,
        )
        context.log.info(f"generated {len(files)} files under {raw_dir}")
        for name in SOURCES:
            mine = [f for f in files if f.source == name]
            yield MaterializeResult(
                asset_key=["raw", name],
                metadata={
                    "dagster/row_count": sum(f.rows for f in mine),
                    "files": len(mine),
                    "folder": str(raw_dir / name),
                },
            )

    return [raw_files]


def _delivery(spec: AssetSpec, raw_dir: Path):
    source = spec.key.path[-1]

    @multi_asset(name=f"deliver_{source}", specs=[spec.replace_attributes(deps=[["raw", source]])])
    def deliver(context: AssetExecutionContext, landing: LandingZone) -> MaterializeResult:
        """Copy the generated feed into the landing zone: only the files it does not hold yet, or holds changed."""
        delivered = landing.deliver_tree(raw_dir, source)
        objects = landing.list_objects(prefix=f"{source}/")
        context.log.info(f"delivered {len(delivered)} new or changed objects to {landing.describe()}")
        return MaterializeResult(metadata={
            "objects_delivered": len(delivered),
            "objects": len(objects),
            "bytes": sum(o.size for o in objects),
            "landing_zone": landing.describe(),
        })

    return deliver


def build_demo_definitions(settings: Settings) -> Definitions:
    return Definitions(
        assets=catalogued(with_code_references([
            *build_raw_assets(settings.raw_dir),
            *(_delivery(spec, settings.raw_dir) for spec in landing_specs),
        ]), settings),
        jobs=[define_asset_job(FEEDS_JOB, description="Generate the demo feeds and deliver them to the landing zone.")],
        resources={"landing": settings.landing},
        executor=in_process_executor,
    )


def run_demo(pipeline: Definitions, demo: Definitions, instance: DagsterInstance, *, scale: float, seed: int,
             days: int, start_date: str, log_level: str = "INFO", raise_on_error: bool = True,
             on_event: Callable[[EventLogEntry], None] | None = None) -> ExecuteInProcessResult:
    """Generate `days` days of feeds and land them (this location's job), then carry exactly those landing
    days to Gold (the pipeline's medallion_job), both on `instance`; `on_event` hears each run's events as
    they happen. The pipeline run's result, or the feeds run's if that one failed."""
    loggers = {"console": {"config": {"log_level": log_level}}}

    def execute(job, **kwargs) -> ExecuteInProcessResult:
        run_id = str(uuid.uuid4())  # known before the run starts, to listen to it
        if on_event:
            instance.add_event_listener(run_id, on_event)
        return job.execute_in_process(instance=instance, raise_on_error=raise_on_error, run_id=run_id, **kwargs)

    feeds = execute(demo.resolve_job_def(FEEDS_JOB), run_config={
        "ops": {"raw_files": {"config": {"scale": scale, "seed": seed, "days": days, "start_date": start_date}}},
        "loggers": loggers})
    if not feeds.success:
        return feeds
    last_day = (date.fromisoformat(start_date) + timedelta(days=days - 1)).isoformat()
    return execute(pipeline.resolve_job_def("medallion_job"), run_config={"loggers": loggers},
                   tags=landing_day_range_tags(start_date, last_day))


defs = build_demo_definitions(get_settings())
