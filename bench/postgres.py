"""A throwaway PostgreSQL 15 server on a free loopback port, for tests and benchmarks.

The server binaries ship with the machine image; they refuse to run as root, so the
cluster is created and started as the `postgres` user in a directory it owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

BIN = Path(os.environ.get("GOVFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class PostgresServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="govflow-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def start(self) -> None:
        subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                    "-A", "trust", "-E", "UTF8", "--no-sync"),
                       check=True, capture_output=True)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                                    "-l", str(self.root / "log"), "-w", "start"),
                       check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database, as a copy of `template` when given, and return its URL.
        A file copy of a small migrated template takes a few milliseconds, where
        migrating a new database takes a quarter of a second."""
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                    f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever connections a test left open."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def stop(self) -> None:
        subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                    "stop"), capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
