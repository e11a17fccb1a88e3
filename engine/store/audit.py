"""The append-only audit trail: one event per change, chained by keyed MAC per case.

Each event's MAC (HMAC-SHA256 under the audit key, engine/store/auditkey.py) covers its content
and the previous event's MAC, and the case row keeps the head of its chain, so an edited,
deleted or inserted event is detected by `verify`, including a cut-off tail; without the
key nobody can recompute a chain after rewriting it. Signed checkpoints
(engine/store/checkpoints.py) anchor the heads, so a whole case deleted or rewritten is found
too, and `verify` re-derives the decisions kept outside the chain (a case's outcome, who
completed a task) from it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from engine.people.directory import SYSTEM
from engine.store.auditkey import AuditKey, current_key
from engine.store.rawsql import RawSQL
from engine.store.schema import audit_checkpoints as checkpoints_table
from engine.store.schema import audit_events, cases, human_tasks

GENESIS = "0" * 64


@dataclass
class PendingEvent:
    at: dt.datetime
    actor: str
    action: str
    task_id: str | None = None
    element_id: str | None = None
    rule: str | None = None
    details: dict[str, Any] | None = None


def _body(prev_hash: str, case_id: int, seq: int, event: PendingEvent) -> bytes:
    return orjson.dumps(
        [prev_hash, case_id, seq, event.at.astimezone(dt.UTC).isoformat(), event.actor,
         event.action, event.task_id, event.element_id, event.rule, event.details or {}],
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str,
    )


def event_hash(prev_hash: str, case_id: int, seq: int, event: PendingEvent,
               key: AuditKey | None = None) -> str:
    return (key or current_key()).mac(_body(prev_hash, case_id, seq, event))


def chain_rows(
    case_id: int, head: str, seq: int, events: list[PendingEvent], key: AuditKey | None = None,
) -> tuple[list[dict[str, Any]], str, int]:
    """Return the rows for `events` after (head, seq), and the new head and seq."""
    rows = []
    key = key or current_key() if events else key
    for event in events:
        seq += 1
        digest = event_hash(head, case_id, seq, event, key)
        rows.append({
            "case_id": case_id, "seq": seq, "at": event.at, "actor": event.actor,
            "action": event.action, "task_id": event.task_id, "element_id": event.element_id,
            "rule": event.rule, "details": event.details or {}, "prev_hash": head, "hash": digest,
        })
        head = digest
    return rows, head, seq


_INSERT_EVENT = (
    "INSERT INTO audit_events (case_id, seq, at, actor, action, task_id, element_id, rule,"
    " details, prev_hash, hash) VALUES (:case_id, :seq, :at, :actor, :action, :task_id,"
    " :element_id, :rule, :details, :prev_hash, :hash)")


def write_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    raw = RawSQL.of(conn)
    raw.run_many(conn, _INSERT_EVENT, [
        {**row, "at": raw.when(row["at"]), "details": raw.doc(row["details"])} for row in rows])


def verify(conn: Connection, key: AuditKey | None = None) -> list[str]:
    """Recompute every chain and what it decides; one line per problem (empty when intact).

    Checkpoints are checked separately (engine/store/checkpoints.py)."""
    key = key or current_key()
    problems: list[str] = []
    heads = {row.id: (row.audit_head, row.audit_seq, row.data) for row in conn.execute(
        select(cases.c.id, cases.c.audit_head, cases.c.audit_seq, cases.c.data))}
    expected: dict[int, tuple[str, int]] = {case_id: (GENESIS, 0) for case_id in heads}
    outcomes: dict[int, Any] = {}
    completed_by: dict[str, str] = {}
    query = select(audit_events).order_by(audit_events.c.case_id, audit_events.c.seq)
    for row in conn.execute(query):
        if row.case_id not in heads and row.case_id not in expected:
            problems.append(f"case {row.case_id}: audit events without their case")
        prev, seq = expected.get(row.case_id, (GENESIS, 0))
        event = PendingEvent(row.at, row.actor, row.action, row.task_id, row.element_id,
                             row.rule, row.details)
        if row.seq != seq + 1:
            problems.append(f"case {row.case_id}: event {seq + 1} is missing (found {row.seq})")
        if row.prev_hash != prev:
            problems.append(f"case {row.case_id} event {row.seq}: does not follow its predecessor")
        body = _body(row.prev_hash, row.case_id, row.seq, event)
        if key.mac(body) != row.hash:
            unkeyed = hashlib.sha256(body).hexdigest() == row.hash
            problems.append(f"case {row.case_id} event {row.seq}: content was altered"
                            + (" (its hash is an unkeyed SHA-256: the chain was recomputed "
                               "without the audit key)" if unkeyed else ""))
        expected[row.case_id] = (row.hash, row.seq)
        _derive(row, outcomes, completed_by)
    for case_id, (head, seq, data) in heads.items():
        if expected[case_id] != (head, seq):
            problems.append(f"case {case_id}: audit trail ends at event {expected[case_id][1]}, "
                            f"the case expects {seq}")
        stored = (data or {}).get("outcome") if isinstance(data, dict) else None
        if not _same(stored, outcomes.get(case_id)):
            problems.append(f"case {case_id}: its outcome {stored!r} is not the one its audit "
                            f"trail records ({outcomes.get(case_id)!r})")
    problems += _check_completions(conn, completed_by)
    return problems


def _derive(row: Any, outcomes: dict[int, Any], completed_by: dict[str, str]) -> None:
    """Follow what an event decides: the case's outcome, who completed a task."""
    details = row.details or {}
    changes = details.get("changes") or {}
    if "outcome" in changes:
        outcomes[row.case_id] = changes["outcome"][1]
    if row.action == "case_completed":
        outcomes[row.case_id] = details.get("outcome")
    if row.action == "task_completed" and row.task_id:
        completed_by[row.task_id] = row.actor
    if row.action == "task_returned" and details.get("archived_as"):
        # the reopened task's finished round lives on under another row id
        completed_by[details["archived_as"]] = completed_by.pop(details.get("reopened"), SYSTEM)


