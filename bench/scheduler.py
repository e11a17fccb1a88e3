"""`govflow bench scheduler`: schedulers under load, killed, and draining a backlog.

Every scenario runs real `govflow scheduler` processes on a fresh database (a SQLite
file, or PostgreSQL with --postgres or --database-url), with legal time set by
GOVFLOW_NOW, e-mail going to an SMTP server on loopback that counts what it receives,
and proves its claims by counting rows and receipts afterwards:

two    two schedulers at once, with N due timers (share requests past the Hubei answer
       limit) and N/4 due reminder rungs: every timer fires once, every rung is sent
       once, every message is delivered once (reminders by e-mail, notices in the bell).
kill   one scheduler killed with SIGKILL in the middle of the backlog and started again
       (legal time six minutes on, past the dead dispatcher's leases): every timer fires
       once and no message is lost; one the dead process sent but did not mark is sent
       again, counted as a duplicate.
drain  one scheduler drains N due timers; its rate against the engine's case rate
       (start_case + complete_task on the same database, in the same run), and the
       longest wait for progress, which must stay under the timer job's interval + 1 s.
load   `govflow serve` (two workers) taking N share requests from 8 API clients, killed
       with SIGKILL half-way: every case it answered for is stored and whole (audit
       verify passes; tasks, timers, reminders, status and data match the saved state),
       and nothing else is stored but the cases whose answer the kill overtook.
send   one dispatcher in the benchmark's process sends the messages of N + N/4 such
       cases (bell and e-mail): messages/s.

Run with --timers 10000 for the figures in the README; the tests run it with small N.
Needs the test extras (aiosmtpd): `make install-test`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from engine.cases.govflow import Govflow
from engine.cases.runtime import case_data, ready_human_tasks, waiting_timers
from engine.rules.profile import load_profile
from engine.store.db import Database
from engine.store.schema import audit_events, cases, human_tasks, notifications, outbox, reminders
from engine.store.schema import timers as timer_rows
from engine.time.clock import SHANGHAI, FrozenClock

# Share requests received on Friday 2026-11-20 pass the Hubei answer limit (S5) at
# 2026-12-05 00:00; those received on Monday 11-23 have their due_soon rung on 12-04 09:00.
TIMER_CASES_AT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
REMINDER_CASES_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
SWEEP_AT = dt.datetime(2026, 12, 5, 0, 30, tzinfo=SHANGHAI)
REQUEST = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil", "data_items": ["姓名"]}
TIMER_INTERVAL = 30  # seconds between runs of the timer job (govflow/scheduler.py)
GOVFLOW = [sys.executable, "-c", "from govflow.cli import main; main()"]


# -- places: databases, the SMTP server, scheduler processes ---------------------------------

class Databases:
    """Fresh databases: SQLite files in a folder, or databases created on a PostgreSQL server."""

    def __init__(self, folder: Path, server_url: str | None) -> None:
        self.folder, self.server_url, self.made = folder, server_url, 0

    def fresh(self) -> str:
        self.made += 1
        if self.server_url is None:
            return f"sqlite:///{self.folder / f'bench{self.made}.sqlite'}"
        name = f"govflow_bench_{os.getpid()}_{self.made}"
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.server_url.rsplit("/", 1)[0] + "/" + name


class Mailbox:
    """aiosmtpd's handler: keeps each received message's Message-ID and recipient."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = BytesHeaderParser().parsebytes(envelope.content)  # the headers are enough
        self.received.append((str(mail["Message-ID"]), str(mail["To"])))
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    from aiosmtpd.controller import Controller

    from bench.postgres import _free_port

    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


