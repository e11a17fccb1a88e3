"""Rules every shipped form follows: bounded text, departments from the directory, and
reasons that say something (static checks of workflows/forms, no database)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from engine.cases.govflow import WORKFLOWS

FORMS = sorted((WORKFLOWS / "forms").glob("*.json"))
REASON_FIELDS = {"decision_reason", "legal_basis", "explanation", "correction_note", "feedback",
                 "handling_result", "consent_reason", "copy_consent_reason", "refusal_reason",
                 "coordination_reason", "desensitisation"}


def text_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema of a free-text string (no enum or const), wherever it is nested."""
    if isinstance(node, dict):
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "string" in kinds and "enum" not in node and "const" not in node:
            yield path, node
        for key, value in node.items():
            yield from text_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from text_schemas(value, f"{path}[{index}]")


def forms() -> Iterator[tuple[str, dict[str, Any]]]:
    assert len(FORMS) > 20
    for form in FORMS:
        yield form.name, json.loads(form.read_text(encoding="utf-8"))


def test_S11_every_text_field_of_every_shipped_form_has_a_max_length() -> None:
    unbounded = [(name, path) for name, schema in forms()
                 for path, node in text_schemas(schema) if "maxLength" not in node]
    assert unbounded == []


def test_S2_every_department_field_is_chosen_from_the_directory() -> None:
    free = [(form, name) for form, schema in forms()
            for name, prop in schema.get("properties", {}).items()
            if name.endswith("_dept") and prop.get("x-directory") != "department"]
    assert free == []


def test_S4_every_reason_and_legal_basis_must_say_something() -> None:
    vague = [(form, n) for form, schema in forms()
             for n in REASON_FIELDS & set(schema.get("properties", {}))
             if not schema["properties"][n].get("x-meaningful")]
    assert vague == []
