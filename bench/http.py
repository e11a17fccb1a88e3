"""`govflow bench http`: the JSON API under load, from real server processes on loopback.

For each database (a SQLite file; PostgreSQL: a throwaway server started as the `postgres`
user, or the one --database names) the benchmark sets up share requests and users with
API tokens, starts `govflow serve --workers N --no-scheduler` on a free loopback port, and
in each run:

1. completes C review tasks in this process with `complete_task` on the same database:
   the engine's rate, the reference the HTTP rate is divided by;
2. has 8 API clients (processes of their own, one user and token each) claim and complete
   C other review tasks through /api/v1: completions/s and p50/p95/p99 of the complete
   calls and of the claims;
3. has 8 API clients GET /api/v1/tasks (my tasks; each holds a page of claimed tasks) R
   times each: p50/p95/p99.

Every answer but a 2xx is an error. The server's CPU time per request is read from /proc.
Repeated --runs times; the medians are printed, with each run's ratio HTTP / in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from engine.cases.govflow import WORKFLOWS, Govflow
from engine.people import directory, tokens
from engine.rules import resources
from engine.store.auditkey import key_file
from engine.store.db import Database
from engine.time.clock import SHANGHAI, FrozenClock
from govflow.server import scheduler_command

from .engine import DATASET, REQUEST

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
CLIENTS = 8
APPROVE = json.dumps({"data": {"decision": "approve"}}).encode()
TARGETS = {"ratio": 0.5, "complete_p99_ms": 250.0, "get_p95_ms": 50.0}


# -- the database ----------------------------------------------------------------------------

def prepare(url: str, held: int) -> tuple[Govflow, list[str], list[str]]:
    """Deploy share_request, add a provider department with 2 x CLIENTS users, and give
    each of the first CLIENTS (the readers) `held` claimed tasks. Returns the engine and
    the tokens of the workers and of the readers."""
    gf = Govflow(Database(url), clock=FrozenClock(NOW))
    gf.init_schema()
    gf.deploy((WORKFLOWS / "share_request.bpmn").read_bytes(), "share_request.bpmn")
    workers = [f"worker{i}" for i in range(CLIENTS)]
    readers = [f"reader{i}" for i in range(CLIENTS)]
    with gf.db.write() as conn:
        directory.add_group(conn, "dept_bench", "Bench provider")
        directory.add_group(conn, "dept_requester", "Bench requester")
        for name in ["reviewer", *workers, *readers]:
            directory.add_user(conn, name, name.title(), password=None,
                               groups_=["dept_bench"], now=NOW)
        directory.add_user(conn, "requester", "Requester", password=None,
                           groups_=["dept_requester"], now=NOW)
        resources.save(conn, [("bench", DATASET)], by="bench", now=NOW)
        issued = {name: tokens.create(conn, name, "bench", now=NOW)
                  for name in [*workers, *readers]}
    for reader in readers:
        for task_id in review_tasks(gf, held):
            gf.claim_task(task_id, reader)
    return gf, [issued[w] for w in workers], [issued[r] for r in readers]


def review_tasks(gf: Govflow, cases: int) -> list[str]:
    """Start `cases` share requests; return their open provider reviews."""
    return [gf.start_case("share_request", REQUEST, user="requester").tasks[0].id
            for _ in range(cases)]


def in_process_rate(gf: Govflow, cases: int) -> float:
    """complete_task per second in this process (started cases are in its cache)."""
    task_ids = review_tasks(gf, cases)
    started = time.perf_counter()
    for task_id in task_ids:
        assert gf.complete_task(task_id, "reviewer", {"decision": "approve"}).status \
            == "completed"
    return cases / (time.perf_counter() - started)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    from .postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench_http"'))
        admin.dispose()
        yield server.url("bench_http")
    finally:
        server.stop()


# -- the server ------------------------------------------------------------------------------

class Server:
    """`govflow serve` in a process group of its own, on a free loopback port, acting as
    of `now`, with this process's audit key."""

    def __init__(self, url: str, workers: int, folder: Path, *, scheduler: bool = False,
                 now: dt.datetime = NOW) -> None:
        self.port = _free_port()
        self.log = folder / f"server-{self.port}.log"
        env = {**os.environ, "GOVFLOW_DATABASE_URL": url,
               "GOVFLOW_NOW": now.isoformat(), "GOVFLOW_INSTANCE": str(folder),
               "GOVFLOW_SECRET_KEY": "bench-" + secrets.token_hex(16),
               "GOVFLOW_ATTACHMENTS_DIR": str(folder / "attachments")}
        if not os.environ.get("GOVFLOW_AUDIT_KEY"):
            env["GOVFLOW_AUDIT_KEY_FILE"] = str(key_file().resolve())
        command = [*scheduler_command()[:-1], "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers),
                   *([] if scheduler else ["--no-scheduler"])]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            with contextlib.suppress(OSError), contextlib.closing(conn):
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"govflow serve did not get ready:\n{self.log.read_text()[-2000:]}")

    def _group(self) -> Iterator[tuple[Path, list[str]]]:
        """Each process of the server's group: its /proc folder and its stat fields."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # the process group
                    yield stat.parent, fields

    def cpu_seconds(self) -> float:
        """User + system CPU of every process of the server's group (Linux /proc)."""
        ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in self._group())
        return ticks / os.sysconf("SC_CLK_TCK")

    def processes(self) -> dict[int, str]:
        """Pid -> command line of every process of the server's group."""
        return {int(folder.name): (folder / "cmdline").read_bytes().replace(b"\0", b" ")
                .decode() for folder, _ in self._group()}

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the clients (each in a process of its own) ----------------------------------------------

