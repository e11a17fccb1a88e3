"""Anonymous submissions: a case number and a tracking code, and what the tracker may see.

A citizen or organisation starts a case without an account and gets its number
(GF000042) and a random tracking code, of which only a hash is kept. Looking a case up
needs both; a wrong code and an unknown number give the same answer, compared in
constant time, so neither a case's existence nor its content leaks. What the tracker
sees is deliberately small: status, the result (engine/cases/results.py: outcome, reasons,
correction or measure, the deciding body), the steps done and the next due date, never
reviewers' names, comments or other data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from engine.cases.models import CaseView
from engine.cases.results import Result, result_of
from engine.errors import CaseNotFound
from engine.people.access import case_number, parse_case_number
from engine.store.schema import portal_tickets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud, typed by hand
MILESTONES = ("case_started", "task_completed", "timer_fired", "case_completed")
_FAKE = hashlib.sha256(b"no such ticket").hexdigest()


@dataclass(frozen=True)
class Milestone:
    at: dt.datetime
    action: str
    title: str | None


@dataclass(frozen=True)
class PublicStatus:
    number: str
    process_id: str
    status: str
    received_at: dt.datetime
    completed_at: dt.datetime | None
    result: Result | None
    steps: tuple[Milestone, ...]
    waiting_on: tuple[tuple[str, dt.datetime | None, bool], ...]   # open step, due, provisional
    process_name: str = ""
    submitted: dict[str, Any] = field(default_factory=dict)   # the applicant's own form


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _digest(code: str) -> str:
    normal = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def issue(conn: Connection, case_id: int, *, now: dt.datetime) -> str:
    code = new_code()
    conn.execute(insert(portal_tickets).values(case_id=case_id, code_hash=_digest(code),
                                               created_at=now))
    return code


def find(conn: Connection, number: str, code: str) -> int:
    """Return the case id for a number and its tracking code, or raise CaseNotFound."""
    case_id = parse_case_number(number)
    stored = None
    if case_id is not None:
        stored = conn.execute(select(portal_tickets.c.code_hash)
                              .where(portal_tickets.c.case_id == case_id)).scalar()
    matches = hmac.compare_digest(stored or _FAKE, _digest(code))
    if stored is None or not matches or case_id is None:
        raise CaseNotFound("no case with this number and tracking code")
    return case_id


def public_status(case: CaseView, group_titles: dict[str, str], process_name: str = "",
                  start_fields: tuple[str, ...] = ()) -> PublicStatus:
    """What the tracker shows; `group_titles` names the deciding body by its title."""
    titles = {t.id: t.title for t in case.tasks}
    steps = tuple(Milestone(e.at, e.action, titles.get(e.task_id or "") if e.task_id else None)
                  for e in case.events if e.action in MILESTONES)
    waiting = tuple((t.title, t.due_at, t.due_provisional) for t in case.tasks
                    if t.state == "open")
    received = case.data.get("received_at")
    received_at = dt.datetime.fromisoformat(received) if received else case.started_at
    submitted = {k: case.data[k] for k in start_fields if case.data.get(k) not in (None, "")}
    return PublicStatus(case_number(case.id), case.process_id, case.status, received_at,
                        case.completed_at, result_of(case.data, group_titles), steps,
                        waiting, process_name, submitted)
