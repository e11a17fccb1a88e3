"""The outbox: messages written with the change that causes them, then delivered once.

The engine only writes rows here (`enqueue`), in the transaction of the change. The
dispatcher in `notifications/` claims due rows with a lease, sends them and marks
them sent; a failure schedules the next attempt with exponential backoff, and after
`max_attempts` failures the row is dead-lettered until an administrator resends it.

A claim is a conditional UPDATE (status and lease checked in the WHERE clause), so
several dispatchers on SQLite or PostgreSQL never send one row at the same time; on
PostgreSQL the candidates are read FOR UPDATE SKIP LOCKED, so concurrent claims take
disjoint rows. A
row left in `sending` with an expired lease belonged to a dispatcher that died while
sending: it is claimed again *in doubt* (the first copy may have arrived), and a
channel that cannot recognise the resend by its idempotency key counts a duplicate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from engine.errors import NotFound
from engine.store.rawsql import RawSQL
from engine.store.schema import outbox

STATUSES = ("pending", "sending", "sent", "dead")
MAX_DELAY = dt.timedelta(hours=6)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    created_at: dt.datetime
    case_id: int | None
    task_id: str | None
    kind: str
    recipient: str
    channel: str
    payload: dict[str, Any]
    idempotency_key: str
    rung: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    sent_at: dt.datetime | None
    duplicates: int
    in_doubt: bool = False  # claimed again after a dispatcher died while sending it


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: dt.timedelta = dt.timedelta(minutes=1)
    lease: dt.timedelta = dt.timedelta(minutes=5)

    def delay(self, attempts: int) -> dt.timedelta:
        """1, 2, 4, 8 ... minutes after the attempts so far, at most six hours."""
        return min(self.base_delay * (2 ** max(attempts - 1, 0)), MAX_DELAY)


def enqueue(conn: Connection, *, now: dt.datetime, kind: str, recipient: str, channel: str,
            payload: dict[str, Any], case_id: int | None = None, task_id: str | None = None,
            rung: str | None = None, key: str | None = None) -> bool:
    """Write one message; a message whose key is already queued is not written twice (even
    by a transaction not yet committed: the second waits for the first, then writes nothing).
    Every step queues a few of these, so the statement runs on the raw cursor."""
    raw = RawSQL.of(conn)
    return raw.run(conn, _ENQUEUE, {
        "created_at": raw.when(now), "case_id": case_id, "task_id": task_id, "kind": kind,
        "recipient": recipient, "channel": channel, "payload": raw.doc(payload), "rung": rung,
        "key": key or f"{kind}:{uuid.uuid4().hex}", "next_attempt_at": raw.when(now)}) == 1


_ENQUEUE = (
    "INSERT INTO outbox (created_at, case_id, task_id, kind, recipient, channel, payload, rung,"
    " idempotency_key, status, attempts, next_attempt_at, duplicates) VALUES (:created_at,"
    " :case_id, :task_id, :kind, :recipient, :channel, :payload, :rung, :key, 'pending', 0,"
    " :next_attempt_at, 0) ON CONFLICT (idempotency_key) DO NOTHING")


def _insert_new(conn: Connection) -> Any:
    """INSERT that skips a row whose key is queued already, even by a transaction not yet
    committed (two schedulers meeting the same need at once): the second waits for the
    first and then writes nothing."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])


def enqueue_many(conn: Connection, messages: list[dict[str, Any]], now: dt.datetime) -> int:
    """Write many messages (each with a `key`) in one statement; skip keys already queued."""
    keys = [m["key"] for m in messages]
    have: set[str] = set()
    for start in range(0, len(keys), 500):
        have |= set(conn.execute(select(outbox.c.idempotency_key).where(
            outbox.c.idempotency_key.in_(keys[start:start + 500]))).scalars())
    rows, seen = [], set()
    for m in messages:
        if m["key"] in have or m["key"] in seen:
            continue
        seen.add(m["key"])
        rows.append({"created_at": now, "case_id": m.get("case_id"), "task_id": m.get("task_id"),
                     "kind": m["kind"], "recipient": m["recipient"], "channel": m["channel"],
                     "payload": m["payload"], "rung": m.get("rung"), "idempotency_key": m["key"],
                     "status": "pending", "attempts": 0, "next_attempt_at": now, "duplicates": 0})
    if not rows:
        return 0
    return len(conn.execute(_insert_new(conn).returning(outbox.c.id), rows).all())


