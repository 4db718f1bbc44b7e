"""`medallion-dbt`: the dbt command line, bound to the process that started it.

dagster-dbt starts dbt as a child of the run's worker. If the worker is killed (kill -9, out of
memory), an orphaned dbt would go on writing the warehouse while the run is already failed and its
writer slot handed to the next run. On Linux the kernel kills this process when its parent dies
(PR_SET_PDEATHSIG); elsewhere it is plain dbt."""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The pid of the process that starts dbt (set by MedallionDbtCli for the call). Without it, a parent
# killed in the ~0.1 s between this process's start and the prctl below would go unnoticed: by then
# getppid() already names whoever adopted the orphan.
DBT_PARENT_PID = "MEDALLION_DBT_PARENT_PID"


def main() -> int:
    parent = int(os.environ.get(DBT_PARENT_PID) or os.getppid())
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the signal was armed
            return 1
    from dbt.cli.main import cli  # noqa: PLC0415 (after the signal is armed: dbt's imports take seconds)

    return cli()


if __name__ == "__main__":
    sys.exit(main())