def _call(conn: http.client.HTTPConnection, method: str, path: str, token: str,
          body: bytes | None = None) -> int:
    try:
        conn.request(method, path, body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0


def _client(job: tuple[str, int, str, list[str], int, float]) -> dict[str, Any]:
    """Claim and complete each task (or GET my tasks `gets` times), from `start_at` on."""
    kind, port, token, task_ids, gets, start_at = job
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    seconds: dict[str, list[float]] = {"claim": [], "complete": [], "get": []}
    errors: list[tuple[str, int]] = []

    def timed(name: str, method: str, path: str, body: bytes | None = None) -> None:
        started = time.perf_counter()
        status = _call(conn, method, path, token, body)
        seconds[name].append(time.perf_counter() - started)
        if not 200 <= status < 300:
            errors.append((name, status))

    time.sleep(max(0.0, start_at - time.monotonic()))
    began = time.monotonic()
    if kind == "complete":
        for task_id in task_ids:
            timed("claim", "POST", f"/api/v1/tasks/{task_id}/claim", b"")
            timed("complete", "POST", f"/api/v1/tasks/{task_id}/complete", APPROVE)
    else:
        for _ in range(gets):
            timed("get", "GET", "/api/v1/tasks")
    conn.close()
    return {"began": began, "ended": time.monotonic(), "seconds": seconds, "errors": errors}


def _load(pool: Any, jobs: list[tuple[str, int, str, list[str], int, float]]
          ) -> tuple[float, dict[str, list[float]], list[tuple[str, int]]]:
    results = pool.map(_client, jobs)
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    seconds: dict[str, list[float]] = {"claim": [], "complete": [], "get": []}
    errors: list[tuple[str, int]] = []
    for result in results:
        for name, values in result["seconds"].items():
            seconds[name] += values
        errors += result["errors"]
    return wall, seconds, errors


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


# -- one database ----------------------------------------------------------------------------

def measure(url: str, pool: Any, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    gf, worker_tokens, reader_tokens = prepare(url, args.held)
    in_process_rate(gf, 20)  # warm up: specs, compiled scripts, calendar
    server = Server(url, args.workers, folder)
    try:
        warm = review_tasks(gf, CLIENTS * 2)  # every server worker parses the spec once
        _load(pool, [("complete", server.port, worker_tokens[i], warm[i::CLIENTS], 0,
                      time.monotonic()) for i in range(CLIENTS)])
        runs = []
        for _ in range(args.runs):
            runs.append(_run(gf, server, pool, worker_tokens, reader_tokens, args))
    finally:
        server.stop()
        gf.db.dispose()
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    return {"runs": runs, **medians, "errors": sum(r["errors"] for r in runs)}


def _run(gf: Govflow, server: Server, pool: Any, worker_tokens: list[str],
         reader_tokens: list[str], args: argparse.Namespace) -> dict[str, float]:
    engine_rate = in_process_rate(gf, args.cases)
    task_ids = review_tasks(gf, args.cases)
    cpu = server.cpu_seconds()
    start_at = time.monotonic() + 0.3
    wall, seconds, errors = _load(pool, [
        ("complete", server.port, worker_tokens[i], task_ids[i::CLIENTS], 0, start_at)
        for i in range(CLIENTS)])
    complete_cpu = server.cpu_seconds() - cpu
    start_at = time.monotonic() + 0.3
    _, read_seconds, read_errors = _load(pool, [
        ("get", server.port, reader_tokens[i], [], args.gets, start_at)
        for i in range(CLIENTS)])
    get_cpu = server.cpu_seconds() - cpu - complete_cpu
    done = len(seconds["complete"]) - sum(1 for name, _ in errors if name == "complete")
    rate = done / wall
    figures = {"in_process_per_s": engine_rate, "http_completions_per_s": rate,
               "ratio": rate / engine_rate, "errors": len(errors) + len(read_errors),
               "server_cpu_ms_per_completion": complete_cpu * 1000 / max(done, 1),
               "server_cpu_ms_per_get": get_cpu * 1000 / len(read_seconds["get"])}
    for name, values in (("complete", seconds["complete"]), ("claim", seconds["claim"]),
                         ("get", read_seconds["get"])):
        for cut, value in percentiles(values).items():
            figures[f"{name}_{cut}_ms"] = value
    return figures


# -- the command -----------------------------------------------------------------------------

@contextlib.contextmanager
def _audit_key() -> Iterator[None]:
    """A throwaway audit key for the bench's database, unless one is configured."""
    if os.environ.get("GOVFLOW_AUDIT_KEY"):
        yield
        return
    os.environ["GOVFLOW_AUDIT_KEY"] = secrets.token_hex(32)
    try:
        yield
    finally:
        del os.environ["GOVFLOW_AUDIT_KEY"]


def report(name: str, figures: dict[str, Any], args: argparse.Namespace) -> str:
    runs = figures["runs"]
    met = {"ratio": figures["ratio"] >= TARGETS["ratio"],
           "p99": figures["complete_p99_ms"] <= TARGETS["complete_p99_ms"],
           "get": figures["get_p95_ms"] <= TARGETS["get_p95_ms"],
           "errors": figures["errors"] == 0}

    def cuts(prefix: str) -> str:
        return " / ".join(f"{figures[f'{prefix}_{c}_ms']:6.1f}" for c in ("p50", "p95", "p99"))

    ratios = ", ".join(f"{r['ratio']:.2f}" for r in runs)

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return "\n".join([
        f"{name}: {args.workers} worker processes, {CLIENTS} clients, {args.cases} completions "
        f"and {CLIENTS * args.gets} GETs per run, {len(runs)} runs (medians)",
        f"  in-process complete_task   : {figures['in_process_per_s']:7.1f} /s",
        f"  HTTP claim + complete      : {figures['http_completions_per_s']:7.1f} completions/s",
        f"  ratio HTTP / in-process    : {figures['ratio']:7.2f}   (target >= 0.5: "
        f"{mark(met['ratio'])})   runs: {ratios}",
        f"  complete p50 / p95 / p99   : {cuts('complete')} ms   (target p99 <= 250: "
        f"{mark(met['p99'])})",
        f"  claim p50 / p95 / p99      : {cuts('claim')} ms",
        f"  GET my tasks p50 / p95 / p99: {cuts('get')} ms  (target p95 <= 50: "
        f"{mark(met['get'])})",
        f"  server CPU per completion  : {figures['server_cpu_ms_per_completion']:7.1f} ms "
        "(claim + complete)",
        f"  server CPU per GET         : {figures['server_cpu_ms_per_get']:7.1f} ms",
        f"  errors                     : {figures['errors']:7.0f}   ({mark(met['errors'])})",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govflow bench http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database", help="an empty PostgreSQL database (URL) to use "
                        "instead of starting a throwaway server")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--cases", type=int, default=240, help="completions per run")
    parser.add_argument("--gets", type=int, default=100, help="GETs per client per run")
    parser.add_argument("--held", type=int, default=20, help="tasks each reader holds")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are printed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    found: dict[str, Any] = {}
    with (multiprocessing.get_context("fork").Pool(CLIENTS) as pool, _audit_key(),
          tempfile.TemporaryDirectory(prefix="govflow-bench-http-") as name):
        folder = Path(name)
        if args.backend in ("sqlite", "both"):
            found["sqlite"] = measure(f"sqlite:///{folder / 'bench.sqlite'}", pool, args,
                                      folder)
        if args.backend in ("postgres", "both"):
            if args.database:
                found["postgres"] = measure(args.database, pool, args, folder)
            else:
                with postgres_database() as url:
                    found["postgres"] = measure(url, pool, args, folder)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print("\n".join(report(name, figures, args) for name, figures in found.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
