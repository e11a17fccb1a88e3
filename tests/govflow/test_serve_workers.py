"""`govflow serve --workers 2`: two worker processes and a scheduler process of its own,
on a real loopback port; an API read writes nothing to the database."""

from __future__ import annotations

import http.client
import json
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg

from bench.http import Server
from engine.cases.govflow import Govflow
from engine.people import tokens
from govflow.scheduler import run_jobs_once

REQUEST = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil", "data_items": ["姓名"]}


def _get(port: int, path: str, token: str | None = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 200, body[:300]
    return json.loads(body)


@contextmanager
def _writes_seen(url: str) -> Iterator[Callable[[], Any]]:
    """A counter that moves when anyone writes: SQLite's data_version moves when another
    connection commits a change; PostgreSQL gives a transaction an id only when it writes."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as watcher:
            yield lambda: watcher.execute("PRAGMA data_version").fetchone()
        return
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as watcher:
        yield lambda: watcher.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())").fetchone()


def test_two_workers_answer_from_two_processes_and_a_read_writes_nothing(
        gf: Govflow, database_url: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GOVFLOW_NOTIFY_LOG", str(tmp_path / "notify.log"))
    tasks = [gf.start_case("share_request", REQUEST, user="carl").tasks[0] for _ in range(3)]
    gf.claim_task(tasks[0].id, "alice")
    run_jobs_once(gf)  # nothing left for the server's scheduler to write while we watch
    with gf.db.write() as conn:
        token = tokens.create(conn, "alice", "sync", now=gf.now())
    server = Server(database_url, 2, tmp_path, scheduler=True, now=gf.now())
    try:
        commands = server.processes()
        assert sum("scheduler" in c for c in commands.values()) == 1, commands
        # connections open at once; the kernel gives them to whichever worker accepts first,
        # so a fast worker may take a whole round: ask again until both have answered
        workers = {pid for pid, c in commands.items() if " serve " in c} - {server.process.pid}
        pids: set[int] = set()
        with ThreadPoolExecutor(16) as clients:
            for _ in range(20):
                pids |= set(clients.map(lambda _: _get(server.port, "/healthz")["pid"],
                                        range(400)))
                if len(pids) > 1:
                    break
        assert pids == workers and len(pids) == 2, (pids, commands)

        _get(server.port, "/api/v1/tasks", token)  # the token's first use is noted once
        with _writes_seen(database_url) as writes:
            before = writes()
            pages = [_get(server.port, f"/api/v1/tasks?view={view}", token)
                     for view in ("all", "mine", "groups") for _ in range(5)]
            assert writes() == before
        for page in pages:
            assert page["total"] == len(page["tasks"])
        assert {p["total"] for p in pages} == {3, 1, 2}
    finally:
        server.stop()
    assert server.processes() == {}
