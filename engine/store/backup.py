"""Back up and restore the embedded SQLite database with SQLite's online backup API.

A backup is a consistent copy taken while govflow keeps serving (the backup API copies
pages under SQLite's own locking; WAL readers and writers go on). A restore accepts only
a govflow database of a schema revision govflow knows, checked before anything is
touched, copies it over the live database, and upgrades it to the current schema.
PostgreSQL has its own tools (pg_dump / pg_restore); these commands refuse it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.errors import EngineError
from engine.store.db import Database, known_revisions


class BackupRefused(EngineError):
    code = "backup_refused"


def _sqlite_file(db: Database) -> Path:
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupRefused("backup and restore are for the embedded SQLite database; "
                            "use pg_dump and pg_restore for PostgreSQL")
    return Path(url.database)


def backup(db: Database, target: Path) -> Path:
    """Write a consistent copy of the live database to `target` (which must not exist)."""
    source = _sqlite_file(db)
    if target.exists():
        raise BackupRefused(f"{target} already exists; choose a new file")
    if not source.exists():
        raise BackupRefused(f"there is no database at {source}")
    partial = target.with_name(target.name + ".partial")
    with _open(source) as live, _open(partial) as copy:
        live.backup(copy)
    partial.rename(target)  # a crash mid-copy leaves no file that looks complete
    return target


def check_backup(path: Path) -> str:
    """The schema revision of the govflow database in `path`, or BackupRefused."""
    if not path.is_file():
        raise BackupRefused(f"{path} is not a file")
    try:
        with _open(path, read_only=True) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupRefused(f"{path} is a damaged SQLite database")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
            if not {"alembic_version", "cases", "audit_events"} <= tables:
                raise BackupRefused(f"{path} is not a govflow database")
            revisions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{path} is not a govflow database ({exc})") from None
    unknown = [r for r in revisions if r not in known_revisions()]
    if len(revisions) != 1 or unknown:
        raise BackupRefused(f"{path} has schema revision {', '.join(revisions) or 'none'}, "
                            "which this govflow does not know")
    return revisions[0]


def restore(db: Database, source: Path) -> str:
    """Replace the live database with the backup in `source`; return its revision.

    Stop the web app and the scheduler first: they would keep cached cases."""
    revision = check_backup(source)
    target = _sqlite_file(db)
    db.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open(source, read_only=True) as backup_conn, _open(target) as live:
        backup_conn.backup(live)
    db.create_schema()
    return revision


@contextlib.contextmanager
def _open(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    # as_uri quotes the path: a '#' or '?' in a folder's name would otherwise end it there.
    conn = (sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            if read_only else sqlite3.connect(path, timeout=30))
    try:
        yield conn
    finally:
        conn.close()


def set_aside(log: Path | None) -> Path | None:
    """Move the checkpoint log of the replaced database aside (it lists checkpoints the
    backup may lack); return where it went."""
    if log is None or not log.exists():
        return None
    number = 1
    while (aside := log.with_name(f"{log.name}.before-restore-{number}")).exists():
        number += 1
    log.rename(aside)
    return aside
