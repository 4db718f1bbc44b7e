"""The Gold dashboard on the demo warehouse the `pipeline` fixture built (its medallion_job runs build the
page): one self-contained HTML file, every chart drawn with data in headless Chromium, and every number
the same as in Gold.

The screenshot is kept under pytest's tmp folder; MEDALLION_UPDATE_SCREENSHOTS=1 also copies it to
docs/screenshots/dashboard.png, the one the README shows."""

import json
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from medallion_platform.settings import PROJECT_ROOT
from medallion_platform_tests.chromium import find_chromium, parse_dom, render

DASHBOARD_KEY = "reports/gold_dashboard"
CHARTS = ("revenue_by_day", "revenue_by_category", "revenue_by_country", "customer_type_mix", "top_products",
          "rfm_segments", "inventory_at_risk", "bronze_rejects", "silver_quarantine")
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "dashboard.png"
SPEC = re.compile(r'<script type="application/json" class="chart-spec" data-chart="(\w+)">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def page(pipeline) -> Path:
    settings = pipeline[0]
    return settings.reports_dir / "gold_dashboard.html"


@pytest.fixture(scope="module")
def specs(page) -> dict[str, dict]:
    """Each chart's figure (its traces' data and layout), as embedded in the page."""
    return {name: json.loads(text) for name, text in SPEC.findall(page.read_text())}


def _materialization(result):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == DASHBOARD_KEY]
    return event.materialization


def test_each_demo_run_writes_the_page_and_links_it(pipeline, page):
    _, first, second, _, _ = pipeline
    for run in (first, second):
        metadata = _materialization(run).metadata
        assert metadata["page"].value == str(page)
        assert metadata["link"].value == page.as_uri()
        assert metadata["charts"].value == len(CHARTS)
        rows = metadata["rows_behind_each_chart"].value
        assert set(rows) == set(CHARTS) and all(n > 0 for n in rows.values())
    assert page.is_file() and page.stat().st_size == metadata["bytes"].value


def test_the_page_is_self_contained(page):
    html = page.read_text()
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, re.I)
    assert tags and not [t for t in tags if re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", t, re.I)]
    assert 'id="plotly-js"' in html  # the chart library, inlined


def test_every_chart_is_drawn_with_data_in_chromium(page, specs, tmp_path_factory):
    if find_chromium() is None:
        pytest.skip("no Chromium: `make chromium` installs Debian's package (needs root or sudo)")
    shot = tmp_path_factory.mktemp("screenshots") / "dashboard.png"
    rendered = render(page, shot)
    root = parse_dom(rendered.dom)
    [body] = root.find_all("body")
    sections = root.find_all("section", "chart")
    assert int(body.attrs["data-chart-count"]) == len(sections) == len(CHARTS)
    assert [s.attrs["data-chart"] for s in sections] == list(CHARTS) == list(specs)
    for section in sections:
        name = section.attrs["data-chart"]
        [plot] = [div for div in section.find_all("div", "plot")]
        assert "js-plotly-plot" in plot.classes, f"{name}: Plotly did not draw"
        traces = [g for g in plot.iter() if g.tag == "g" and "trace" in g.classes]
        assert len(traces) == len(specs[name]["data"]), name
        for trace, spec in zip(traces, specs[name]["data"]):
            # One mark per value: a bar, a pie slice or a line's marker.
            marks = trace.find_all("g", "point") + trace.find_all("g", "slice") + trace.find_all("path", "point")
            assert len(marks) == len(spec.get("labels") or spec["x"]), (name, spec.get("name"))
            assert any(len(p.attrs.get("d", "")) > 8 for mark in marks for p in mark.iter() if p.tag == "path"), (
                f"{name}: nothing visible drawn for {spec.get('name')}")
    assert shot.stat().st_size > 50_000  # a blank page of this size is a few kB
    if os.environ.get("MEDALLION_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SCREENSHOT)


def _total(figure: dict, field: str) -> Decimal:
    """The sum of a chart's plotted values, to the cent."""
    return sum((Decimal(str(v)) for trace in figure["data"] for v in trace[field]), Decimal(0))


def test_every_number_on_the_page_is_the_one_in_gold(specs, con):
    def one(sql):
        return con.execute(sql).fetchall()

    [(daily_total,)] = one("SELECT sum(total_sales) FROM gold.vw_daily_sales_analysis")
    [(country_total,)] = one("SELECT sum(total_sales) FROM gold.sales_by_country")
    by_day = specs["revenue_by_day"]["data"]
    days = one("SELECT transaction_date, sum(total_sales) FROM gold.vw_daily_sales_analysis GROUP BY 1 ORDER BY 1")
    assert [(d, Decimal(str(v))) for trace in by_day for d, v in zip(trace["x"], trace["y"])] == [
        (day.isoformat(), total) for day, total in days]
    assert _total(specs["revenue_by_category"], "y") == daily_total
    assert _total(specs["revenue_by_country"], "y") == country_total == daily_total
    assert _total(specs["customer_type_mix"], "values") == daily_total
    top = one("SELECT coalesce(product_name || ' (' || product_id || ')', product_id), total_revenue FROM gold.top_products "
              "WHERE revenue_rank <= 10 ORDER BY revenue_rank")
    [products] = specs["top_products"]["data"]
    assert list(zip(products["y"], map(Decimal, map(str, products["x"])))) == top
    segments = dict(one("SELECT rfm_segment, count(*) FROM gold.customer_sales_report GROUP BY 1"))
    [rfm] = specs["rfm_segments"]["data"]
    assert dict(zip(rfm["x"], rfm["y"])) == segments
    [(low,)] = one("SELECT count(*) FROM gold.inventory_status WHERE is_low_stock")
    assert len({p for trace in specs["inventory_at_risk"]["data"] for p in trace["x"]}) == min(low, 20)
    [(rejects,)] = one("SELECT count(*) FROM bronze.rejects")
    assert _total(specs["bronze_rejects"], "y") == rejects
    quarantined = sum(one(f"SELECT count(*) FROM silver.{e}_quarantine")[0][0]
                      for e in ("customers", "products", "transactions"))
    assert _total(specs["silver_quarantine"], "y") == quarantined


def test_the_check_results_are_on_the_page(page):
    html = page.read_text()
    assert "Latest check results" in html
    assert re.search(r"<td>transactions_reconcile_with_bronze</td>", html)

