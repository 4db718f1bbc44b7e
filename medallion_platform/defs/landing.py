"""Landing: the objects feeds drop into the landing zone (a local folder or S3), one external asset per
source. The pipeline never writes them: the landing sensor reports what arrived (defs/sensors.py) and
requests the Bronze runs that load it."""

from dagster import AssetKey, AssetSpec

from medallion_platform.code_references import declared_in
from medallion_platform.sources import SOURCES


def landing_key(source: str) -> AssetKey:
    return AssetKey(["landing", source])


landing_specs = [
    AssetSpec(
        landing_key(source.name), group_name="landing",
        description=f"Objects under `{source.name}/<YYYY-MM-DD>/` in the landing zone, delivered by the "
                    f"feed. {source.description}",
        metadata=declared_in(__file__),
    )
    for source in SOURCES.values()
]
