"""Incidents: recorded when the timer sweep cannot move a case, and explained in words.

A failing script or gateway becomes an incident inside the step (`Govflow._step`). A
case that cannot be loaded, or whose step fails in govflow's own code, has no step to
record it: the sweep records the incident on the case itself, in its own transaction,
and goes on with the next case. The case leaves the sweep until it is retried.

The engine keeps the failure's raw text (e.g. "ZeroDivisionError: division by zero.");
administrators are shown its kind and the element's name instead, and the raw text
only as a technical detail.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from engine.store.audit import PendingEvent, chain_rows, write_events
from engine.store.schema import cases, timers

SYSTEM = "system"


def describe(exc: BaseException) -> str:
    """One readable line: the error's own words, its kind when it has none."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record_timer_incident(conn: Connection, case_id: int, exc: BaseException,
                          now: dt.datetime) -> dict[str, Any]:
    """Put `case_id` in error for a timer that could not be fired, naming the timer."""
    timer = conn.execute(
        select(timers.c.task_id, timers.c.element_id)
        .where(timers.c.case_id == case_id, timers.c.fire_at <= now)
        .order_by(timers.c.fire_at, timers.c.task_id).limit(1)).first()
    incident = {
        "message": f"the timer could not be fired: {describe(exc)}",
        "task_id": timer.task_id if timer else None,
        "element_id": timer.element_id if timer else None,
        "at": now.isoformat(),
        "kind": "timer",
    }
    head = conn.execute(select(cases.c.audit_head, cases.c.audit_seq)
                        .where(cases.c.id == case_id)).one()
    event = PendingEvent(now, SYSTEM, "incident", incident["task_id"], incident["element_id"],
                         details={"message": incident["message"]})
    rows, audit_head, seq = chain_rows(case_id, head.audit_head, head.audit_seq, [event])
    conn.execute(update(cases).where(cases.c.id == case_id).values(
        status="error", incident=incident, audit_head=audit_head, audit_seq=seq,
        revision=cases.c.revision + 1, updated_at=now))
    write_events(conn, rows)
    return incident


@dataclass(frozen=True)
class Incident:
    """A failure in words: what kind, where, and what data it lacked."""

    case_id: int
    version_id: int
    element_id: str | None
    kind: str        # division_by_zero | missing_data | time_limit | no_group | bad_value | other
    fields: tuple[str, ...]
    technical: str
    at: str | None


def explain_incident(case_id: int, version_id: int, incident: dict[str, Any],
                     data: dict[str, Any]) -> Incident:
    message = str(incident.get("message") or "")
    fields: tuple[str, ...] = ()
    if "ZeroDivisionError" in message:
        kind = "division_by_zero"
    elif "time limit" in message or "took longer" in message:
        kind = "time_limit"
    elif "no candidate group" in message:
        kind = "no_group"
    elif match := re.search(r"name '(\w+)' is not defined", message):
        kind, fields = "missing_data", (match.group(1),)
    elif match := re.search(r"evaluating expression '([^']*)'", message):
        names = re.findall(r"[A-Za-z_]\w*", match.group(1))
        fields = tuple(dict.fromkeys(n for n in names if n not in data and n not in _WORDS))
        kind = "missing_data" if fields else "bad_value"
    elif re.search(r"KeyError|TypeError|ValueError", message):
        kind = "bad_value"
    else:
        kind = "other"
    return Incident(case_id, version_id, incident.get("element_id"), kind, fields, message,
                    incident.get("at"))


_WORDS = {"and", "or", "not", "in", "is", "None", "True", "False", "len", "int", "str",
          "float", "deadline", "limits", "if", "else"}
