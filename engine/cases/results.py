"""What a case decided, in the terms its requester needs: the result told to applicants.

The shipped models record their decision under differing keys (`decision_reason`,
`explanation`, `correction_note`, `open_data_measure`, `feedback`, ...). `result_of`
gathers them into one `Result` of keys and texts the reviewers wrote, and `words`
says it in Chinese or English: the one wording the tracker, the case page, the API,
the decision letters and the outcome notices all use. The decider is named by the
directory's title (卫生健康委), never by a group key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from engine.rules.ids import cite

SYSTEM = "system"
# The outcome keys the shipped models write, with the complaint's findings and J6's
# answers, in plain words (zh, en).
OUTCOMES = {
    "granted": ("已同意", "Granted"), "refused": ("不予同意", "Refused"),
    "opened": ("已开放", "Opened"), "not_opened": ("不予开放", "Not opened"),
    "corrected": ("已更正", "Corrected"), "not_corrected": ("不予更正", "Not corrected"),
    "explained": ("经核实，数据无误", "Checked: the data is correct"),
    "substantiated": ("投诉举报属实", "The complaint is substantiated"),
    "partly_substantiated": ("投诉举报部分属实", "The complaint is partly substantiated"),
    "unsubstantiated": ("投诉举报不属实", "The complaint is not substantiated"),
    "not_accepted": ("不予受理", "The complaint was not accepted"),
}
# How data was opened after an open-data review (O3).
OPEN_FORMS = {
    "full": ("已开放（完整开放）", "Opened in full"),
    "desensitised": ("已开放（脱敏处理后开放）", "Opened after desensitisation"),
    "conditional": ("已开放（有条件开放）", "Opened on conditions"),
}
# Deciders that are not groups of the directory.
BODIES = {"leading_group": ("信息化工作领导小组", "the leading group for informatization")}
# Why govflow itself decided, for the decisions the models leave to a rule.
SYSTEM_RULES = {
    "S1": ("资源目录将该数据列为无条件共享，即时授权",
           "the catalog shares this data unconditionally, so it is granted at once"),
    "S5": ("数据提供部门逾期未答复，视为同意",
           "the provider did not answer within the time limit, which counts as approval"),
    "S8": ("数据提供部门逾期未答复，视为同意",
           "the provider did not answer within the time limit, which counts as approval"),
    "S9": ("申请符合数据主管部门已批准的应用场景",
           "the request matches an application scenario the data authority approved"),
    "O2": ("法律、法规已规定该数据是否开放", "the law already settles whether this data is opened"),
}
MEASURES = {"withdraw": ("已撤回该开放数据", "The open data was withdrawn"),
            "restore": ("已恢复开放该数据", "The open data was restored"),
            "reopen_after_processing": ("数据处理后将重新开放",
                                        "The open data will be reopened once processed")}


@dataclass(frozen=True)
class Result:
    outcome: str                  # one of OUTCOMES (or a model's own key)
    open_form: str | None         # full | desensitised | conditional (O3)
    reasons: str | None           # why, as the decider wrote it
    legal_basis: str | None
    correction: str | None        # the correction made (J3, J4, J6)
    measure: str | None           # withdraw | restore | reopen_after_processing (J5)
    measure_note: str | None
    handling: str | None          # what was done about a complaint (J7)
    feedback: str | None          # the answer to the complainant (J7)
    granted_items: tuple[str, ...]
    decided_by: str | None        # the deciding body's title (or a BODIES key); None: govflow
    by_system: bool               # decided by a rule, e.g. deemed approval on silence (S5)
    rule: str | None


def _text(data: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def deciding_group(data: dict[str, Any]) -> str | None:
    """The group a case's result names as its decider; None when govflow or nobody decided.
    `result_of` needs only this group's title."""
    decider = data.get("decided_by")
    return None if decider in (None, SYSTEM) else str(decider)


def result_of(data: dict[str, Any], titles: dict[str, str]) -> Result | None:
    """The case's result, or None while nothing is decided."""
    outcome = data.get("outcome")
    if not isinstance(outcome, str) or not outcome:
        return None
    decider = deciding_group(data)
    grant = data.get("grant") if isinstance(data.get("grant"), dict) else {}
    return Result(
        outcome=outcome, open_form=_text(data, "open_form"),
        reasons=_text(data, "decision_reason", "explanation", "consent_reason"),
        legal_basis=_text(data, "legal_basis"),
        correction=_text(data, "correction_note"),
        measure=_text(data, "open_data_measure"),
        measure_note=_text(data, "measure_note"),
        handling=_text(data, "handling_result"),
        feedback=_text(data, "feedback"),
        granted_items=tuple(str(i) for i in grant.get("data_items") or ()),
        decided_by=None if decider is None else titles.get(decider, decider),
        by_system=data.get("decided_by") == SYSTEM,
        rule=_text(data, "decision_rule"))


# -- the words --------------------------------------------------------------------------
def _say(pair: tuple[str, str] | None, lang: str) -> str | None:
    return None if pair is None else pair[1] if lang == "en" else pair[0]


def outcome_text(result: Result, lang: str) -> str:
    if result.outcome == "opened" and result.open_form in OPEN_FORMS:
        return str(_say(OPEN_FORMS[result.open_form], lang))
    return _say(OUTCOMES.get(result.outcome), lang) or ("Decided" if lang == "en" else "已作出决定")


def decided_by_text(result: Result, lang: str) -> str:
    """The deciding body, or which rule decided and why when govflow decided by itself."""
    if not result.by_system:
        return _say(BODIES.get(result.decided_by or ""), lang) or result.decided_by or "—"
    rule, why = cite(result.rule) or "—", _say(SYSTEM_RULES.get(result.rule or ""), lang)
    if lang == "en":
        return f"Decided by rule {rule}: {why}" if why else f"Decided by rule {rule}"
    return f"依规则 {rule} 决定：{why}" if why else f"依规则 {rule} 决定"


def words(result: Result, lang: str) -> dict[str, str | None]:
    """The result's texts in `lang` (zh or en), None where the case says nothing."""
    measure = _say(MEASURES.get(result.measure or ""), lang) or result.measure
    return {"outcome": outcome_text(result, lang), "reasons": result.reasons,
            "legal_basis": result.legal_basis, "correction": result.correction,
            "measure": " — ".join(t for t in (measure, result.measure_note) if t) or None,
            "measure_taken": measure, "handling": result.handling,
            "feedback": result.feedback,
            "granted_items": "、".join(result.granted_items) or None,
            "decided_by": decided_by_text(result, lang)}


def to_payload(result: Result) -> dict[str, Any]:
    """The result as JSON, to be worded later in the reader's language (notices)."""
    # Every field is plain text, a flag or a tuple of text: no deep copy (asdict) needed.
    return {**vars(result), "granted_items": list(result.granted_items)}


def from_payload(data: dict[str, Any]) -> Result:
    known = {f.name for f in fields(Result)}
    values = {k: v for k, v in data.items() if k in known}
    values.setdefault("open_form", None)
    return Result(**{**values, "granted_items": tuple(values.get("granted_items") or ())})
