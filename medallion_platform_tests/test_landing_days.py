"""The landing-day partitions start at MEDALLION_FIRST_LANDING_DAY (by default the demo's first day), so the
UI of a demo shows its days, not two years of empty partitions; the demo lands from that day too."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest

from medallion_platform.cli import main
from medallion_platform_tests.conftest import MEDALLION_VARIABLES

# In a process of its own: the partitions are declared when the definitions are imported.
PROBE = """
import json
from medallion_platform.definitions import defs
from medallion_platform.demo.definitions import RawFilesConfig
from medallion_platform.cli import build_parser
graph = defs.resolve_asset_graph()
partitioned = [graph.get(k).partitions_def for k in graph.get_all_asset_keys() if graph.get(k).partitions_def]
commands = build_parser()._subparsers._group_actions[0].choices
print(json.dumps({
    "assets": len(partitioned),
    "first_days": sorted({p.get_first_partition_key() for p in partitioned}),
    "counts": sorted({len(p.get_partition_keys()) for p in partitioned}),
    "demo_start": [RawFilesConfig().start_date, commands["demo"].get_default("start_date"),
                   commands["generate"].get_default("start_date")],
}))
"""


def _probe(tmp_path, **variables) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in MEDALLION_VARIABLES}
    env.update(MEDALLION_DATA_DIR=str(tmp_path / "data"), **variables)
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)


def _days_until_today(first_day: str) -> int:
    """The last partition is today's (UTC), the day in progress."""
    return (datetime.now(timezone.utc).date() - date.fromisoformat(first_day)).days + 1


@pytest.mark.parametrize("variables, first_day", [({}, "2026-11-20"),
                                                  ({"MEDALLION_FIRST_LANDING_DAY": "2026-12-01"}, "2026-12-01")])
def test_partitions_and_the_demo_start_at_the_first_landing_day(tmp_path, variables, first_day):
    seen = _probe(tmp_path, **variables)
    assert seen["assets"] >= 5  # the four Bronze tables and the incremental dbt step
    assert seen["first_days"] == [first_day]
    assert seen["counts"] == [_days_until_today(first_day)]
    assert seen["demo_start"] == [first_day] * 3


@pytest.mark.parametrize("argv", [["demo", "--start-date", "2026-11-19"],
                                  ["drop", "--source", "customers", "--rows", "1", "--day", "2026-11-19"]])
def test_a_day_before_the_first_landing_day_is_refused_naming_the_setting(argv, tmp_path, clean_env, capsys):
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "data"))
    assert main(argv) == 2
    assert "day 2026-11-19 is before MEDALLION_FIRST_LANDING_DAY (2026-11-20)" in capsys.readouterr().err
    assert not (tmp_path / "data" / "landing").exists()
