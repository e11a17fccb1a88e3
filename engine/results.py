"""What a case decided, in the terms its requester needs: the result told to applicants.

The shipped models record their decision under differing keys (`decision_reason`,
`explanation`, `correction_note`, `open_data_measure`, `feedback`, ...). `result_of`
gathers them into one `Result` of keys and texts the reviewers wrote; the web and the
API word it in the reader's language. The decider is named by the directory's title
(卫生健康委), never by a group key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SYSTEM = "system"
# Outcome keys the shipped models write, with the complaint's findings and J6's answers.
OUTCOMES = ("granted", "refused", "opened", "not_opened", "corrected", "not_corrected",
            "explained", "substantiated", "partly_substantiated", "unsubstantiated")


@dataclass(frozen=True)
class Result:
    outcome: str                  # one of OUTCOMES (or a model's own key)
    reasons: str | None           # why, as the decider wrote it
    legal_basis: str | None
    correction: str | None        # the correction made (J3, J4, J6)
    measure: str | None           # withdraw | restore | reopen_after_processing (J5)
    measure_note: str | None
    handling: str | None          # what was done about a complaint (J7)
    feedback: str | None          # the answer to the complainant (J7)
    granted_items: tuple[str, ...]
    decided_by: str | None        # the deciding body's display name; None when govflow
    by_system: bool               # decided by a rule, e.g. deemed approval on silence (S5)
    rule: str | None


def _text(data: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def result_of(data: dict[str, Any], titles: dict[str, str]) -> Result | None:
    """The case's result, or None while nothing is decided."""
    outcome = data.get("outcome")
    if not isinstance(outcome, str) or not outcome:
        return None
    decider = data.get("decided_by")
    grant = data.get("grant") if isinstance(data.get("grant"), dict) else {}
    return Result(
        outcome=outcome,
        reasons=_text(data, "decision_reason", "explanation", "consent_reason"),
        legal_basis=_text(data, "legal_basis"),
        correction=_text(data, "correction_note"),
        measure=_text(data, "open_data_measure"),
        measure_note=_text(data, "measure_note"),
        handling=_text(data, "handling_result"),
        feedback=_text(data, "feedback"),
        granted_items=tuple(str(i) for i in grant.get("data_items") or ()),
        decided_by=None if decider in (None, SYSTEM) else titles.get(str(decider), str(decider)),
        by_system=decider == SYSTEM,
        rule=_text(data, "decision_rule"))
