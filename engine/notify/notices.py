"""Notices to the parties: receipts, outcomes (worded by engine/cases/results.py), transfers.

A model asks for a notice with the `notify_party` script helper; the step that ran the
script writes it to the outbox in its own transaction (engine/notify/usecases.py), so a model's
"notified" flag is true exactly when the notice was queued.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator
from typing import Any

from engine.time.clock import SHANGHAI


def local(moment: dt.datetime | None) -> str:
    # "2026-11-20 09:00": isoformat is several times cheaper than strftime.
    return moment.astimezone(SHANGHAI).isoformat(" ", "minutes")[:16] if moment else ""


# Notices a model asked for during the current step (the `notify_party` script helper);
# the step writes them to the outbox in its own transaction.
_requested: contextvars.ContextVar[list[tuple[str, tuple[str, str]]]] = contextvars.ContextVar(
    "govflow_party_notices")


@contextlib.contextmanager
def collecting_notices() -> Iterator[list[tuple[str, tuple[str, str]]]]:
    log: list[tuple[str, tuple[str, str]]] = []
    token = _requested.set(log)
    try:
        yield log
    finally:
        _requested.reset(token)


def notify_party(kind: str, contact: str | None = None, dept: str | None = None) -> bool:
    """`objector_notified = notify_party("outcome", contact)` in a model: queue a notice to
    the party and return True, or False when the party left no way to reach them."""
    if kind not in ("receipt", "outcome", "transfer", "extension"):
        raise ValueError(f"notify_party: unknown notice {kind!r}")
    party = party_recipient({"contact": contact, "requester_dept": dept})
    log = _requested.get(None)
    if party is None or log is None:
        return False
    log.append((kind, party))
    return True


def party_recipient(data: dict[str, Any]) -> tuple[str, str] | None:
    """(recipient, channel) of the person or department a case is about, if any."""
    contact = str(data.get("contact") or "").strip()
    if "@" in contact:
        return f"email:{contact}", "email"
    if sum(c.isdigit() for c in contact) >= 7:
        return f"phone:{contact}", "webhook"
    if data.get("requester_dept"):
        return f"group:{data['requester_dept']}", "in_app"
    return None
