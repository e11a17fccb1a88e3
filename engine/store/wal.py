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
import weakref
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
        _EVERY_CHECKPOINTER.add(self)

    def _start(self) -> None:
        """Fresh state: at creation, and in a forked child, where the parent's thread is
        gone and its locks may have been copied while held."""
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
        with self._lock:
            self.requested += 1
            self._due.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="govflow-wal",
                                                daemon=True)
                self._thread.start()

    def settle(self, timeout: float = 30.0) -> bool:
        """Block until the checkpoints asked for so far have run (tests must not sleep)."""
        with self._served:
            asked = self.requested
            return self._served.wait_for(lambda: self.served >= asked, timeout)

    def _run(self) -> None:
        try:
            while self._due.wait(IDLE) or not self._idle_exit():
                with self._lock:
                    self._due.clear()
                    asked = self.requested
                self._checkpoint()
                with self._served:
                    self.served = asked
                    self._served.notify_all()
        finally:   # however the thread ends, the next request starts another
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _idle_exit(self) -> bool:
        """After IDLE seconds without a request: end, unless one came in meanwhile."""
        with self._lock:
            if self._due.is_set():
                return False
            self._thread = None
            return True

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


_EVERY_CHECKPOINTER: weakref.WeakSet[WalCheckpointer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for checkpointer in list(_EVERY_CHECKPOINTER):
        checkpointer._start()  # noqa: SLF001 - the module's own fork hook


os.register_at_fork(after_in_child=_after_fork_in_child)