def _message(row: Any, in_doubt: bool = False) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, created_at=row.created_at, case_id=row.case_id, task_id=row.task_id,
        kind=row.kind, recipient=row.recipient, channel=row.channel, payload=row.payload or {},
        idempotency_key=row.idempotency_key or f"outbox:{row.id}", rung=row.rung,
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, sent_at=row.sent_at, duplicates=row.duplicates,
        in_doubt=in_doubt)


def _due(now: dt.datetime) -> Any:
    waiting = and_(outbox.c.status == "pending",
                   or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
    abandoned = and_(outbox.c.status == "sending", outbox.c.lease_until < now)
    return or_(waiting, abandoned)


def claim(conn: Connection, now: dt.datetime, owner: str, policy: RetryPolicy,
          limit: int = 100) -> list[OutboxMessage]:
    """Take up to `limit` due messages for `owner`, each under a lease. Commit before sending."""
    # PostgreSQL locks the candidates and skips those another claim holds right now, so
    # dispatchers take disjoint batches instead of waiting for each other's commit. Held
    # (or, on SQLite, under the write lock) they cannot change before the UPDATE below,
    # which still checks that each is due; one statement takes the whole batch.
    was = dict(conn.execute(select(outbox.c.id, outbox.c.status).where(_due(now))
                            .order_by(outbox.c.id).limit(limit)
                            .with_for_update(skip_locked=True)).all())
    if not was:
        return []
    taken = conn.execute(update(outbox).where(outbox.c.id.in_(was), _due(now)).values(
        status="sending", lease_owner=owner, lease_until=now + policy.lease,
        attempts=outbox.c.attempts + 1).returning(*outbox.c)).all()
    return sorted((_message(row, in_doubt=was[row.id] == "sending") for row in taken),
                  key=lambda message: message.id)


def mark_sent(conn: Connection, message: OutboxMessage, owner: str, now: dt.datetime, *,
              duplicate: bool) -> bool:
    """Record a delivery; False if the lease was lost meanwhile (another dispatcher has it)."""
    return mark_all_sent(conn, [message.id], owner, now, duplicate=duplicate) == 1


def mark_all_sent(conn: Connection, ids: list[int], owner: str, now: dt.datetime, *,
                  duplicate: bool) -> int:
    """Record the delivery of many messages in one statement; returns how many were still
    held by `owner` (the others' leases were lost meanwhile)."""
    if not ids:
        return 0
    return conn.execute(update(outbox).where(
        outbox.c.id.in_(ids), outbox.c.lease_owner == owner, outbox.c.status == "sending",
    ).values(status="sent", sent_at=now, last_error=None, lease_owner=None, lease_until=None,
             duplicates=outbox.c.duplicates + (1 if duplicate else 0))).rowcount


def mark_failed(conn: Connection, message: OutboxMessage, owner: str, now: dt.datetime,
                error: str, policy: RetryPolicy) -> str:
    """Schedule the next attempt, or dead-letter the message; returns the new status."""
    dead = message.attempts >= policy.max_attempts
    status = "dead" if dead else "pending"
    conn.execute(update(outbox).where(
        outbox.c.id == message.id, outbox.c.lease_owner == owner, outbox.c.status == "sending",
    ).values(status=status, last_error=error[:2000], lease_owner=None, lease_until=None,
             next_attempt_at=None if dead else now + policy.delay(message.attempts)))
    return status


def resend(conn: Connection, message_id: int, now: dt.datetime) -> OutboxMessage:
    """Put a dead (or sent) message back in the queue with fresh attempts."""
    changed = conn.execute(update(outbox).where(
        outbox.c.id == message_id, outbox.c.status.in_(("dead", "sent"))).values(
        status="pending", attempts=0, next_attempt_at=now, lease_owner=None,
        lease_until=None)).rowcount
    if changed != 1:
        raise NotFound(f"outbox message {message_id} does not exist or is still queued")
    return _message(conn.execute(select(outbox).where(outbox.c.id == message_id)).one())


def listing(conn: Connection, status: str | None = None, limit: int = 200,
            case_id: int | None = None) -> list[OutboxMessage]:
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    if case_id is not None:
        query = query.where(outbox.c.case_id == case_id)
    return [_message(row) for row in conn.execute(query)]


def counts(conn: Connection) -> dict[str, int]:
    found = {status: n for status, n in conn.execute(
        select(outbox.c.status, func.count()).group_by(outbox.c.status))}
    return {status: found.get(status, 0) for status in STATUSES}
