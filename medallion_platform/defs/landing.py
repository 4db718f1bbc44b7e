"""Landing: the feed files as objects in the landing zone (a local folder or S3), one asset per source."""


from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, asset

from medallion_platform.landing import LandingZone
from medallion_platform.partitions import ONE_RUN_PER_BACKFILL
from medallion_platform.sources import SOURCES, Source


def _landing_asset(source: Source, raw_dir: Path):
    @asset(
        key=["landing", source.name],
        deps=[["raw", source.name]],
        group_name="landing",
        kinds={"s3"},
        backfill_policy=ONE_RUN_PER_BACKFILL,
        description=f"Objects under `{source.name}/` in the landing zone. {source.description}",
    )
    def landing_objects(context: AssetExecutionContext, landing: LandingZone) -> MaterializeResult:
        delivered = landing.deliver_tree(raw_dir, source.name)
        objects = landing.list_objects(prefix=f"{source.name}/")
        context.log.info(f"delivered {len(delivered)} new or changed objects to {landing.describe()}")
        return MaterializeResult(metadata={
            "objects_delivered": len(delivered),
            "objects": len(objects),
            "bytes": sum(o.size for o in objects),
            "landing_zone": landing.describe(),
        })

    return landing_objects


def build_landing_assets(raw_dir: Path):
    return [_landing_asset(source, raw_dir) for source in SOURCES.values()]