def _same(a: Any, b: Any) -> bool:
    dump = functools.partial(orjson.dumps, option=orjson.OPT_SORT_KEYS, default=str)
    return dump(a) == dump(b)


def _check_completions(conn: Connection, completed_by: dict[str, str]) -> list[str]:
    """A completed task names who the audit trail says completed it (else the system).

    Tasks cancelled with their case (withdrawn, cancelled, interrupted) decided nothing."""
    problems = []
    query = select(human_tasks.c.id, human_tasks.c.case_id, human_tasks.c.completed_by).where(
        human_tasks.c.state == "completed")
    for task in conn.execute(query):
        recorded = completed_by.get(task.id, SYSTEM)
        if (task.completed_by or SYSTEM) != recorded:
            problems.append(f"case {task.case_id} task {task.id}: completed by "
                            f"{task.completed_by!r}, the audit trail records {recorded!r}")
    return problems


def reseal(conn: Connection, now: dt.datetime, actor: str,
           key: AuditKey | None = None) -> dict[int, int]:
    """Re-chain a trail written before the audit key existed (every event an unkeyed
    SHA-256 link) under the key, once; returns how many events each case had.

    Refused, changing nothing, when any event is keyed already or any checkpoint exists
    (a keyed trail is never rewritten), or when a chain is not intact as plain SHA-256
    (a damaged trail is not blessed). Each case's chain then ends with an
    `audit_resealed` event by `actor`, so the reseal is on the record."""
    from engine.errors import EngineError

    key = key or current_key()
    if conn.execute(select(checkpoints_table.c.id).limit(1)).first() is not None:
        raise EngineError("the audit trail is keyed and anchored already; it is never resealed")
    events: dict[int, list[Any]] = {}
    for row in conn.execute(select(audit_events).order_by(audit_events.c.case_id,
                                                          audit_events.c.seq)):
        events.setdefault(row.case_id, []).append(row)
    heads = {row.id: (row.audit_head, row.audit_seq) for row in conn.execute(
        select(cases.c.id, cases.c.audit_head, cases.c.audit_seq))}
    problems = []
    for case_id, rows in events.items():
        prev = GENESIS
        for seq, row in enumerate(rows, start=1):
            body = _body(row.prev_hash, row.case_id, row.seq, _pending(row))
            if key.mac(body) == row.hash:
                raise EngineError("the audit trail is keyed already; it is never resealed")
            if row.seq != seq or row.prev_hash != prev or hashlib.sha256(body).hexdigest() \
                    != row.hash:
                problems.append(f"case {case_id} event {row.seq}")
                break
            prev = row.hash
        if heads.get(case_id) != (prev, len(rows)):
            problems.append(f"case {case_id}: the case does not end its chain")
    if problems:
        raise EngineError("not an intact unkeyed trail, so it is not resealed: "
                          + "; ".join(problems[:20]), problems=problems)
    counted = {}
    for case_id, rows in events.items():
        rechained, head, seq = chain_rows(case_id, GENESIS, 0, [_pending(r) for r in rows], key)
        sealed, head, seq = chain_rows(case_id, head, seq, [PendingEvent(
            now, actor, "audit_resealed", details={"events": len(rows),
                                                   "was": "unkeyed SHA-256"})], key)
        for old, new in zip(rows, rechained, strict=True):
            conn.execute(update(audit_events).where(audit_events.c.id == old.id).values(
                prev_hash=new["prev_hash"], hash=new["hash"]))
        write_events(conn, sealed)
        conn.execute(update(cases).where(cases.c.id == case_id).values(audit_head=head,
                                                                       audit_seq=seq))
        counted[case_id] = len(rows)
    return counted


def _pending(row: Any) -> PendingEvent:
    return PendingEvent(row.at, row.actor, row.action, row.task_id, row.element_id, row.rule,
                        row.details)
