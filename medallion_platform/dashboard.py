"""The Gold dashboard: one HTML file that opens anywhere, offline, with the charts a business asks of Gold
and a data-quality panel.

Every chart is read through the `warehouse` resource in SQL both DuckDB and Snowflake accept, as a
Plotly figure (its data and layout) embedded in the page as JSON beside plotly.js itself; a few lines of
script draw each one. So the numbers a reader sees are the numbers in the file, and nothing is fetched
from a network.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from medallion_platform.report import CHECK_TABLE_CSS, CheckLine, html_table
from medallion_platform.summary import QUOTED_VALUE
from medallion_platform.warehouse import Warehouse

TOP_PRODUCTS = 10
AT_RISK_SHOWN = 20
QUARANTINED_ENTITIES = ("customers", "products", "transactions")
# A file's landing day is the second segment of its key (<source>/<YYYY-MM-DD>/<file>).
LANDING_DAY_OF = "split_part({}, '/', 2)"
DAY_MS = 86_400_000  # one tick per day on a date axis


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    source: str  # the tables it reads
    rows: int  # rows of those tables behind it
    figure: dict  # a Plotly figure: {"data": [traces], "layout": {...}}

    @property
    def has_data(self) -> bool:
        return any(trace.get("x") or trace.get("labels") for trace in self.figure["data"])


def _number(value):
    """Plain JSON numbers: money arrives as Decimal; exact to the cent as a float's shortest repr."""
    return float(value) if isinstance(value, Decimal) else value


def _text(value) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _layout(x_title: str = "", y_title: str = "", **extra) -> dict:
    return {"margin": {"l": 60, "r": 20, "t": 10, "b": 60}, "height": 340, "showlegend": False,
            "xaxis": {"title": {"text": x_title}, "automargin": True},
            "yaxis": {"title": {"text": y_title}, "automargin": True}, **extra}


def _bar(x, y, name: str) -> dict:
    return {"type": "bar", "name": name, "x": [_text(v) for v in x], "y": [_number(v) for v in y]}


def revenue_charts(warehouse: Warehouse) -> list[Chart]:
    days = warehouse.query("SELECT transaction_date, sum(total_sales), count(*) FROM gold.vw_daily_sales_analysis "
                           "GROUP BY transaction_date ORDER BY transaction_date")
    categories = warehouse.query(
        "SELECT coalesce(product_category, 'Unknown'), sum(total_sales), count(*) FROM gold.vw_daily_sales_analysis "
        "GROUP BY coalesce(product_category, 'Unknown') ORDER BY 2 DESC, 1")
    countries = warehouse.query("SELECT country, total_sales FROM gold.sales_by_country ORDER BY total_sales DESC, country")
    types = warehouse.query("SELECT customer_type, sum(total_sales), count(*) FROM gold.vw_daily_sales_analysis "
                            "GROUP BY customer_type ORDER BY 2 DESC, 1")
    daily = "gold.vw_daily_sales_analysis"
    return [
        Chart("revenue_by_day", "Revenue by day", daily, sum(n for *_, n in days), {
            "data": [{"type": "scatter", "mode": "lines+markers", "name": "revenue",
                      "x": [_text(d) for d, *_ in days], "y": [_number(v) for _, v, _ in days]}],
            "layout": _layout("", "revenue", xaxis={"type": "date", "tickformat": "%b %d", "dtick": DAY_MS,
                                                    "title": {"text": "transaction date"}})}),
        Chart("revenue_by_category", "Revenue by category", daily, sum(n for *_, n in categories), {
            "data": [_bar([c for c, *_ in categories], [v for _, v, _ in categories], "revenue")],
            "layout": _layout("product category", "revenue")}),
        Chart("revenue_by_country", "Revenue by customer country", "gold.sales_by_country", len(countries), {
            "data": [_bar([c for c, _ in countries], [v for _, v in countries], "revenue")],
            "layout": _layout("country", "revenue")}),
        Chart("customer_type_mix", "Revenue by customer type", daily, sum(n for *_, n in types), {
            "data": [{"type": "pie", "hole": 0.45, "sort": False, "labels": [t for t, *_ in types],
                      "values": [_number(v) for _, v, _ in types], "textinfo": "label+percent"}],
            "layout": _layout()}),
    ]


