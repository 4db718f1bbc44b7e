"""A real PostgreSQL server for the production instance's tests: Debian's `postgresql` package
(`make test` installs it when missing), a throwaway cluster on 127.0.0.1 and a free port. The server
refuses to run as root, so under root (as in CI) the cluster belongs to the package's `postgres` user."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PASSWORD = "medallion-test"
INSTALL_HINT = "install Debian's postgresql package (`make test` does: apt-get install -y postgresql)"


def server_binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(f"no PostgreSQL server under /usr/lib/postgresql: {INSTALL_HINT}")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """Start a cluster with a `dagster` database and user; yield the DAGSTER_POSTGRES_* variables
    deploy/dagster.yaml reads; stop it and delete its files on leaving."""
    binaries = server_binaries()
    owner = "postgres" if os.geteuid() == 0 else getpass.getuser()
    folder = Path(tempfile.mkdtemp(prefix="medallion-postgres-"))
    shutil.chown(folder, owner)
    (folder / "password").write_text(PASSWORD)
    shutil.chown(folder / "password", owner)
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([str(binaries / args[0]), *args[1:]], user=owner, cwd=folder, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")

    data = folder / "data"
    run("initdb", "-D", str(data), "-U", "dagster", "--auth=scram-sha-256", f"--pwfile={folder / 'password'}",
        "--no-sync", "-E", "UTF8")
    run("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "start",
        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off")
    try:
        import psycopg2  # noqa: PLC0415 (dagster-postgres' driver)

        con = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", password=PASSWORD, dbname="postgres")
        con.autocommit = True  # CREATE DATABASE cannot run in a transaction
        con.cursor().execute("CREATE DATABASE dagster")
        con.close()
        yield {"DAGSTER_POSTGRES_HOST": "127.0.0.1", "DAGSTER_POSTGRES_PORT": str(port),
               "DAGSTER_POSTGRES_DB": "dagster", "DAGSTER_POSTGRES_USER": "dagster",
               "DAGSTER_POSTGRES_PASSWORD": PASSWORD}
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
