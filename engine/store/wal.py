"""Copy SQLite's write-ahead log back into the database file off the writers' path.

By default the commit that takes SQLite's log past 1,000 pages copies the log into the
database file and syncs both to disk, so one step in a dozen waits for that. SQLite's
documentation suggests running checkpoints from another thread instead; PostgreSQL has a
checkpointer process for the same reason. Here a thread per process checkpoints (PASSIVE:
it never waits for readers or writers) after every `EVERY` write transactions. Writers
keep SQLite's own checkpoint at `BACKSTOP` pages, so the log stays bounded when the
thread falls behind or a process has none.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

#: Write transactions between two background checkpoints (a step writes 30-40 pages).
EVERY = 24
#: Log pages at which a writer checkpoints itself, as SQLite does at 1,000 by default.
BACKSTOP = 8000
#: Seconds without writes after which the thread ends (the next write starts it again).
IDLE = 30.0


class WalCheckpointer:
    """Checkpoints one SQLite file from a thread of its own."""

    def __init__(self, path: str) -> None:
        self.uri = f"{Path(path).resolve().as_uri()}?mode=rw"   # never create the file
        self._commits = 0
        self._due = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.passes = 0   # checkpoints run, for tests and the benchmark
        self._passed = threading.Condition()

    def committed(self) -> None:
        """Count one write transaction; every EVERY, wake the thread."""
        self._commits += 1   # a lost count between threads only delays one checkpoint
        if self._commits % EVERY == 0:
            self.request()

    def request(self) -> None:
        self._due.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="govflow-wal",
                                                daemon=True)
                self._thread.start()

    def wait_for(self, passes: int, timeout: float = 30.0) -> bool:
        """Block until `passes` checkpoints have run; for tests, which must not sleep."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes >= passes, timeout)

    def _run(self) -> None:
        while True:
            if not self._due.wait(IDLE):
                with self._lock:
                    if not self._due.is_set():
                        self._thread = None
                        return
                continue
            self._due.clear()
            self._checkpoint()
            with self._passed:
                self.passes += 1
                self._passed.notify_all()

    def _checkpoint(self) -> None:
        try:
            db = sqlite3.connect(self.uri, uri=True, timeout=0, isolation_level=None)
        except sqlite3.Error:
            return   # the file is gone (a removed test database): nothing to copy
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass   # busy with another checkpoint: the next pass, or the backstop, copies it
        finally:
            db.close()
