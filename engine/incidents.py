"""An incident in words: what kind of failure, at which element, lacking which data.

The engine keeps the failure's raw text (e.g. "ZeroDivisionError: division by zero.");
administrators are shown its kind and the element's name instead, and the raw text
only as a technical detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


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
