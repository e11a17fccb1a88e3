"""Benchmark the reminder sweep (催办) on a SQLite database with 100k open tasks.

`govflow bench reminders` builds (once, cached under bench/out/) the inbox benchmark's
database with every task open, gives each task its ladder of rungs, marks the rungs
before the benchmark's day as sent (earlier sweeps), then times sweeps as the
scheduler runs them: an idle sweep (nothing due), and the 09:00 sweeps of one working
day, when the day's due-soon and overdue rungs all come due at once. Each sweep reads
one range of the (state, fire_at) index, joins the tasks and writes the outbox rows
in one transaction; no workflow is loaded. Target: ≤ 1 s per sweep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, update

from engine.cases.govflow import Govflow
from engine.notify import reminders
from engine.store.db import Database
from engine.store.schema import human_tasks, outbox
from engine.store.schema import reminders as reminder_rows
from engine.time.clock import FrozenClock

from .inbox import NOW, OUT, database

DAY = (NOW + dt.timedelta(days=3)).replace(hour=9, minute=0, second=30)  # Monday 09:00:30


def add_rungs(gf: Govflow) -> int:
    settings = gf.profile.reminders
    with gf.db.write() as conn:
        tasks = conn.execute(select(human_tasks.c.id, human_tasks.c.case_id,
                                    human_tasks.c.process_id, human_tasks.c.element_id,
                                    human_tasks.c.due_at, human_tasks.c.created_at).where(
            human_tasks.c.state == "open")).all()
        rows = []
        for t in tasks:
            rows += reminders.rung_rows(gf.calendar, settings, task_id=t.id, case_id=t.case_id,
                                        process_id=t.process_id, element_id=t.element_id,
                                        due=t.due_at, provisional=False, opened=t.created_at)
        for start in range(0, len(rows), 20_000):
            reminders.schedule(conn, rows[start:start + 20_000])
        conn.execute(update(reminder_rows).where(reminder_rows.c.fire_at < DAY - dt.timedelta(
            hours=1)).values(state="sent"))
        conn.exec_driver_sql("ANALYZE")
    return len(rows)


def run(path: Path, limit: int) -> dict[str, float]:
    clock = FrozenClock(DAY - dt.timedelta(hours=1))
    gf = Govflow(Database(f"sqlite:///{path}"), clock=clock)
    idle = []
    for _ in range(20):
        started = time.perf_counter()
        assert gf.send_due_reminders(limit=limit) == {"sent": 0}
        idle.append((time.perf_counter() - started) * 1000)
    clock.set(DAY)
    busy, fired = [], 0
    while True:
        started = time.perf_counter()
        sent = gf.send_due_reminders(limit=limit)["sent"]
        busy.append((time.perf_counter() - started) * 1000)
        fired += sent
        if sent == 0:
            busy.pop()
            break
    with gf.db.read() as conn:
        open_tasks = conn.execute(select(func.count()).select_from(human_tasks).where(
            human_tasks.c.state == "open")).scalar_one()
        messages = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    gf.db.dispose()
    return {"open_tasks": open_tasks, "idle_sweep_ms_median": statistics.median(idle),
            "rungs_fired": fired, "sweeps": len(busy), "outbox_rows": messages,
            "sweep_ms_median": statistics.median(busy) if busy else 0.0,
            "sweep_ms_max": max(busy) if busy else 0.0, "limit": limit,
            "sweeps_ms": [round(b) for b in busy]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govflow bench reminders",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=100_000, dest="open_")
    parser.add_argument("--limit", type=int, default=1000, help="rungs per sweep")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    built = database(args.open_, args.open_, False, args.out)
    path = built.with_name(built.stem + "-reminders.sqlite")
    if not path.exists():
        shutil.copyfile(built, path)
        gf = Govflow(Database(f"sqlite:///{path}"), clock=FrozenClock(NOW))
        print(f"adding {add_rungs(gf):,} rungs...", file=sys.stderr)
        gf.db.dispose()
    work = path.with_name(path.stem + "-run.sqlite")
    shutil.copyfile(path, work)
    try:
        figures = run(work, args.limit)
    finally:
        work.unlink(missing_ok=True)
    ok = figures["sweep_ms_max"] <= 1000
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"reminder sweep on SQLite, {figures['open_tasks']:,} open tasks")
        print(f"  idle sweep (nothing due): median {figures['idle_sweep_ms_median']:.2f} ms")
        print(f"  09:00 of a working day: {figures['rungs_fired']:,} rungs in "
              f"{figures['sweeps']} sweeps of ≤ {args.limit}: median "
              f"{figures['sweep_ms_median']:.0f} ms, max {figures['sweep_ms_max']:.0f} ms; "
              f"{figures['outbox_rows']:,} outbox rows")
    print("target (≤ 1 s per sweep): " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
