"""Outbox claims and the reminder sweep on SQLite and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt

from engine import outbox
from engine.clock import SHANGHAI
from engine.outbox import RetryPolicy
from engine.services import Govflow

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
