"""Connect to the database: an embedded SQLite file by default, PostgreSQL for scale-out.

Write transactions on SQLite start with BEGIN IMMEDIATE, so two writers queue on the
lock instead of one failing later with a stale snapshot; every case update still
checks its revision, which is what keeps PostgreSQL (read committed) correct.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from engine.store.wal import BACKSTOP, WalCheckpointer

try:
    import fcntl
except ImportError:  # Windows has no fcntl: writers there queue on SQLite's lock alone
    fcntl = None  # type: ignore[assignment]

DEFAULT_INSTANCE = "instance"
#: How long a SQLite writer waits on the lock file before meeting SQLite's own lock.
WRITE_WAIT = 30.0
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_url() -> str:
    """Return GOVFLOW_DATABASE_URL, or a SQLite file in the instance folder."""
    url = os.environ.get("GOVFLOW_DATABASE_URL")
    if url:
        return url
    instance = Path(os.environ.get("GOVFLOW_INSTANCE", DEFAULT_INSTANCE))
    instance.mkdir(parents=True, exist_ok=True)
    # Quoted, so that a folder named with "?" or "#" is not read as a query or a fragment.
    path = str((instance / "govflow.sqlite").resolve())
    return URL.create("sqlite", database=path).render_as_string(hide_password=False)


class Database:
    """A SQLAlchemy engine plus the two kinds of transaction the services use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine: Engine = create_engine(self.url, **self._engine_options())
        self._writer_lock: str | None = None
        self.wal: WalCheckpointer | None = None
        if self.is_sqlite:
            database = self.engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                self.wal = WalCheckpointer(database)
                if fcntl is not None:
                    self._writer_lock = f"{database}-writer"
            self._tune_sqlite(self.engine, backstop=self.wal is not None)

    def _engine_options(self) -> dict[str, object]:
        if self.is_sqlite:
            return {"connect_args": {"timeout": 30, "check_same_thread": False}}
        return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}

    @staticmethod
    def _tune_sqlite(engine: Engine, *, backstop: bool) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy's begin event below decide how each transaction starts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Keep the inbox's index pages at hand: 32 MB of page cache per connection,
            # and reads through the OS page cache (mmap) instead of copies.
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if backstop:   # checkpoints run in the background (engine/store/wal.py)
                cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            immediate = conn.get_execution_options().get("govflow_write", False)
            # Straight to the driver: every step begins two transactions, and SQLAlchemy's
            # execution layer would cost more than SQLite's BEGIN itself.
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """Run a write transaction: commit when the block ends, roll back if it raises."""
        with self._writers_queue(), self.engine.connect() as conn:
            conn = conn.execution_options(govflow_write=True)
            with conn.begin():
                yield conn
        if self.wal is not None:
            self.wal.committed()

    @contextlib.contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """On a SQLite file, wait for the write lock on a lock file beside it first.

        SQLite's own wait for its write lock sleeps and retries, up to 100 ms a time, so
        with several worker processes a writer can lose the lock again and again (the
        p99 of an API step reached a second). The lock file lets the next writer in
        within half a millisecond of the last one finishing. SQLite's lock still decides
        who writes: after WRITE_WAIT seconds a writer goes on without the lock file and
        meets SQLite's busy timeout.
        """
        if self._writer_lock is None:
            yield
            return
        handle = os.open(self._writer_lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            pause, give_up = 0.0002, time.monotonic() + WRITE_WAIT
            while time.monotonic() < give_up:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.0005)
            yield
        finally:
            os.close(handle)  # releases the lock

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def create_schema(self) -> None:
        """Create the database or upgrade it to the newest schema (Alembic migrations)."""
        config = alembic_config()
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def readiness(self) -> str | None:
        """Why this database cannot serve yet (unreachable, schema not at head), or None."""
        try:
            with self.engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
        except SQLAlchemyError as exc:
            return f"database unreachable: {exc.__class__.__name__}"
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        if current != heads:
            return (f"schema at {', '.join(sorted(current)) or 'nothing'}, "
                    f"govflow needs {', '.join(sorted(heads))}: run `govflow init`")
        return None

    def dispose(self) -> None:
        self.engine.dispose()


def claim_case(conn: Connection, case_id: int) -> bool:
    """Lock a case row for the rest of this write transaction, or return False at once
    when another transaction holds it (PostgreSQL's SKIP LOCKED), so several schedulers
    share the due cases instead of moving the same one twice. On SQLite the write
    transaction already holds the whole database.

    The lock is FOR NO KEY UPDATE, the one the case's own UPDATE takes: rows that only
    refer to the case (an outbox message, a reminder) can still be written meanwhile.
    FOR UPDATE would also block their foreign-key checks, and a reminder sweep that
    holds the task's reminder rows while queueing a message about the case would
    deadlock with the step that fires the case's timer and cancels those reminders."""
    if conn.dialect.name == "sqlite":
        return True
    return conn.execute(_CLAIM_CASE, {"case_id": case_id}).first() is not None


_CLAIM_CASE = text("SELECT id FROM cases WHERE id = :case_id FOR NO KEY UPDATE SKIP LOCKED")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def known_revisions() -> set[str]:
    """Every schema revision govflow's migrations know."""
    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