@dataclass
class Setting:
    folder: Path
    url: str
    smtp_url: str

    def env(self, now: dt.datetime) -> dict[str, str]:
        return {**os.environ, "GOVFLOW_DATABASE_URL": self.url, "GOVFLOW_NOW": now.isoformat(),
                "GOVFLOW_PROFILE": "hubei", "GOVFLOW_SMTP_URL": self.smtp_url,
                "GOVFLOW_INSTANCE": str(self.folder), "GOVFLOW_LOG_LEVEL": "WARNING"}

    def scheduler(self, now: dt.datetime, name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen([*GOVFLOW, "scheduler"], env=self.env(now), stdout=log,
                                   stderr=subprocess.STDOUT)
        CHILDREN.append(process)
        return process


#: Every process the benchmark started; those still running when it ends are killed.
CHILDREN: list[subprocess.Popen[Any]] = []


def _kill_children() -> None:
    for process in CHILDREN:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a scheduler that has nothing left to do (Ctrl+C, then the hard way)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(done: Callable[[], bool], timeout: float, what: str, every: float = 0.02) -> None:
    """Ask `done` every `every` seconds: often enough to catch a small backlog half-way on a
    fast machine; a question that counts a large table is asked less often (its queries
    would otherwise take a share of the machine from the schedulers measured)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# -- the cases -------------------------------------------------------------------------------

def open_govflow(url: str, now: dt.datetime = TIMER_CASES_AT) -> Govflow:
    return Govflow(Database(url), clock=FrozenClock(now), profile=load_profile("hubei"))


def prepare(url: str) -> Govflow:
    """The schema, the shipped workflows, the demo directory (with e-mail addresses for
    the health department, which gets the reminders) and catalog."""
    from govflow.demo import seed_catalog, seed_directory

    gf = open_govflow(url)
    gf.init_schema()
    gf.deploy_directory()
    seed_directory(gf, passwords=False)
    seed_catalog(gf)
    gf.set_contact("amy", "amy@health.example.gov.cn")
    return gf


def start_cases(gf: Govflow, count: int, at: dt.datetime) -> list[int]:
    gf.clock.set(at)  # type: ignore[attr-defined]
    return [gf.start_case("share_request", REQUEST, user="carl").id for _ in range(count)]


def case_rate(gf: Govflow, count: int) -> float:
    """The engine's case rate on this database: start_case + complete_task, committed."""
    gf.clock.set(TIMER_CASES_AT)  # type: ignore[attr-defined]
    started = time.perf_counter()
    for _ in range(count):
        case = gf.start_case("share_request", REQUEST, user="carl")
        done = gf.complete_task(case.tasks[0].id, "alice", {"decision": "approve"})
        assert done.status == "completed"
    return count / (time.perf_counter() - started)


def due_timers(gf: Govflow, now: dt.datetime = SWEEP_AT) -> int:
    with gf.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(timer_rows).where(
            timer_rows.c.fire_at <= now, timer_rows.c.provisional.is_(False))).scalar_one())


def work_left(gf: Govflow, now: dt.datetime) -> bool:
    """Timers or reminder rungs due, or messages not yet sent."""
    with gf.db.read() as conn:
        rungs = conn.execute(select(func.count()).select_from(reminders).where(
            reminders.c.state == "pending", reminders.c.fire_at <= now)).scalar_one()
        unsent = conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.status.in_(("pending", "sending")))).scalar_one()
    return bool(due_timers(gf, now) or rungs or unsent)


# -- the proofs ------------------------------------------------------------------------------

@dataclass
class Proof:
    """What the counts show; `problems` lists every broken promise."""

    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def expect(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)


