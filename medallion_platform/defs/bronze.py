"""Bronze: every landed file loaded once into `bronze.<source>`, with lineage; bad rows to rejects."""


from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from medallion_platform.bronze.loader import load_source
from medallion_platform.landing import LandingZone
from medallion_platform.settings import DUCKDB_WRITER_POOL
from medallion_platform.sources import SOURCES, Source


def _bronze_asset(source: Source):
    @asset(
        key=["bronze", source.name],
        deps=[["landing", source.name]],
        group_name="bronze",
        kinds={"duckdb"},
        pool=DUCKDB_WRITER_POOL,
        description=(
            f"`bronze.{source.name}`: {source.description} Every row of every landed file, loaded "
            "exactly once (ledger: bronze.load_ledger), typed per the source registry; rows that do "
            "not type go to bronze.rejects with the reason."
        ),
    )
    def bronze_table(context: AssetExecutionContext, duckdb: DuckDBResource, landing: LandingZone):
        with duckdb.get_connection() as con:
            report = load_source(con, landing, source)
            total_rows = con.execute(f"SELECT count(*) FROM bronze.{source.name}").fetchone()[0]
            total_rejects = con.execute(
                "SELECT count(*) FROM bronze.rejects WHERE source = ?", [source.name]).fetchone()[0]
        for result in report.files:
            if result.status != "already_loaded":
                context.log.info(f"{result.key}: {result.status} {result.rows_loaded} rows, "
                                 f"{result.rows_rejected} rejected{'; ' + result.detail if result.detail else ''}")
        if report.failures:
            raise Failure(
                description=f"{len(report.failures)} file(s) of {source.name} could not be read; the other "
                "files are loaded and the failures recorded in bronze.load_ledger: "
                + "; ".join(f.detail or f.key for f in report.failures),
                metadata={"failed_files": MetadataValue.json([f.key for f in report.failures])},
            )
        return MaterializeResult(metadata={
            "dagster/row_count": total_rows,
            "rows_loaded": report.rows_loaded,
            "rows_rejected": report.rows_rejected,
            "rejects_total": total_rejects,
            "files_loaded": report.count("loaded"),
            "files_duplicate": report.count("duplicate"),
            "files_already_loaded": report.count("already_loaded"),
        })

    return bronze_table


bronze_assets = [_bronze_asset(source) for source in SOURCES.values()]
