"""The append-only audit trail: one event per change, chained by hash per case.

Each event's hash covers its content and the previous event's hash, and the case row
keeps the head of its chain, so an edited, deleted or inserted event is detected by
`verify`, including a cut-off tail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from .rawsql import RawSQL
from .schema import audit_events, cases

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


def event_hash(prev_hash: str, case_id: int, seq: int, event: PendingEvent) -> str:
    body = orjson.dumps(
        [prev_hash, case_id, seq, event.at.astimezone(dt.UTC).isoformat(), event.actor,
         event.action, event.task_id, event.element_id, event.rule, event.details or {}],
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str,
    )
    return hashlib.sha256(body).hexdigest()


def chain_rows(
    case_id: int, head: str, seq: int, events: list[PendingEvent],
) -> tuple[list[dict[str, Any]], str, int]:
    """Return the rows for `events` after (head, seq), and the new head and seq."""
    rows = []
    for event in events:
        seq += 1
        digest = event_hash(head, case_id, seq, event)
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


def verify(conn: Connection) -> list[str]:
    """Recompute every chain; return one line per problem found (empty when intact)."""
    problems: list[str] = []
    heads = {row.id: (row.audit_head, row.audit_seq) for row in conn.execute(
        select(cases.c.id, cases.c.audit_head, cases.c.audit_seq))}
    expected: dict[int, tuple[str, int]] = {case_id: (GENESIS, 0) for case_id in heads}
    query = select(audit_events).order_by(audit_events.c.case_id, audit_events.c.seq)
    for row in conn.execute(query):
        prev, seq = expected.get(row.case_id, (GENESIS, 0))
        event = PendingEvent(row.at, row.actor, row.action, row.task_id, row.element_id,
                             row.rule, row.details)
        if row.seq != seq + 1:
            problems.append(f"case {row.case_id}: event {seq + 1} is missing (found {row.seq})")
        if row.prev_hash != prev:
            problems.append(f"case {row.case_id} event {row.seq}: does not follow its predecessor")
        if event_hash(row.prev_hash, row.case_id, row.seq, event) != row.hash:
            problems.append(f"case {row.case_id} event {row.seq}: content was altered")
        expected[row.case_id] = (row.hash, row.seq)
    for case_id, (head, seq) in heads.items():
        if expected[case_id] != (head, seq):
            problems.append(f"case {case_id}: audit trail ends at event {expected[case_id][1]}, "
                            f"the case expects {seq}")
    return problems
