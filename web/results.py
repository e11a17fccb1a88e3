"""A case's result in the reader's language: the words for engine/results.py's keys."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.results import Result
from engine.rules import cite

OUTCOMES = {
    "granted": _l("Granted"), "refused": _l("Refused"), "opened": _l("Opened"),
    "not_opened": _l("Not opened"), "corrected": _l("Corrected"),
    "not_corrected": _l("Not corrected"), "explained": _l("Checked: the data is correct"),
    "substantiated": _l("The complaint is substantiated"),
    "partly_substantiated": _l("The complaint is partly substantiated"),
    "unsubstantiated": _l("The complaint is not substantiated"),
}
# Why govflow itself decided, for the decisions the models leave to a rule.
SYSTEM_RULES = {
    "S1": _l("the catalog shares this data unconditionally, so it is granted at once"),
    "S5": _l("the provider did not answer within the time limit, which counts as approval"),
    "S8": _l("the provider did not answer within the time limit, which counts as approval"),
    "S9": _l("the request matches an application scenario the data authority approved"),
}
MEASURES = {"withdraw": _l("The open data was withdrawn"),
            "restore": _l("The open data was restored"),
            "reopen_after_processing": _l("The open data will be reopened once processed")}


def outcome_text(result: Result) -> str:
    return str(OUTCOMES.get(result.outcome, _("Decided")))


def decided_by_text(result: Result) -> str:
    if not result.by_system:
        return result.decided_by or "—"
    why = SYSTEM_RULES.get(result.rule or "")
    if why:
        return _("Decided by rule %(rule)s: %(why)s", rule=cite(result.rule), why=why)
    return _("Decided by rule %(rule)s", rule=cite(result.rule) or "—")


def lines(result: Result | None) -> list[tuple[str, str]]:
    """(label, text) rows of a result, only those that say something."""
    if result is None:
        return []
    rows = [(_("Outcome"), outcome_text(result)), (_("Reasons"), result.reasons),
            (_("Legal basis"), result.legal_basis), (_("Correction made"), result.correction),
            (_("Measure taken"), " — ".join(str(t) for t in (
                MEASURES.get(result.measure or "", result.measure), result.measure_note) if t)
             or None),
            (_("Action taken"), result.handling), (_("Feedback"), result.feedback),
            (_("Data items granted"), "、".join(result.granted_items) or None),
            (_("Decided by"), decided_by_text(result))]
    return [(label, str(text)) for label, text in rows if text]


def as_json(result: Result | None) -> dict[str, Any] | None:
    """The result for the API: the keys, and the same sentences the pages show."""
    if result is None:
        return None
    return {"outcome": result.outcome, "outcome_text": outcome_text(result),
            "reasons": result.reasons, "legal_basis": result.legal_basis,
            "correction": result.correction, "measure": result.measure,
            "measure_text": str(MEASURES[result.measure]) if result.measure in MEASURES else None,
            "measure_note": result.measure_note, "handling": result.handling,
            "feedback": result.feedback, "granted_items": list(result.granted_items),
            "decided_by": decided_by_text(result), "decision_rule": result.rule}