def product_and_customer_charts(warehouse: Warehouse) -> list[Chart]:
    top = warehouse.query(
        "SELECT coalesce(product_name || ' (' || product_id || ')', product_id), total_revenue, "
        f"(SELECT count(*) FROM gold.top_products) FROM gold.top_products WHERE revenue_rank <= {TOP_PRODUCTS} "
        "ORDER BY revenue_rank")
    segments = warehouse.query("SELECT rfm_segment, count(*), sum(revenue) FROM gold.customer_sales_report "
                               "GROUP BY rfm_segment ORDER BY 2 DESC, 1")
    at_risk = warehouse.query(
        "SELECT coalesce(product_name || ' (' || product_id || ')', product_id), stock_quantity, units_sold_30d, "
        "(SELECT count(*) FROM gold.inventory_status), (SELECT count(*) FROM gold.inventory_status WHERE is_low_stock) "
        "FROM gold.inventory_status WHERE is_low_stock "
        f"ORDER BY days_of_cover NULLS FIRST, units_sold_30d DESC, product_id LIMIT {AT_RISK_SHOWN}")
    products = [name for name, *_ in at_risk]
    low, catalogue = (at_risk[0][4], at_risk[0][3]) if at_risk else (0, 0)
    return [
        Chart("top_products", f"Top {TOP_PRODUCTS} products by revenue", "gold.top_products",
              top[0][2] if top else 0, {
                  "data": [{"type": "bar", "orientation": "h", "name": "revenue",
                            "x": [_number(v) for _, v, _ in top], "y": [name for name, *_ in top]}],
                  "layout": _layout("revenue", "", yaxis={"autorange": "reversed", "automargin": True})}),
        Chart("rfm_segments", "Customers by RFM segment", "gold.customer_sales_report", sum(n for _, n, _ in segments), {
            "data": [{**_bar([s for s, *_ in segments], [n for _, n, _ in segments], "customers"),
                      "customdata": [_number(r) for *_, r in segments],
                      "hovertemplate": "%{x}: %{y} customers, revenue %{customdata:,.2f}<extra></extra>"}],
            "layout": _layout("segment", "customers")}),
        Chart("inventory_at_risk", f"Inventory at risk: {low} of {catalogue} products low on stock"
              + (f" (the {AT_RISK_SHOWN} most urgent shown)" if low > AT_RISK_SHOWN else ""),
              "gold.inventory_status", catalogue, {
                  "data": [_bar(products, [s for _, s, *_ in at_risk], "stock"),
                           _bar(products, [u for _, _, u, *_ in at_risk], "units sold, last 30 days")],
                  "layout": _layout("product", "units", barmode="group", showlegend=True,
                                    legend={"orientation": "h", "y": 1.1})}),
    ]


def _by_day_and_reason(counts: list[tuple[str, str, int]]) -> tuple[list[str], dict[str, list[int]]]:
    """(day, reason, rows) as one series of rows per reason over the days, for stacked bars."""
    days = sorted({day for day, _, _ in counts})
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for day, reason, n in counts:
        series[reason][days.index(day)] += int(n)
    return days, dict(sorted(series.items(), key=lambda item: -sum(item[1])))


def _stacked(name: str, title: str, source: str, counts: list[tuple[str, str, int]]) -> Chart:
    days, series = _by_day_and_reason(counts)
    return Chart(name, title, source, sum(int(n) for *_, n in counts), {
        "data": [_bar(days, values, reason) for reason, values in series.items()],
        "layout": _layout("", "rows", barmode="stack", showlegend=True,
                          xaxis={"type": "category", "title": {"text": "landing day"}},
                          legend={"orientation": "h", "y": -0.3, "font": {"size": 10}}, height=420)})


def quality_charts(warehouse: Warehouse) -> list[Chart]:
    rejects = [(day, f"{source}: {QUOTED_VALUE.sub('', reason)}", n) for day, source, reason, n in warehouse.query(
        f"SELECT {LANDING_DAY_OF.format('file_key')}, source, reason, count(*) FROM bronze.rejects GROUP BY 1, 2, 3")]
    quarantined = warehouse.query(" UNION ALL ".join(
        f"SELECT {LANDING_DAY_OF.format('_source_file')}, '{entity}: ' || reason, count(*) "
        f"FROM silver.{entity}_quarantine GROUP BY 1, 2" for entity in QUARANTINED_ENTITIES))
    return [
        _stacked("bronze_rejects", "Bronze rejects by reason, per landing day", "bronze.rejects", rejects),
        _stacked("silver_quarantine", "Silver quarantine by reason, per landing day",
                 ", ".join(f"silver.{e}_quarantine" for e in QUARANTINED_ENTITIES), quarantined),
    ]


