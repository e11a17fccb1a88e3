"""SQLite's log is copied into the database file by a thread of its own, not by a step."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import text

from engine.store import wal
from engine.store.db import Database


def _rows_in_the_file_alone(path: Path) -> int:
    """Rows that reached the database file itself: `immutable` reads it without the log."""
    with sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'notes'").fetchone():
            return 0
        return int(db.execute("SELECT count(*) FROM notes").fetchone()[0])


def _write(db: Database, rows: int) -> None:
    for n in range(rows):
        with db.write() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": f"note {n}"})


def test_the_log_reaches_the_database_file_without_a_writer_copying_it(tmp_path: Path) -> None:
    path = tmp_path / "govflow.sqlite"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        backstop = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert backstop == wal.BACKSTOP   # a writer copies the log itself only this far behind
    assert db.wal is not None
    _write(db, wal.EVERY - 2)   # with the CREATE: one short of a background pass
    assert db.wal.requested == 0
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    assert _rows_in_the_file_alone(path) == 0   # still only in the log
    _write(db, 1)
    assert db.wal.requested == 1
    assert db.wal.settle()
    assert _rows_in_the_file_alone(path) == wal.EVERY - 1   # every committed row, copied
    _write(db, 2 * wal.EVERY)
    assert db.wal.requested == 3
    assert db.wal.settle()
    assert _rows_in_the_file_alone(path) == 3 * wal.EVERY - 1
    db.dispose()


def test_a_database_file_removed_under_the_thread_is_not_made_again(tmp_path: Path) -> None:
    path = tmp_path / "gone.sqlite"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    db.dispose()
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    assert db.wal is not None
    db.wal.request()
    assert db.wal.settle()
    assert list(tmp_path.iterdir()) == []


def test_databases_in_memory_have_no_checkpoint_thread() -> None:
    assert Database("sqlite://").wal is None


def test_a_forked_process_checkpoints_with_a_thread_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "forked.sqlite"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    _write(db, wal.EVERY - 1)
    assert db.wal is not None and db.wal.settle()   # the parent's thread has run
    child = os.fork()
    if child == 0:   # the thread did not come along: the child must start its own
        ok = False
        try:
            db.engine.dispose(close=False)   # the parent's connections stay the parent's
            _write(db, wal.EVERY)
            ok = db.wal.settle(10) and _rows_in_the_file_alone(path) == 2 * wal.EVERY - 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    db.dispose()
