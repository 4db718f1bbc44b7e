"""Raw: the upstream systems, simulated. Generates the demo feeds that the landing assets deliver."""


import shutil
from datetime import date, timedelta
from pathlib import Path

from dagster import AssetExecutionContext, AssetSpec, Config, MaterializeResult, multi_asset

from medallion_platform.partitions import ONE_RUN_PER_BACKFILL, landing_day_range_tags
from medallion_platform.sources import SOURCES


class RawFilesConfig(Config):
    scale: float = 0.001  # 1.0 = 5M customers, 100k products, 20M transactions, 20M events
    seed: int = 42
    days: int = 3
    start_date: str = "2026-11-20"


def build_raw_assets(raw_dir: Path):
    @multi_asset(
        name="raw_files",
        specs=[
            AssetSpec(
                ["raw", name], group_name="raw", kinds={"file"},
                description=f"Generated demo feed: {source.description}",
            )
            for name, source in SOURCES.items()
        ],
        can_subset=False,
        backfill_policy=ONE_RUN_PER_BACKFILL,
    )
    def raw_files(context: AssetExecutionContext, config: RawFilesConfig):
        """Regenerate every feed at once: transactions reference the customers and products drawn with them."""
        # Imported here: Faker costs ~2 s, and every run's process loads these definitions.
        from medallion_platform.generate import GenerateConfig, generate  # noqa: PLC0415

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


def demo_run(scale: float, seed: int, days: int, start_date: str) -> dict:
    """Keyword arguments for medallion_job's execute_in_process: generate `days` days of feeds and
    carry them to Gold in one run over exactly those landing days."""
    last_day = (date.fromisoformat(start_date) + timedelta(days=days - 1)).isoformat()
    return {
        "run_config": {"ops": {"raw_files": {"config": {
            "scale": scale, "seed": seed, "days": days, "start_date": start_date}}}},
        "tags": landing_day_range_tags(start_date, last_day),
    }
