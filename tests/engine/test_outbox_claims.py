"""Outbox claims and the reminder sweep on SQLite and a real PostgreSQL, with a second
process that claims rows and dies holding them."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import textwrap

from engine.cases.govflow import Govflow
from engine.notify import outbox
from engine.notify.outbox import RetryPolicy
from engine.store.db import Database
from engine.time.clock import SHANGHAI

POLICY = RetryPolicy(max_attempts=2)
# HEALTH-BIRTH is conditional and provided by dept_health in the demo catalog.
REQUEST = {"dataset_id": "HEALTH-BIRTH", "data_items": ["姓名"], "requester_dept": "dept_civil"}


def test_claims_are_exclusive_and_an_expired_lease_is_claimed_in_doubt(gf: Govflow, clock,
                                                                       backend) -> None:
    with gf.db.write() as conn:
        for n in range(6):
            outbox.enqueue(conn, now=gf.now(), kind="reminder", recipient="user:alice",
                           channel="in_app", key=f"k{n}", payload={})
    with gf.db.write() as conn:
        first = outbox.claim(conn, gf.now(), "one", POLICY, limit=4)
    with gf.db.write() as conn:
        second = outbox.claim(conn, gf.now(), "two", POLICY, limit=10)
    assert len(first) == 4 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    with gf.db.write() as conn:
        assert outbox.mark_sent(conn, second[0], "two", gf.now(), duplicate=False)
        assert not outbox.mark_sent(conn, first[0], "two", gf.now(), duplicate=False)
    clock.advance(minutes=6)  # "one" died: its leases ran out
    with gf.db.write() as conn:
        again = outbox.claim(conn, gf.now(), "three", POLICY, limit=10)
    assert {m.id for m in again} == {m.id for m in first} | {second[1].id}
    assert all(m.in_doubt and m.attempts == 2 for m in again)


def test_the_reminder_sweep_fires_each_rung_once(gf: Govflow, clock, backend) -> None:
    gf.start_case("share_request", REQUEST)
    clock.set(dt.datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI))
    assert gf.send_due_reminders() == {"sent": 1}
    assert gf.send_due_reminders() == {"sent": 0}
    sent = [m for m in gf.outbox_messages() if m.kind == "reminder"]
    assert [(m.rung, m.recipient) for m in sent] == [("due_soon", "group:dept_health")]


# A second process that claims rows and then dies holding them: with its transaction
# still open (`open`), or after committing its claim, a lease (`committed`).
HOLDER = textwrap.dedent("""
    import sys
    from engine.notify import outbox
    from engine.notify import reminders
    from engine.time.clock import parse_moment
    from engine.store.db import Database
    from engine.notify.outbox import RetryPolicy

    db, now, what = Database(sys.argv[1]), parse_moment(sys.argv[2]), sys.argv[3]
    with db.write() as conn:
        if what == "reminders":
            ids = sorted(reminders.take(conn, [r.id for r in reminders.due_rungs(conn, now, 1)],
                                        now))
        else:
            ids = [m.id for m in outbox.claim(conn, now, "holder", RetryPolicy(), limit=2)]
        if what != "outbox-committed":
            print(*ids, flush=True)
            sys.stdin.read()  # hold the rows until killed
    print(*ids, flush=True)
    sys.stdin.read()
