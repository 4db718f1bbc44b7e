"""The project's full build of one landing day as `medallion demo` runs it (medallion_job, in process,
every check), on feeds already generated into the data folder's raw/ (MEDALLION_DATA_DIR): the demo
location delivers them to the landing zone first, in a run of its own, so the pipeline's run is timed on
the same files the other implementations read.
benchmarks/run.py starts it as its own process to measure the memory of its whole process tree (dbt's
children included). Prints the run's id and whether it succeeded, as JSON, last.

    .venv/bin/python -m benchmarks.project_build <YYYY-MM-DD>
"""

from __future__ import annotations

import json
import sys

from dagster import DagsterInstance

from medallion_platform.defs.landing import landing_specs
from medallion_platform.partitions import landing_day_range_tags


def main(day: str) -> int:
    # Imported once the environment names the data folder: importing it builds the definitions.
    from medallion_platform.definitions import defs  # noqa: PLC0415
    from medallion_platform.demo.definitions import FEEDS_JOB  # noqa: PLC0415
    from medallion_platform.demo.definitions import defs as demo  # noqa: PLC0415

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    instance = DagsterInstance.get()
    demo.resolve_job_def(FEEDS_JOB).execute_in_process(
        run_config=quiet, asset_selection=[spec.key for spec in landing_specs], instance=instance)
    result = defs.resolve_job_def("medallion_job").execute_in_process(
        run_config=quiet, tags=landing_day_range_tags(day, day), instance=instance, raise_on_error=False)
    failures = [f"{e.step_key}: {e.event_specific_data.error.message.strip()}"
                for e in result.all_events if e.is_step_failure]
    print(json.dumps({"run_id": result.run_id, "success": result.success, "failures": failures}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