def prove_once(gf: Govflow, timer_cases: list[int], reminder_cases: list[int],
               mailbox: Mailbox, now: dt.datetime) -> Proof:
    """Each timer fired once, each due rung sent once, each message delivered once."""
    from notifications import recipients

    proof = Proof()
    with gf.db.read() as conn:
        fired = Counter(conn.execute(select(audit_events.c.case_id).where(
            audit_events.c.action == "timer_fired")).scalars())
        rungs = Counter(conn.execute(select(reminders.c.case_id, reminders.c.state).where(
            reminders.c.fire_at <= now)).all())
        messages = conn.execute(select(outbox)).all()
        bell = Counter(conn.execute(select(notifications.c.outbox_id,
                                           notifications.c.username)).all())
        people = {r: recipients.people(conn, r) for r in {m.recipient for m in messages}}
    proof.expect(due_timers(gf, now) == 0, "timers are still due")
    proof.expect(set(fired) == set(timer_cases), "the cases whose timer fired are not the "
                 f"ones due ({len(set(fired) ^ set(timer_cases))} differ)")
    twice = [case_id for case_id, n in fired.items() if n > 1]
    proof.expect(not twice, f"timers fired more than once in cases {twice[:10]}")
    proof.expect(not any(state == "pending" for (_, state) in rungs), "due rungs still pending")
    sent_rungs = sum(n for (_, state), n in rungs.items() if state == "sent")
    reminded = {case_id for (case_id, state) in rungs if state == "sent"}
    proof.expect(set(reminder_cases) <= reminded, "a due_soon rung was never sent")
    keys = Counter(m.idempotency_key for m in messages)
    doubled = [key for key, n in keys.items() if n > 1]
    proof.expect(not doubled, f"messages queued twice: {doubled[:5]}")
    unsent = [m.id for m in messages if m.status != "sent"]
    proof.expect(not unsent, f"messages not sent: {unsent[:10]}")
    mails = Counter(mailbox.received)
    # a message taken over from a dead dispatcher counts as a possible duplicate: the dead
    # one may or may not have sent it before it died, so it arrives once or twice
    most_mails, duplicates = Counter(), 0
    for m in messages:
        if m.channel == "email":
            message_id = f"<{hashlib.sha256(m.idempotency_key.encode()).hexdigest()[:32]}@govflow>"
            for person in people[m.recipient]:
                if person.email:
                    most_mails[(message_id, person.email)] = 1 + m.duplicates
        duplicates += m.duplicates
    beyond = sum(max(n - most_mails[key], 0) for key, n in mails.items())
    proof.expect(set(mails) == set(most_mails) and not beyond,
                 "the mailbox does not hold each e-mail once (twice at most where counted as a "
                 f"possible duplicate): {len(set(mails) ^ set(most_mails))} differ, "
                 f"{beyond} beyond the count")
    in_app = {(m.id, p.username) for m in messages if m.channel == "in_app"
              for p in people[m.recipient] if p.username}
    proof.expect(set(bell) == in_app and max(bell.values(), default=1) == 1,
                 "the bell does not hold each in-app message once per person")
    audit = gf.verify_audit()
    proof.expect(not audit, f"audit verify: {audit[:3]}")
    proof.figures = {"timers fired": sum(fired.values()), "rungs sent": sent_rungs,
                     "e-mails received": sum(mails.values()), "in-app notices": len(bell),
                     "messages": len(messages), "duplicates (counted)": duplicates}
    return proof


def case_problems(gf: Govflow) -> list[str]:
    """Every case against its saved state: open tasks, timers, pending rungs, status, data."""
    problems = []
    with gf.db.read() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.status, cases.c.data)).all()
        open_tasks: dict[int, set[str]] = {}
        for task_id, case_id in conn.execute(select(human_tasks.c.id, human_tasks.c.case_id)
                                             .where(human_tasks.c.state == "open")):
            open_tasks.setdefault(case_id, set()).add(task_id)
        waits: dict[int, set[str]] = {}
        for task_id, case_id in conn.execute(select(timer_rows.c.task_id, timer_rows.c.case_id)):
            waits.setdefault(case_id, set()).add(task_id)
        laddered = set(conn.execute(select(reminders.c.task_id).where(
            reminders.c.state == "pending")).scalars())
        for row in rows:
            workflow, _ = gf.store.read_workflow(conn, row.id, gf.definitions)
            ready = set(ready_human_tasks(workflow))
            where = f"case {row.id}: "
            if ready != open_tasks.get(row.id, set()):
                problems.append(where + "its open tasks are not the ready tasks of its state")
            if set(waiting_timers(workflow)) != waits.get(row.id, set()):
                problems.append(where + "its timers are not those its state waits on")
            if not ready <= laddered:
                problems.append(where + "an open task has no pending reminder")
            status = "completed" if workflow.completed else "running"
            if row.status != status:
                problems.append(where + f"status {row.status}, its state says {status}")
            if row.data != case_data(workflow):
                problems.append(where + "its data row is not its state's data")
    return problems


# -- the scenarios ---------------------------------------------------------------------------

