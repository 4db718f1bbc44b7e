"""`medallion-dbt [NAME=VALUE ...] <dbt arguments>`: the dbt command line, bound to the process that
started it, with the environment variables it is given in its own environment.

Dagster's dbt resource (medallion_platform/dbt_project.py) starts dbt with a copy of its own process's
environment and offers no way to add to it; what one invocation needs (the warehouse file, the landing
window, the starter's pid) comes as leading NAME=VALUE arguments, as with env(1), and is set in this
process only, before dbt reads it. An empty value unsets the variable.

dagster-dbt starts dbt as a child of the run's worker. If the worker is killed (kill -9, out of
memory), an orphaned dbt would go on writing the warehouse while the run is already failed and its
writer slot handed to the next run. On Linux the kernel kills this process when its parent dies
(PR_SET_PDEATHSIG); elsewhere it is plain dbt."""

import ctypes
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The pid of the process that starts dbt (passed by MedallionDbtCli). Without it, a parent killed in the
# ~0.1 s between this process's start and the prctl below would go unnoticed: by then getppid() already
# names whoever adopted the orphan.
DBT_PARENT_PID = "MEDALLION_DBT_PARENT_PID"
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


def assignments(variables: Mapping[str, str]) -> list[str]:
    """The leading arguments that give a dbt started through this module `variables`."""
    return [f"{name}={value}" for name, value in variables.items()]


def apply_assignments(argv: Sequence[str]) -> list[str]:
    """Set the leading NAME=VALUE arguments in this process's environment (unset when empty); the rest,
    dbt's own arguments, are returned."""
    args = list(argv)
    while args and (assignment := ASSIGNMENT.fullmatch(args[0])):
        name, value = assignment.groups()
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
        args.pop(0)
    return args


def main() -> int:
    args = apply_assignments(sys.argv[1:])
    parent = int(os.environ.get(DBT_PARENT_PID) or os.getppid())
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the signal was armed
            return 1
    from dbt.cli.main import cli  # noqa: PLC0415 (after the signal is armed: dbt's imports take seconds)

    return cli(args)


if __name__ == "__main__":
    sys.exit(main())
