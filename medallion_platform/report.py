"""The check report: the latest result of every asset check, as text, Markdown and HTML."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dagster import AssetCheckEvaluation, AssetCheckKey, AssetCheckSeverity, DagsterInstance, Definitions

# The one number that says how bad a check's result is, by the metadata key each kind of check uses.
KEY_NUMBERS = {
    "dagster_dbt/failed_row_count": "failing rows",
    "anomalous_day_count": "days out of band",
    "files_with_column_changes": "files with other columns",
    "files_failed": "files that could not be read",
}
COLUMNS = ("asset", "check", "severity", "result", "key number", "when (UTC)")


@dataclass(frozen=True)
class CheckLine:
    asset: str
    check: str
    severity: str  # ERROR | WARN | "" when the check has not run
    result: str  # PASS | FAIL | NOT RUN
    key_number: str
    when: str

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.asset, self.check, self.severity, self.result, self.key_number, self.when)

    @property
    def blocks(self) -> bool:
        return self.result == "FAIL" and self.severity == AssetCheckSeverity.ERROR.value


def latest_check_results(instance: DagsterInstance, defs: Definitions) -> list[CheckLine]:
    return latest_results_of(instance, defs.resolve_asset_graph().asset_check_keys)


def latest_results_of(instance: DagsterInstance, check_keys: Iterable[AssetCheckKey]) -> list[CheckLine]:
    """The latest result of each of these checks (a run's code location knows them as its asset graph's)."""
    keys = sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    lines = []
    for key in keys:
        record = records.get(key)
        evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
        if not isinstance(evaluation, AssetCheckEvaluation):
            # Never run, or planned in a run that stopped before it (e.g. a blocking check upstream failed).
            note = f"planned in run {record.run_id[:8]}, not executed" if record else ""
            lines.append(CheckLine(key.asset_key.to_user_string(), key.name, "", "NOT RUN", note, ""))
            continue
        number = next((f"{label}: {evaluation.metadata[k].value}" for k, label in KEY_NUMBERS.items()
                       if k in evaluation.metadata), evaluation.description or "")
        lines.append(CheckLine(
            asset=key.asset_key.to_user_string(),
            check=key.name,
            severity=evaluation.severity.value,
            result="PASS" if evaluation.passed else "FAIL",
            key_number=number,
            when=datetime.fromtimestamp(record.create_timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        ))
    return lines


def _totals(lines: list[CheckLine]) -> str:
    count = lambda result, severity=None: sum(  # noqa: E731
        1 for line in lines if line.result == result and (severity is None or line.severity == severity))
    return (f"{len(lines)} checks: {count('PASS')} passed, {count('FAIL', 'ERROR')} failed ERROR, "
            f"{count('FAIL', 'WARN')} failed WARN, {count('NOT RUN')} not run")


def _ordered(lines: list[CheckLine]) -> list[CheckLine]:
    """Failures first (ERROR before WARN), then the rest, each by asset and check."""
    rank = {"FAIL": 0, "NOT RUN": 1, "PASS": 2}
    return sorted(lines, key=lambda l: (rank[l.result], l.severity != "ERROR", l.asset, l.check))


def render_text(lines: list[CheckLine]) -> str:
    rows = [COLUMNS] + [line.cells for line in _ordered(lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(["Check report: " + _totals(lines), *text])


def render_markdown(lines: list[CheckLine]) -> str:
    def row(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    body = [row(COLUMNS), row(["---"] * len(COLUMNS))] + [row(line.cells) for line in _ordered(lines)]
    return "\n".join(["# Check report", "", _totals(lines), "", *body, ""])


def html_table(lines: list[CheckLine]) -> str:
    """The results as an HTML table, failures first; rows classed by result and severity (CHECK_TABLE_CSS)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    rows = "\n".join(
        f'<tr class="{line.result.lower().replace(" ", "-")} {line.severity.lower()}">'
        + "".join(f"<td>{html.escape(c)}</td>" for c in line.cells) + "</tr>"
        for line in _ordered(lines))
    return f"""<p>{html.escape(_totals(lines))}</p>
<table class="checks"><thead><tr>{head}</tr></thead><tbody>
{rows}
</tbody></table>"""


CHECK_TABLE_CSS = """table.checks { border-collapse: collapse; }
table.checks th, table.checks td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; }
table.checks tr.fail.error td { background: #f8d7da; } table.checks tr.fail.warn td { background: #fff3cd; }
table.checks tr.not-run td { color: #777; }"""


def render_html(lines: list[CheckLine]) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Check report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
{CHECK_TABLE_CSS}
</style></head>
<body><h1>Check report</h1>
{html_table(lines)}</body></html>
"""


def write_report(lines: list[CheckLine], reports_dir: Path) -> tuple[Path, Path]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    markdown, page = reports_dir / "checks.md", reports_dir / "checks.html"
    markdown.write_text(render_markdown(lines))
    page.write_text(render_html(lines))
    return markdown, page
