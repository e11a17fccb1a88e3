"""Printable documents for the parties: the receipt (受理回执) and the decision letter
(告知书; 不予共享告知书 for a refused share request).

Built from what a case holds: its number, dates, the result (engine/cases/results.py, worded
as on the tracker), the legal basis (the rule the deciding step cites when the decider
wrote none), and where to turn next (coordination for share requests, S6; a complaint
otherwise). The portal builds the same letters from what the tracker may see.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from engine.cases.results import Result
from engine.rules.ids import cite

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
    result: Result | None     # None while nothing is decided
    remedy: str               # coordination | complaint


def letter(kind: str, *, number: str, process_id: str, process_name: str,
           result: Result | None, received_at: dt.datetime,
           decided_at: dt.datetime | None) -> Letter:
    """The receipt, or the decision letter of a case."""
    if kind not in ("receipt", "decision"):
        raise ValueError(f"letter kind must be receipt or decision, not {kind!r}")
    outcome = result.outcome if result else None
    share = process_id.startswith("share")
    if kind == "receipt":
        titles = ("受理回执", "Receipt")
    elif share and outcome == "refused":
        titles = ("不予共享告知书", "Notice of refusal to share")
    else:
        titles = ("告知书", "Notice of decision")
    if result is not None and not result.legal_basis and not result.by_system:
        result = dataclasses.replace(result, legal_basis=cite(result.rule))
    return Letter(
        kind=kind, title_zh=titles[0], title_en=titles[1], number=number,
        process_name=process_name, received_at=received_at,
        decided_at=decided_at if kind == "decision" else None,
        result=result if kind == "decision" else None,
        remedy="coordination" if share and outcome in REFUSALS else "complaint")
