"""A case's result in the reader's language: engine/cases/results.py's words under this page's
labels (the words themselves live in the engine, shared with letters and notices)."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from engine.cases.results import Result, words


def current_lang() -> str:
    return "en" if str(get_locale()) == "en" else "zh"


def lines(result: Result | None) -> list[tuple[str, str]]:
    """(label, text) rows of a result, only those that say something."""
    if result is None:
        return []
    said = words(result, current_lang())
    labels = {"outcome": _("Outcome"), "reasons": _("Reasons"), "legal_basis": _("Legal basis"),
              "correction": _("Correction made"), "measure": _("Measure taken"),
              "handling": _("Action taken"), "feedback": _("Feedback"),
              "granted_items": _("Data items granted"), "decided_by": _("Decided by")}
    return [(label, str(said[key])) for key, label in labels.items() if said[key]]


def as_json(result: Result | None) -> dict[str, Any] | None:
    """The result for the API: the keys, and the same sentences the pages show."""
    if result is None:
        return None
    said = words(result, current_lang())
    return {"outcome": result.outcome, "outcome_text": said["outcome"],
            "open_form": result.open_form, "reasons": result.reasons,
            "legal_basis": result.legal_basis, "correction": result.correction,
            "measure": result.measure, "measure_text": said["measure_taken"],
            "measure_note": result.measure_note, "handling": result.handling,
            "feedback": result.feedback, "granted_items": list(result.granted_items),
            "decided_by": said["decided_by"], "decision_rule": result.rule}