""")


class Holder:
    """The holder process; `ids` are the rows it claimed, `die()` kills it with SIGKILL."""

    def __init__(self, url: str, now: dt.datetime, what: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, url, now.isoformat(),
                                         what], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self.ids = [int(n) for n in self.process.stdout.readline().split()]

    def die(self) -> None:
        self.process.kill()
        assert self.process.wait(timeout=30) == -signal.SIGKILL
        self.process.stdin.close()
        self.process.stdout.close()


def impatient(url: str) -> str:
    """The same PostgreSQL database, but a statement waiting 3 s for a row lock fails: a
    sweep that queued behind the holder instead of skipping its rows fails the test."""
    return url if url.startswith("sqlite") else url + "?options=-c%20lock_timeout%3D3000"


def test_a_sweep_dying_mid_claim_leaves_its_reminders_to_the_next(gf: Govflow, clock, backend,
                                                                 database_url: str) -> None:
    tasks = [gf.start_case("share_request", REQUEST).tasks[0].id for _ in range(3)]
    clock.set(dt.datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI))  # every due_soon rung is due
    holder = Holder(database_url, clock.now(), "reminders")
    assert len(holder.ids) == 1
    if backend == "postgres":  # the others are swept while the holder keeps its row
        other = Govflow(Database(impatient(database_url)), clock=clock)
        assert other.send_due_reminders() == {"sent": 2}
        other.db.dispose()
    holder.die()  # on SQLite it held the whole database: nobody could sweep meanwhile
    assert gf.send_due_reminders() == {"sent": 1 if backend == "postgres" else 3}
    assert gf.send_due_reminders() == {"sent": 0}
    sent = [m for m in gf.outbox_messages() if m.kind == "reminder"]
    assert sorted(m.task_id for m in sent) == sorted(tasks)  # each rung once


def test_a_dispatcher_dying_mid_claim_or_with_a_lease_loses_nothing(gf: Govflow, clock, backend,
                                                                   database_url: str) -> None:
    with gf.db.write() as conn:
        for n in range(6):
            outbox.enqueue(conn, now=gf.now(), kind="reminder", recipient="user:alice",
                           channel="in_app", key=f"k{n}", payload={})
    holder = Holder(database_url, clock.now(), "outbox-open")
    claimed: list[outbox.OutboxMessage] = []
    if backend == "postgres":
        other = Govflow(Database(impatient(database_url)), clock=clock)
        with other.db.write() as conn:
            claimed += outbox.claim(conn, other.now(), "other", POLICY, limit=10)
        other.db.dispose()
        assert len(claimed) == 4 and not {m.id for m in claimed} & set(holder.ids)
    holder.die()  # its claim was never committed: the rows are plainly due again
    with gf.db.write() as conn:
        claimed += outbox.claim(conn, gf.now(), "other", POLICY, limit=10)
    assert sorted(m.id for m in claimed) == list(range(1, 7))
    assert not any(m.in_doubt for m in claimed)

    with gf.db.write() as conn:
        for message in claimed[:4]:
            outbox.mark_sent(conn, message, "other", gf.now(), duplicate=False)
    clock.advance(minutes=6)  # the two left in `sending` are in doubt now; the lease ran out
    holder = Holder(database_url, clock.now(), "outbox-committed")
    assert sorted(holder.ids) == sorted(m.id for m in claimed[4:])
    holder.die()  # died holding a committed lease
    with gf.db.write() as conn:
        assert outbox.claim(conn, gf.now(), "last", POLICY, limit=10) == []  # lease runs
    clock.advance(minutes=6)
    with gf.db.write() as conn:
        taken_over = outbox.claim(conn, gf.now(), "last", POLICY, limit=10)
    assert sorted(m.id for m in taken_over) == sorted(holder.ids)
    assert all(m.in_doubt and m.attempts == 3 for m in taken_over)


def test_a_message_about_a_case_is_queued_while_a_scheduler_holds_the_case(
        gf: Govflow, database_url: str) -> None:
    """The timer sweep's case lock leaves the case's foreign keys usable: a reminder sweep
    queueing a message about that case does not wait for it (waiting there, while holding
    the reminder rows the timer's step cancels, was a deadlock on PostgreSQL)."""
    from engine.store.db import claim_case

    case_id = gf.start_case("share_request", REQUEST).id
    # the sweep's transaction (on SQLite a deferred one, which leaves the writer alone)
    with gf.db.engine.connect() as holder, holder.begin():
        assert claim_case(holder, case_id)
        other = Govflow(Database(impatient(database_url)), clock=gf.clock)
        with other.db.write() as conn:
            assert outbox.enqueue(conn, now=other.now(), kind="reminder", recipient="user:alice",
                                  channel="in_app", case_id=case_id, payload={}, key="about")
        other.db.dispose()


def test_two_transactions_queueing_one_key_at_once_write_it_once(gf: Govflow) -> None:
    """Two workers meeting the same need at once (the calendar-gap warning, say): the
    second waits for the first's commit and then writes nothing."""
    import threading

    def queue(conn) -> bool:  # type: ignore[no-untyped-def]
        return outbox.enqueue(conn, now=gf.now(), kind="calendar_year_missing",
                              recipient="administrators", channel="in_app", payload={},
                              key="calendar_year_missing:2026-11-20:2027")

    second: list[bool] = []
    with gf.db.engine.connect() as first, first.begin():
        assert queue(first)
        thread = threading.Thread(target=lambda: second.append(_queue_in(gf, queue)))
        thread.start()
        thread.join(timeout=1)  # on PostgreSQL it waits on the uncommitted key
    thread.join(timeout=30)
    assert second == [False]
    assert [m.kind for m in gf.outbox_messages()] == ["calendar_year_missing"]


def _queue_in(gf: Govflow, queue) -> bool:  # type: ignore[no-untyped-def]
    with gf.db.write() as conn:
        return queue(conn)
