"""A run killed with SIGKILL in the middle of its work, as the daemon runs it: nothing partial is left
in Bronze, the ledger says `loaded` only of files wholly loaded, and the next run brings Silver and Gold
to exactly what one uninterrupted run gives. benchmarks/faults.py repeats this at random moments."""

import shutil
from datetime import timedelta

import pytest

from medallion_platform_tests.conftest import DAEMON_FIRST_DAY
from medallion_platform_tests.daemon import (
    base_and_reference,
    daemon_over_landing,
    landing_runs,
)
from medallion_platform_tests.faults import run_trial, snapshot

DAYS = [(DAEMON_FIRST_DAY + timedelta(days=n)).isoformat() for n in (1, 2)]


# Killed 0.1 s into its first Bronze load (the Bronze assets' steps are `bronze__<source>`).
@pytest.mark.parametrize("after_step, delay", [("bronze__", 0.1)])
def test_a_run_killed_midway_leaves_nothing_partial_and_its_successor_converges(tmp_path, clean_env, daemon_base,
                                                                               after_step, delay):
    landing, built_base = daemon_base
    from medallion_platform.definitions import defs  # noqa: PLC0415

    runs = landing_runs(defs, ["customers", "products", "transactions"], DAYS)
    data_dir, reference = base_and_reference(tmp_path, landing, defs, runs, built_base)
    pristine = tmp_path / "pristine" / "warehouse.duckdb"
    pristine.parent.mkdir()
    shutil.copyfile(data_dir / "warehouse.duckdb", pristine)
    keys = set().union(*(k for _, _, k in runs))
    log = tmp_path / "daemon.log"
    with daemon_over_landing(data_dir, landing, log, clean_env.setenv, monitoring_seconds=1) as (instance, workspace, daemon, _):
        trial = run_trial(instance, workspace, keys, DAYS, pristine, data_dir,
                          snapshot(reference / "warehouse.duckdb"), delay, daemon, log, after_step)
    assert trial.killed_run_status == "FAILURE" and trial.killed_in.startswith(after_step), trial
    assert trial.partial_files == [], trial
    assert trial.successor_status == "SUCCESS", (trial, log.read_text()[-3000:])
    assert trial.differences == [], trial
