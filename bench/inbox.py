"""Benchmark the reviewer's inbox: the query, and the full page, on a large SQLite database.

`govflow bench inbox` builds (once, cached under bench/out/) a database with 1M human
tasks of which 100k are open, spread over 40 departments, with one busy group holding
a tenth of the open work, and a reviewer in it who holds a few claims. It then times
`engine.cases.inbox.inbox` (the page of tasks plus its total) and a full `GET /inbox`
rendered by the Flask app (tab counts, filters, template), and repeats both on a
database of 10k tasks scaled the same way, to show the cost follows the page, not the
size of the history. Targets: query p95 ≤ 20 ms, page p95 ≤ 50 ms, p95(1M)/p95(10k) ≤ 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from engine.cases.govflow import Govflow
from engine.cases.inbox import InboxQuery, inbox
from engine.people import directory
from engine.people.access import load_viewer
from engine.store.db import MIGRATIONS, Database
from engine.store.schema import cases, human_tasks, process_versions, task_candidates
from engine.time.clock import SHANGHAI, FrozenClock
from engine.time.sla import SlaClock

OUT = Path(__file__).resolve().parent / "out"
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
GROUPS = [f"bench_dept_{i:02d}" for i in range(40)]
BUSY = GROUPS[0]
REVIEWER = "bench_reviewer"
TASKS_PER_CASE = 4
CHUNK = 20_000


def build(path: Path, total: int, open_: int, seed: int = 7) -> None:
    """Write `total` tasks (`open_` of them open) and their cases into a new database."""
    rng = random.Random(seed)
    gf = Govflow(Database(f"sqlite:///{path}"), clock=FrozenClock(NOW))
    gf.init_schema()
    model = Path(__file__).resolve().parent / "models" / "loop.bpmn"
    gf.deploy(model.read_bytes(), model.name)
    with gf.db.write() as conn:
        version = conn.execute(select(process_versions.c.id, process_versions.c.process_id)
                               .limit(1)).one()
        for name in GROUPS:
            directory.add_group(conn, name, f"部门 {name[-2:]}", "department")
        directory.add_user(conn, REVIEWER, "忙碌的审核员", password=None,
                           groups_=[BUSY, GROUPS[1]], now=NOW)
        for i in range(10):
            directory.add_user(conn, f"bench_colleague_{i}", f"同事 {i}", password=None,
                               groups_=[BUSY], now=NOW)
    n_cases = -(-total // TASKS_PER_CASE)
    with gf.db.write() as conn:
        for start in range(0, n_cases, CHUNK):
            conn.execute(insert(cases), [_case(i + 1, version, rng) for i in
                                         range(start, min(start + CHUNK, n_cases))])
    open_ids = set(rng.sample(range(total), open_))
    with gf.db.write() as conn:
        for start in range(0, total, CHUNK):
            tasks, candidates = [], []
            for i in range(start, min(start + CHUNK, total)):
                task, groups = _task(i, i in open_ids, version, rng)
                tasks.append(task)
                candidates += [{"task_id": task["id"], "group_name": g,
                                "is_open": task["state"] == "open", "due_at": task["due_at"],
                                "created_at": task["created_at"]}
                               for g in groups]
            conn.execute(insert(human_tasks), tasks)
            conn.execute(insert(task_candidates), candidates)
    with gf.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    gf.db.dispose()


def _case(case_id: int, version: Any, rng: random.Random) -> dict[str, Any]:
    started = NOW - dt.timedelta(days=rng.randint(0, 720))
    return {"id": case_id, "process_id": version.process_id, "version_id": version.id,
            "status": "running", "requester": f"申请单位 {case_id % 997}", "data": {},
            "state": "", "revision": 1, "audit_head": "0" * 64, "audit_seq": 0,
            "started_at": started, "started_by": None, "updated_at": started}


def _task(i: int, is_open: bool, version: Any, rng: random.Random) -> tuple[dict[str, Any],
                                                                            list[str]]:
    # a tenth of the open work is the busy group's; the rest is spread evenly
    group = BUSY if is_open and rng.random() < 0.1 else rng.choice(GROUPS[1:])
    created = NOW - dt.timedelta(days=rng.randint(0, 30 if is_open else 720),
                                 minutes=rng.randint(0, 1440))
    due = created + dt.timedelta(days=14)
    assignee = None
    if is_open and rng.random() < 0.1:
        assignee = REVIEWER if group == BUSY and rng.random() < 0.05 else "someone_else"
    case_id = i // TASKS_PER_CASE + 1
    return ({"id": str(uuid.UUID(int=rng.getrandbits(128))), "case_id": case_id,
             "process_id": version.process_id, "version_id": version.id,
             "element_id": "UserTask_review", "title": "审核申请", "lane": None,
             "candidate_groups": [group], "assignee": assignee,
             "requester": f"申请单位 {case_id % 997}", "form": None, "created_at": created,
             "due_at": due, "due_provisional": False, "due_basis": None,
             "state": "open" if is_open else "completed",
             "completed_at": None if is_open else due - dt.timedelta(days=3),
             "completed_by": None if is_open else "someone_else"}, [group])


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(path: Path, runs: int, files: Path = OUT / "files") -> dict[str, float]:
    """Milliseconds: p50 and p95 of the query and of the rendered page."""
    from web import create_app
    gf = Govflow(Database(f"sqlite:///{path}"), clock=FrozenClock(NOW))
    app = create_app({"GOVFLOW": gf, "SECRET_KEY": "bench", "TESTING": False,
                      "ATTACHMENTS_DIR": str(files)})
    client = app.test_client()
    session_id = app.extensions["desk"].open_session(REVIEWER, app.permanent_session_lifetime)
    with client.session_transaction() as session:
        session["sid"] = session_id
    with gf.db.read() as conn:
        viewer = load_viewer(conn, REVIEWER)
    query_ms, page_ms = [], []
    for round_ in range(runs + 5):
        started = time.perf_counter()
        with gf.db.read() as conn:
            found = inbox(conn, viewer, InboxQuery(), SlaClock(gf.calendar, gf.now()))
        took = (time.perf_counter() - started) * 1000
        assert found.rows, "the reviewer's inbox is empty"
        started = time.perf_counter()
        response = client.get("/inbox")
        page = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        if round_ >= 5:                       # the first rounds warm caches
            query_ms.append(took)
            page_ms.append(page)
    gf.db.dispose()
    return {"query_p50": statistics.median(query_ms), "query_p95": percentile(query_ms, 95),
            "page_p50": statistics.median(page_ms), "page_p95": percentile(page_ms, 95)}


def _schema_tag() -> str:
    """A short hash of the migrations: a cached database is rebuilt when the schema moves."""
    digest = hashlib.sha256()
    for migration in sorted(MIGRATIONS.glob("versions/*.py")):
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:8]


def database(total: int, open_: int, rebuild: bool, out: Path = OUT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"inbox-{total}-{open_}-{_schema_tag()}.sqlite"
    if rebuild or not path.exists():
        for stale in out.glob(path.name + "*"):
            stale.unlink()
        started = time.perf_counter()
        print(f"building {path.name} ({total:,} tasks, {open_:,} open)...", file=sys.stderr)
        build(path, total, open_)
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govflow bench inbox", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000, dest="open_")
    parser.add_argument("--small", type=int, default=10_000, help="total tasks, small run")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--out", type=Path, default=OUT, help="where databases are cached")
    args = parser.parse_args(argv)
    files = args.out / "files"
    big = measure(database(args.total, args.open_, args.rebuild, args.out), args.runs, files)
    small_open = max(1, args.open_ * args.small // args.total)
    small = measure(database(args.small, small_open, args.rebuild, args.out), args.runs, files)
    ratio = big["query_p95"] / small["query_p95"]
    figures = {"large": big, "small": small, "query_p95_ratio": ratio,
               "page_p95_ratio": big["page_p95"] / small["page_p95"]}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"inbox of {REVIEWER} (busy group) on SQLite, {args.runs} runs each")
        print(f"  {args.total:>9,} tasks ({args.open_:,} open): query p50 "
              f"{big['query_p50']:.2f} ms, p95 {big['query_p95']:.2f} ms; page p50 "
              f"{big['page_p50']:.2f} ms, p95 {big['page_p95']:.2f} ms")
        print(f"  {args.small:>9,} tasks ({small_open:,} open): query p50 "
              f"{small['query_p50']:.2f} ms, p95 {small['query_p95']:.2f} ms; page p50 "
              f"{small['page_p50']:.2f} ms, p95 {small['page_p95']:.2f} ms")
        print(f"  p95 ratio large/small: query {ratio:.2f}, page "
              f"{figures['page_p95_ratio']:.2f}")
    ok = (big["query_p95"] <= 20 and big["page_p95"] <= 50 and ratio <= 2)
    print("targets (query p95 ≤ 20 ms, page p95 ≤ 50 ms, ratio ≤ 2): "
          + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