SECTIONS = (("Sales", revenue_charts), ("Products and customers", product_and_customer_charts),
            ("Data quality", quality_charts))


def dashboard_charts(warehouse: Warehouse) -> list[tuple[str, list[Chart]]]:
    """Every chart, by section, read from the warehouse now."""
    return [(heading, charts(warehouse)) for heading, charts in SECTIONS]


def _embedded_json(value) -> str:
    """JSON that cannot end the <script> element holding it."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def _section(chart: Chart) -> str:
    caption = f"{html.escape(chart.source)}: {chart.rows:,} rows"
    if not chart.has_data:
        return (f'<section class="empty" data-chart="{chart.name}"><h3>{html.escape(chart.title)}</h3>'
                f'<p class="source">{caption}</p><p>Nothing to show.</p></section>')
    return (f'<section class="chart" data-chart="{chart.name}" data-rows="{chart.rows}">'
            f'<h3>{html.escape(chart.title)}</h3><p class="source">{caption}</p><div class="plot"></div>'
            f'<script type="application/json" class="chart-spec" data-chart="{chart.name}">'
            f'{_embedded_json(chart.figure)}</script></section>')


def drawn(sections: list[tuple[str, list[Chart]]]) -> list[Chart]:
    """The charts the page draws: those with data (the others say there is nothing to show)."""
    return [chart for _, charts in sections for chart in charts if chart.has_data]


PAGE_CSS = """body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem 2rem; }
section h3 { margin: .5rem 0 0; } p.source, p.generated { color: #666; font-size: .85rem; margin: .2rem 0; }
ul.kpis { display: flex; gap: 2.5rem; list-style: none; padding: 0; }
ul.kpis b { display: block; font-size: 1.6rem; }
table.checks { width: 100%; font-size: .85rem; } table.checks td { overflow-wrap: anywhere; }"""

DRAW_CHARTS = """for (const section of document.querySelectorAll("section.chart")) {
  const figure = JSON.parse(section.querySelector("script.chart-spec").textContent);
  Plotly.newPlot(section.querySelector("div.plot"), figure.data, figure.layout,
                 {displayModeBar: false, responsive: true});
}"""


def _kpis(sections: list[tuple[str, list[Chart]]]) -> str:
    figures = {chart.name: chart.figure for _, charts in sections for chart in charts}
    by_day = figures["revenue_by_day"]["data"]
    revenue = sum((Decimal(str(v)) for trace in by_day for v in trace["y"]), Decimal(0))
    customers = sum(v for trace in figures["rfm_segments"]["data"] for v in trace["y"])
    days = [d for trace in by_day for d in trace["x"]]
    items = [(f"{revenue:,.2f}", "revenue"), (f"{customers:,}", "customers who bought"),
             (f"{days[0]} to {days[-1]}" if days else "no sales", "transaction dates")]
    return '<ul class="kpis">' + "".join(f"<li><b>{html.escape(v)}</b>{html.escape(k)}</li>" for v, k in items) + "</ul>"


def render_dashboard(sections: list[tuple[str, list[Chart]]], checks: list[CheckLine], plotly_js: str,
                     generated_at: datetime) -> str:
    """The page: the sections' charts, the latest check results in the data-quality panel, plotly.js inlined."""
    body = []
    for heading, charts in sections:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body.append('<div class="grid">' + "\n".join(_section(chart) for chart in charts) + "</div>")
    body.append(f'<section class="checks"><h3>Latest check results</h3>{html_table(checks)}</section>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gold dashboard</title>
<style>
{PAGE_CSS}
{CHECK_TABLE_CSS}
</style>
<script id="plotly-js">{plotly_js}</script>
</head>
<body data-chart-count="{len(drawn(sections))}">
<h1>Gold dashboard</h1>
<p class="generated">Generated {generated_at:%Y-%m-%d %H:%M:%S} UTC from the Gold layer.</p>
{_kpis(sections)}
{chr(10).join(body)}
<script>
{DRAW_CHARTS}
</script>
</body></html>
"""
