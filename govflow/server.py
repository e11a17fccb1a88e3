"""`govflow serve`: one process with waitress, or several worker processes under gunicorn.

One process (the default, and `make run`) serves with waitress's threads and runs the
scheduler in the same process. A Python process runs one thread at a time, so one process
uses one core however many clients wait. `--workers N` (N >= 2) runs N gunicorn worker
processes instead, each with its own app and database pool, and the scheduler as one
separate `govflow scheduler` process beside them (none with `--no-scheduler`, when the
schedulers run on other hosts): the jobs then never run once per worker.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

#: Threads per gunicorn worker. One: a request is nearly all Python, so a second thread
#: only waits for the interpreter lock, and their switching cost a quarter more CPU per
#: request (bench/http.py). Idle keep-alive connections wait in gunicorn's poller, not in
#: a thread; put a buffering proxy in front for slow clients, or raise --threads.
THREADS = 1


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with its settings given here; each worker builds its own app after the
    fork, so no database connection or lock is shared between processes."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from web import create_app

        return create_app()


def serve_workers(host: str, port: int, workers: int, threads: int, scheduler: bool) -> None:
    """Serve with `workers` gunicorn processes until stopped (SIGTERM or Ctrl+C)."""
    jobs = subprocess.Popen(scheduler_command()) if scheduler else None
    try:
        _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread",
                   "threads": threads, "keepalive": 5, "proc_name": "govflow",
                   "graceful_timeout": 10}).run()
    finally:
        if jobs is not None:
            jobs.terminate()
            jobs.wait(timeout=30)


def scheduler_command() -> list[str]:
    return [sys.executable, "-c", "from govflow.cli import main; main()", "scheduler"]
