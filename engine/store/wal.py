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

import os
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
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._due = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.requested = self.served = 0   # checkpoints asked for, and asked for and run
        self._served = threading.Condition()

    def committed(self) -> None:
        """Count one write transaction; every EVERY, wake the thread."""
        self._commits += 1   # a lost count between threads only delays one checkpoint
        if self._commits % EVERY == 0:
            self.request()

    def request(self) -> None:
        if self._pid != os.getpid():   # a forked worker: the thread and locks stayed behind
            self._start()
        with self._lock:
            self.requested += 1
            self._due.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="govflow-wal",
                                                daemon=True)
                self._thread.start()

    def settle(self, timeout: float = 30.0) -> bool:
        """Block until every checkpoint asked for so far has run (tests must not sleep)."""
        with self._served:
            return self._served.wait_for(lambda: self.served >= self.requested, timeout)

    def _run(self) -> None:
        while True:
            if not self._due.wait(IDLE):
                with self._lock:
                    if not self._due.is_set():
                        self._thread = None
                        return
                continue
            with self._lock:
                self._due.clear()
                asked = self.requested
            self._checkpoint()
            with self._served:
                self.served = asked
                self._served.notify_all()

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
