"""A lint problem in the UI's language: engine/bpmn/lint.py gives a code and its parameters."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from engine.bpmn.lint import Problem

MESSAGES = {
    "too_large": _l("the model is larger than %(kb)s KB"),
    "invalid": _l("the model is invalid: %(reason)s"),
    "not_xml": _l("the file is not well-formed XML"),
    "no_group": _l("human task has no group: set candidateGroups or candidateGroupsExpression"),
    "no_form": _l("human task has no form"),
    "dangling_ref": _l("%(attr)s names %(ref)s, which does not exist"),
    "lane_ref": _l("the lane lists %(ref)s, which does not exist"),
    "timer_fails": _l("timer %(kind)s does not evaluate: %(error)s"),
    "timer_not_moment": _l("timer timeDate gives %(value)s, not a moment"),
    "timer_missing": _l("timer has no timeDate, timeDuration or timeCycle"),
    "empty": _l("empty %(what)s"),
    "no_compile": _l("%(what)s does not compile: %(error)s"),
    "unreachable_end": _l("no path reaches this end event"),
}


def shown(problems: list[Problem]) -> list[dict[str, Any]]:
    """The problems as the modeler lists them, each message in the UI's language."""
    return [{**p.as_dict(), "message": str(MESSAGES[p.code]) % dict(p.params)}
            for p in problems]
