"""Printable documents for the parties: the receipt (受理回执) and the decision letter
(告知书; 不予共享告知书 for a refused share request).

Built from what a case holds: its number, dates, the decision and its reasons, the
legal basis (the rule the deciding step cites), the body that decided, and where to
turn next (coordination for share requests, S6; a complaint otherwise). The portal
builds the same letters from what the tracker may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .notices import outcome_words
from .rules import cite

REFUSALS = ("refused", "not_opened", "not_corrected")


@dataclass(frozen=True)
class Letter:
    kind: str                 # receipt | decision
    title_zh: str
    title_en: str
    number: str
    process_name: str
    received_at: dt.datetime
    decided_at: dt.datetime | None
    outcome: str | None
    outcome_zh: str | None
    outcome_en: str | None
    reasons: str | None
    basis: str | None
    decided_by: str | None
    remedy: str               # coordination | complaint


def letter(kind: str, *, number: str, process_id: str, process_name: str,
           data: dict[str, Any], received_at: dt.datetime, decided_at: dt.datetime | None,
           bodies: dict[str, str]) -> Letter:
    """The receipt, or the decision letter of a closed case (`bodies`: group -> title)."""
    if kind not in ("receipt", "decision"):
        raise ValueError(f"letter kind must be receipt or decision, not {kind!r}")
    outcome = data.get("outcome")
    words = outcome_words(data) if outcome else None
    refused_share = process_id.startswith("share") and outcome == "refused"
    if kind == "receipt":
        titles = ("受理回执", "Receipt")
    elif refused_share:
        titles = ("不予共享告知书", "Notice of refusal to share")
    else:
        titles = ("告知书", "Notice of decision")
    decider = data.get("decided_by")
    if decider in (None, "", "system") and data.get("decision") == "deemed_approved":
        decider = "system"
    body = bodies.get(str(data.get("provider_dept") or ""), None)
    return Letter(
        kind=kind, title_zh=titles[0], title_en=titles[1], number=number,
        process_name=process_name, received_at=received_at,
        decided_at=decided_at if kind == "decision" else None,
        outcome=outcome, outcome_zh=words[0] if words else outcome,
        outcome_en=words[1] if words else outcome,
        reasons=data.get("decision_reason") or data.get("result_reason") or data.get("reply"),
        basis=data.get("legal_basis") or cite(data.get("decision_rule")),
        decided_by=bodies.get(str(decider), decider) if decider and decider != "system"
        else ("system" if decider == "system" else body),
        remedy="coordination" if process_id.startswith("share") and outcome in REFUSALS
        else "complaint")