def backlog(url: str, timers: int, reminders_too: bool) -> tuple[Govflow, list[int], list[int]]:
    gf = prepare(url)
    timer_cases = start_cases(gf, timers, TIMER_CASES_AT)
    reminder_cases = start_cases(gf, timers // 4, REMINDER_CASES_AT) if reminders_too else []
    return gf, timer_cases, reminder_cases


def two_schedulers(databases: Databases, folder: Path, timers: int) -> Proof:
    gf, timer_cases, reminder_cases = backlog(databases.fresh(), timers, reminders_too=True)
    with smtp_server() as (smtp_url, mailbox):
        setting = Setting(folder, str(gf.db.url), smtp_url)
        started = time.monotonic()
        both = [setting.scheduler(SWEEP_AT, f"two-{n}") for n in (1, 2)]
        wait_for(lambda: not work_left(gf, SWEEP_AT), 3600, "two schedulers", every=0.5)
        seconds = time.monotonic() - started
        for process in both:
            stop(process)
        proof = prove_once(gf, timer_cases, reminder_cases, mailbox, SWEEP_AT)
    proof.figures["seconds"] = round(seconds, 1)
    proof.figures["messages/s"] = round(proof.figures["messages"] / seconds, 1)
    gf.db.dispose()
    return proof


def killed_scheduler(databases: Databases, folder: Path, timers: int) -> Proof:
    gf, timer_cases, reminder_cases = backlog(databases.fresh(), timers, reminders_too=True)
    later = SWEEP_AT + dt.timedelta(minutes=6)  # the dead dispatcher's leases have run out
    with smtp_server() as (smtp_url, mailbox):
        setting = Setting(folder, str(gf.db.url), smtp_url)
        first = setting.scheduler(SWEEP_AT, "kill-1")
        wait_for(lambda: due_timers(gf) <= timers * 2 // 3, 3600, "a third of the timers")
        first.kill()  # SIGKILL, in the middle of a batch
        first.wait()
        left = due_timers(gf)
        again = setting.scheduler(later, "kill-2")
        wait_for(lambda: not work_left(gf, later), 3600, "the restarted scheduler",
                 every=0.5)
        stop(again)
        proof = prove_once(gf, timer_cases, reminder_cases, mailbox, later)
    proof.figures["timers left at the kill"] = left
    proof.expect(0 < left < timers, "the kill did not come in the middle of the backlog")
    gf.db.dispose()
    return proof


def drain(databases: Databases, folder: Path, timers: int, rate_cases: int) -> Proof:
    """One scheduler, one backlog: seconds from its start until no timer is due."""
    from notifications.channels import InAppChannel
    from notifications.dispatch import Dispatcher

    gf, timer_cases, _ = backlog(databases.fresh(), timers, reminders_too=False)
    engine_rate = case_rate(gf, rate_cases)
    # The messages the cases' start queued are not part of the backlog: send them first.
    Dispatcher(gf, {"in_app": InAppChannel(gf.db)}).drain(budget=3600)
    with smtp_server() as (smtp_url, _mailbox):
        setting = Setting(folder, str(gf.db.url), smtp_url)
        started = time.monotonic()
        process = setting.scheduler(SWEEP_AT, "drain")
        progress, left = [started], due_timers(gf)
        while left:
            time.sleep(0.1)
            now_left = due_timers(gf)
            if now_left != left:
                progress.append(time.monotonic())
                left = now_left
            if time.monotonic() - progress[-1] > 10 * TIMER_INTERVAL:
                break
        seconds = progress[-1] - started
        stop(process)
    proof = Proof()
    rate = timers / seconds
    longest = max(b - a for a, b in zip(progress, progress[1:], strict=False)) if left == 0 \
        else float("inf")
    proof.expect(left == 0, f"{left} timers were never fired")
    proof.expect(longest <= TIMER_INTERVAL + 1, f"the scheduler waited {longest:.1f} s "
                 "between firings")
    proof.figures = {"timers": timers, "seconds": round(seconds, 1), "timers/s": round(rate, 1),
                     "engine cases/s": round(engine_rate, 1),
                     "ratio": round(rate / engine_rate, 2), "longest wait s": round(longest, 2)}
    with gf.db.read() as conn:
        fired = Counter(conn.execute(select(audit_events.c.case_id).where(
            audit_events.c.action == "timer_fired")).scalars())
    proof.expect(set(fired) == set(timer_cases) and set(fired.values()) == {1},
                 "not every timer fired exactly once")
    gf.db.dispose()
    return proof


def send(databases: Databases, folder: Path, timers: int) -> Proof:
    """One dispatcher, in this process, sends the messages of N share requests past their
    limit and N/4 reminded ones (about eight a case; by bell, and by e-mail to the SMTP
    server on loopback, which runs in this process too): messages/s."""
    from notifications.dispatch import Dispatcher, channels_from_env

    gf, _, _ = backlog(databases.fresh(), timers, reminders_too=True)
    gf.clock.set(SWEEP_AT)  # type: ignore[attr-defined]
    while gf.send_due_reminders()["sent"]:
        pass
    while gf.fire_due_timers(limit=100).fired:
        pass
    with gf.db.read() as conn:
        queued = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    with smtp_server() as (smtp_url, mailbox):
        env = Setting(folder, str(gf.db.url), smtp_url).env(SWEEP_AT)
        dispatcher = Dispatcher(gf, channels_from_env(gf, env))
        started = time.perf_counter()
        result = dispatcher.drain(budget=3600)
        seconds = time.perf_counter() - started
    proof = Proof()
    proof.expect(result.sent == queued and not result.errors,
                 f"{result.sent} of {queued} sent, errors: {result.errors[:3]}")
    proof.expect(not work_left(gf, SWEEP_AT), "messages are left unsent")
    proof.figures = {"messages": queued, "e-mails received": len(mailbox.received),
                     "seconds": round(seconds, 1), "messages/s": round(result.sent / seconds, 1)}
    gf.db.dispose()
    return proof


def _post_cases(port: int, token: str, take: Callable[[], bool], answered: list[int],
                refused: list[str]) -> None:
    """One API client: submit share requests while `take()` grants one, until the server
    stops answering; the id of each case the server answered for goes to `answered`."""
    import http.client
    import json

    body = json.dumps({"process_id": "share_request", "data": REQUEST}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        while take():
            try:
                conn.request("POST", "/api/v1/cases", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if response.status != 201:
                refused.append(f"{response.status} {answer[:200]!r}")
                return
            answered.append(json.loads(answer)["id"])
    finally:
        conn.close()


LOAD_CLIENTS = 8


def killed_load(databases: Databases, folder: Path, count: int) -> Proof:
    """`govflow serve` taking `count` share requests from 8 API clients, killed with SIGKILL
    half-way: every case it answered for is stored and whole, and nothing else is stored
    but the cases whose answer the kill overtook (at most one per client)."""
    import threading

    from bench.http import Server
    from engine.people import tokens

    gf = prepare(databases.fresh())
    with gf.db.write() as conn:
        keys = [tokens.create(conn, "carl", f"load {n}", now=TIMER_CASES_AT)
                for n in range(LOAD_CLIENTS)]
    os.environ["GOVFLOW_PROFILE"] = "hubei"  # the server's, as the scheduler's
    server = Server(str(gf.db.url), 2, folder, now=TIMER_CASES_AT)
    lock, issued = threading.Lock(), [0]

    def take() -> bool:
        with lock:
            issued[0] += 1
            return issued[0] <= count

    answered: list[int] = []
    refused: list[str] = []
    clients = [threading.Thread(target=_post_cases, args=(server.port, key, take, answered,
                                                          refused)) for key in keys]
    started = time.monotonic()
    for client in clients:
        client.start()
    wait_for(lambda: len(answered) >= count // 2 or not any(c.is_alive() for c in clients),
             600, "half of the cases")
    os.killpg(server.process.pid, signal.SIGKILL)  # the server and its workers, mid-request
    seconds = time.monotonic() - started
    server.process.wait()
    for client in clients:
        client.join()
    with gf.db.read() as conn:
        stored = set(conn.execute(select(cases.c.id)).scalars())
        data = dict(conn.execute(select(cases.c.id, cases.c.data)).all())
    proof = Proof()
    proof.expect(not refused, f"the server refused a case before the kill: {refused[:3]}")
    proof.expect(set(answered) <= stored, "a case the server answered for is not stored")
    proof.expect(len(stored - set(answered)) <= LOAD_CLIENTS,
                 f"{len(stored - set(answered))} cases stored that no answer reported")
    proof.expect(0 < len(answered) < count, "the kill did not come in the middle of the load")
    submitted = [case_id for case_id, row in data.items()
                 if {k: (row or {}).get(k) for k in REQUEST} != REQUEST]
    proof.expect(not submitted, f"cases without their request's data: {submitted[:5]}")
    audit = gf.verify_audit()
    proof.expect(not audit, f"audit verify: {audit[:3]}")
    whole = case_problems(gf)
    proof.expect(not whole, f"half-written cases: {whole[:3]}")
    proof.figures = {"answered before the kill": len(answered), "cases stored": len(stored),
                     "cases checked whole": len(stored),
                     "cases/s": round(len(answered) / seconds, 1)}
    gf.db.dispose()
    return proof


# -- the command -----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govflow bench scheduler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=["two", "kill", "drain", "load"],
                        choices=["two", "kill", "drain", "load", "send"])
    parser.add_argument("--timers", type=int, default=10000, help="due timers per backlog")
    parser.add_argument("--cases", type=int, default=1000, help="cases of the killed load")
    parser.add_argument("--runs", type=int, default=3, help="drain and send runs; medians are printed")
    parser.add_argument("--rate-cases", type=int, default=400,
                        help="cases that measure the engine's case rate in each drain run")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL server (as the postgres user)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to create the benchmark's databases on")
    args = parser.parse_args(argv)
    os.environ.setdefault("GOVFLOW_AUDIT_KEY", secrets.token_hex(32))  # shared with children
    failed = False
    with tempfile.TemporaryDirectory(prefix="govflow-bench-") as name, \
            contextlib.ExitStack() as stack:
        folder = Path(name)
        os.environ["GOVFLOW_INSTANCE"] = str(folder)
        server_url = args.database_url
        if args.postgres:
            from bench.postgres import PostgresServer

            server = PostgresServer()
            server.start()
            stack.callback(server.stop)
            server_url = server.url()
        stack.callback(_kill_children)  # before the server stops
        databases = Databases(folder, server_url)
        backend = "PostgreSQL" if server_url else "SQLite"
        for scenario in args.scenarios:
            if scenario == "drain":
                print(f"drain on {backend}: {args.timers} due timers, {args.runs} runs",
                      flush=True)
                proofs = []
                for _ in range(args.runs):
                    proofs.append(drain(databases, folder, args.timers, args.rate_cases))
                    print("  " + _figures(proofs[-1]), flush=True)
                ratios = [p.figures["ratio"] for p in proofs]
                print(f"  median ratio timers/s / engine cases/s: {statistics.median(ratios):.2f}"
                      "   (target >= 0.5)")
            elif scenario == "send":
                print(f"send on {backend}: the messages of {args.timers + args.timers // 4} "
                      f"cases, {args.runs} runs", flush=True)
                proofs = []
                for _ in range(args.runs):
                    proofs.append(send(databases, folder, args.timers))
                    print("  " + _figures(proofs[-1]), flush=True)
                rates = [p.figures["messages/s"] for p in proofs]
                print(f"  median messages/s: {statistics.median(rates):.1f}")
            else:
                run = {"two": lambda: two_schedulers(databases, folder, args.timers),
                       "kill": lambda: killed_scheduler(databases, folder, args.timers),
                       "load": lambda: killed_load(databases, folder, args.cases)}[scenario]
                proofs = [run()]
                print(f"{scenario} on {backend}: " + _figures(proofs[0]), flush=True)
            for proof in proofs:
                for problem in proof.problems:
                    print(f"  FAILED: {problem}")
                failed |= bool(proof.problems)
    return 1 if failed else 0


def _figures(proof: Proof) -> str:
    return ", ".join(f"{k} {v}" for k, v in proof.figures.items()) + (
        "" if proof.problems else "  -- holds")


if __name__ == "__main__":
    raise SystemExit(main())
