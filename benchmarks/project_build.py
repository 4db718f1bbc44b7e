"""The project's full build of one landing day as `medallion demo` runs it (medallion_job, in process,
every check), on feeds already generated into the data folder's raw/ (MEDALLION_DATA_DIR): every asset
but the generator's raw/*, so the build is timed on the same files the other implementations read.
benchmarks/run.py starts it as its own process to measure the memory of its whole process tree (dbt's
children included). Prints the run's id and whether it succeeded, as JSON, last.

    .venv/bin/python -m benchmarks.project_build <YYYY-MM-DD>
"""

from __future__ import annotations

import json
import sys

from dagster import DagsterInstance

from medallion_platform.partitions import landing_day_range_tags


def main(day: str) -> int:
    # Imported once the environment names the data folder: importing it builds the definitions.
    from medallion_platform.definitions import defs  # noqa: PLC0415

    job = defs.resolve_job_def("medallion_job")
    built = [key for key in defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] != "raw"]
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        tags=landing_day_range_tags(day, day), asset_selection=built,
        instance=DagsterInstance.get(), raise_on_error=False)
    failures = [f"{e.step_key}: {e.event_specific_data.error.message.strip()}"
                for e in result.all_events if e.is_step_failure]
    print(json.dumps({"run_id": result.run_id, "success": result.success, "failures": failures}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
