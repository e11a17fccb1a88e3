"""Schedulers killed or doubled and a server killed under load, in small numbers: `govflow
bench scheduler` runs real processes, kills them with SIGKILL, and counts rows and received
e-mails afterwards. The README's figures come from the same command with 10,000 timers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete, update

from bench.postgres import PostgresServer
from bench.scheduler import TIMER_CASES_AT, case_problems, open_govflow, prepare, start_cases
from engine.store.schema import human_tasks, timers

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", "from govflow.cli import main; main()",
                           "bench", "scheduler", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_schedulers_a_killed_one_and_a_killed_server_on_postgresql(
        postgres_server: PostgresServer) -> None:
    out = bench("two", "kill", "load", "--timers", "40", "--cases", "200",
                "--database-url", postgres_server.url())
    lines = out.splitlines()
    assert lines[0].startswith("two on PostgreSQL: timers fired 40, ") and "-- holds" in lines[0]
    assert lines[1].startswith("kill on PostgreSQL: timers fired 40, ") and "-- holds" in lines[1]
    assert lines[2].startswith("load on PostgreSQL: answered before the kill ")
    assert lines[2].endswith("-- holds")
    assert "FAILED" not in out


def test_a_killed_scheduler_and_a_server_killed_under_load_on_sqlite() -> None:
    out = bench("kill", "load", "--timers", "120", "--cases", "1000")
    kill, load = out.splitlines()
    assert kill.startswith("kill on SQLite: timers fired 120, ") and kill.endswith("-- holds")
    assert load.startswith("load on SQLite: answered before the kill ")
    assert load.endswith("-- holds")


def test_a_backlog_drains_without_waiting_a_poll_interval() -> None:
    out = bench("drain", "--timers", "100", "--runs", "1", "--rate-cases", "30")
    assert "timers 100, " in out and "-- holds" in out and "median ratio" in out


def test_one_dispatcher_sends_a_backlog_of_messages() -> None:
    out = bench("send", "--timers", "8", "--runs", "1")
    assert "messages 80, " in out and "-- holds" in out and "median messages/s" in out


def test_the_wholeness_check_finds_a_half_written_case(tmp_path: Path, monkeypatch) -> None:
    """The load scenario's check is not vacuous: a case missing its task or its timer row,
    as a half-written step would leave it, is named."""
    monkeypatch.setenv("GOVFLOW_INSTANCE", str(tmp_path))
    gf = prepare(f"sqlite:///{tmp_path / 'whole.sqlite'}")
    first, second = start_cases(gf, 2, TIMER_CASES_AT)
    assert case_problems(gf) == []
    with gf.db.write() as conn:
        conn.execute(delete(timers).where(timers.c.case_id == first))
        conn.execute(update(human_tasks).where(human_tasks.c.case_id == second)
                     .values(state="cancelled"))
    assert case_problems(open_govflow(str(gf.db.url))) == [
        f"case {first}: its timers are not those its state waits on",
        f"case {second}: its open tasks are not the ready tasks of its state"]
