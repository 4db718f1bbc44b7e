"""Reports: the Gold dashboard, one self-contained HTML page under the data folder's reports/, written
again on the quarter-hour cadence of the Gold tables over all history that it shows."""

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from medallion_platform.dashboard import dashboard_charts, drawn, render_dashboard
from medallion_platform.defs.automation import REFRESH_EVERY_15_MINUTES, REFRESHED_EVERY_15_MINUTES
from medallion_platform.partitions import ONE_RUN_PER_BACKFILL
from medallion_platform.report import latest_results_of
from medallion_platform.settings import WAREHOUSE_WRITER_POOL
from medallion_platform.warehouse import Warehouse

PAGE_NAME = "gold_dashboard.html"
# What the charts read. Bronze's rejects are read too, but Bronze never changes without Silver and Gold
# following it, so following Gold is enough.
READS = [["gold", name] for name in ("vw_daily_sales_analysis", "sales_by_country", "top_products",
                                     "customer_sales_report", "inventory_status")] + [
    ["silver", f"{entity}_quarantine"] for entity in ("customers", "products", "transactions")]


def dashboard_page(reports_dir: Path) -> Path:
    return reports_dir / PAGE_NAME


def build_gold_dashboard(reports_dir: Path) -> AssetsDefinition:
    page = dashboard_page(reports_dir)

    @asset(
        key=["reports", "gold_dashboard"],
        deps=READS,
        group_name="reports",
        # It only reads, but DuckDB lets no other process open the file while a writer has it.
        pool=WAREHOUSE_WRITER_POOL,
        backfill_policy=ONE_RUN_PER_BACKFILL,
        # With the Gold tables over all history, not after each landed file: at scale 1.0 its totals over
        # the facts and the quarantine (a view classifying all of Bronze's transactions) take ~16 s, which
        # a landed file's run spent holding the writer slot after its 8 s of work (README, "Scale and speed").
        tags={REFRESHED_EVERY_15_MINUTES: ""},
        automation_condition=REFRESH_EVERY_15_MINUTES,
        description=(
            f"`{page.name}` in the reports folder: one HTML page, charts included (plotly.js is inlined, so "
            "it opens offline): revenue by day, category, customer country and customer type, the top "
            "products, customers per RFM segment, products low on stock, and a data-quality panel (Bronze "
            "rejects and Silver quarantine by reason per landing day, the latest result of every check). "
            "Written again every quarter hour once Gold changed, with the Gold tables over all history."
        ),
    )
    def gold_dashboard(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        from plotly.offline import get_plotlyjs  # noqa: PLC0415  (only the step that writes the page needs it)

        started = time.monotonic()
        sections = dashboard_charts(warehouse)
        # The checks of the code location this run's job was built from (a run in process has no repository).
        checks = latest_results_of(context.instance, context.job_def.asset_layer.asset_graph.asset_check_keys)
        text = render_dashboard(sections, checks, get_plotlyjs(), datetime.now(timezone.utc))
        page.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a browser reloading the page never reads half of it.
        partial = page.with_name(f".{page.name}.{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(page)
        charts = drawn(sections)
        context.log.info(f"wrote {page} ({len(charts)} charts) in {time.monotonic() - started:.2f} s")
        return MaterializeResult(metadata={
            "page": MetadataValue.path(str(page)),
            "link": MetadataValue.url(page.as_uri()),
            "charts": len(charts),
            "rows_behind_each_chart": MetadataValue.json({chart.name: chart.rows for chart in charts}),
            "bytes": page.stat().st_size,
        })

    return gold_dashboard
