"""What the Dagster UI's catalog shows of every asset beyond its lineage: who owns it, what kind of thing it
is and where it lives (kinds follow the configured landing zone and warehouse), and a preview of its rows."""

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSpec, MetadataValue, map_asset_specs

from medallion_platform.landing import S3LandingZone
from medallion_platform.settings import Settings
from medallion_platform.sources import SOURCES

# The team answering for every asset of both code locations, shown on each asset's page.
OWNER = "team:data-platform"
PREVIEW_ROWS = 5
# A file format as the UI names it: JSON lines are JSON.
FORMAT_KINDS = {"csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet"}


def format_kind(source: str) -> str:
    return FORMAT_KINDS[SOURCES[source].format]


def kinds_of(key: Sequence[str], settings: Settings) -> set[str]:
    """landing: the format and `s3` or `folder`; raw (demo): the format and `file`; bronze: the format and
    the warehouse; dbt models: `dbt` and the warehouse; the flattened events: a view in the warehouse;
    reports: an HTML page of plotly charts."""
    layer, name = key[0], key[-1]
    if layer == "landing":
        return {format_kind(name), "s3" if isinstance(settings.landing, S3LandingZone) else "folder"}
    if layer == "raw":
        return {format_kind(name), "file"}
    if layer == "bronze":
        return {format_kind(name), settings.warehouse}
    if layer == "reports":
        return {"html", "plotly"}
    if name == "events_flattened":
        return {settings.warehouse, "view"}
    return {"dbt", settings.warehouse}


def catalogued(assets: Sequence[AssetsDefinition | AssetSpec], settings: Settings) -> list:
    """The assets with their owner and the kinds these settings give them (the decorators cannot know the
    settings), set here once for every asset of both locations."""
    return list(map_asset_specs(
        lambda spec: spec.replace_attributes(owners=[OWNER], kinds=kinds_of(spec.key.path, settings)), assets))


def preview_markdown(columns: Sequence[str], rows: Sequence[tuple]) -> MetadataValue:
    """Rows as a markdown table for the asset's page; `|` and line breaks in values kept from breaking it."""
    def cell(value) -> str:
        return "NULL" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return MetadataValue.md("\n".join(lines))
