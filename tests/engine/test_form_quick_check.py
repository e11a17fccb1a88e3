"""Forms are checked first by jsonschema-rs, and it must never accept what FormValidator refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cases.forms import DEFAULT_FORMS, FormLibrary, FormValidator
from engine.errors import InvalidTaskData

SHIPPED = sorted(p.name for p in DEFAULT_FORMS.glob("*.json"))
# Text where ECMA-262 and Python's `re` disagree: separators Python counts as spaces, a
# byte-order mark, non-ASCII digits, a combining accent, ideographic space; and the
# characters the shipped patterns look for.
TRICKY = "aZ09_.- \t\n\x1c\x1f\x85\ufeff\u3000\u0661\u0301é中文《》第十条"


def _properties(schema: Any, found: dict[str, list[Any]]) -> None:
    """Every property any branch of the form names, with each subschema given for it."""
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            found.setdefault(name, []).append(sub)
        for value in schema.values():
            _properties(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _properties(value, found)


def _values(subschemas: list[Any]) -> st.SearchStrategy[Any]:
    known = [v for sub in subschemas if isinstance(sub, dict)
             for v in [*sub.get("enum", []), *([sub["const"]] if "const" in sub else [])]]
    scalar = st.one_of(st.text(TRICKY, max_size=12), st.integers(-3, 3), st.booleans(),
                       st.none(), st.floats(allow_nan=True))
    options = [scalar, st.lists(st.one_of(st.text(TRICKY, max_size=6), *(
        [st.sampled_from(known)] if known else [])), max_size=3)]
    if known:
        options.insert(0, st.sampled_from(known))
    return st.one_of(*options)


def _form_data(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    found: dict[str, list[Any]] = {}
    _properties(schema, found)
    return st.fixed_dictionaries({}, optional={k: _values(v) for k, v in found.items()})


@pytest.mark.parametrize("name", SHIPPED)
def test_the_quick_check_accepts_nothing_the_full_check_refuses(name: str) -> None:
    library = FormLibrary()
    schema = library.schema(name)
    full = FormValidator(schema)
    quick = library._form_checks(name)[1]  # noqa: SLF001 - the check under test

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(_form_data(schema))
    def check(data: dict[str, Any]) -> None:
        if library._plainly_valid(quick, data):  # noqa: SLF001 - the check under test
            assert full.is_valid(data), data

    check()


def test_most_shipped_forms_have_the_quick_check() -> None:
    library = FormLibrary()
    quick = [name for name in SHIPPED
             if library._form_checks(name)[1] is not None]  # noqa: SLF001
    assert len(quick) >= len(SHIPPED) - 8   # those with \S patterns are left to Python


def _library(tmp_path: Path, schema: dict[str, Any]) -> FormLibrary:
    (tmp_path / "probe.json").write_text(json.dumps(schema), encoding="utf-8")
    return FormLibrary(tmp_path)


def test_a_pattern_read_differently_by_ecma_and_python_is_left_to_the_full_check(
        tmp_path: Path) -> None:
    library = _library(tmp_path, {"type": "object", "properties": {
        "reason": {"type": "string", "minLength": 5, "pattern": "\\S"}}})
    with pytest.raises(InvalidTaskData) as refused:   # Python: all five are spaces
        library.validate("probe.json", {"reason": "\x1c\x1d\x1e\x1f\x85"})
    assert set(refused.value.errors) == {"reason"}
    library.validate("probe.json", {"reason": "五个字以上"})


def test_data_that_is_not_plain_json_is_left_to_the_full_check(tmp_path: Path) -> None:
    library = _library(tmp_path, {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string"}}}})
    library.validate("probe.json", {"items": ["a"]})
    with pytest.raises(InvalidTaskData):   # a tuple is an array to jsonschema-rs only
        library.validate("probe.json", {"items": ("a",)})


@pytest.mark.parametrize(("pattern", "text"), [
    ("^[^]\\d]$", "١"),         # ] first in the class, then \d: ASCII digits only in ECMA
    ("^[^\\]\\d]$", "١"),        # an escaped ] before \d
    ("^(a|[^]\\w])$", "é"),
])
def test_a_negated_class_beside_digits_or_word_letters_is_left_to_python(
        tmp_path: Path, pattern: str, text: str) -> None:
    library = _library(tmp_path, {"type": "object", "properties": {
        "x": {"type": "string", "pattern": pattern}}})
    with pytest.raises(InvalidTaskData):   # Python's \d and \w take the non-ASCII text
        library.validate("probe.json", {"x": text})


def test_a_fractional_multiple_is_left_to_python(tmp_path: Path) -> None:
    library = _library(tmp_path, {"type": "object", "properties": {
        "amount": {"type": "number", "multipleOf": 0.01}}})
    with pytest.raises(InvalidTaskData):   # FormValidator divides floats: 0.07 / 0.01
        library.validate("probe.json", {"amount": 0.07})


def test_text_with_a_lone_surrogate_gets_a_field_error_not_a_crash(tmp_path: Path) -> None:
    library = _library(tmp_path, {"type": "object", "properties": {
        "on": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}}})
    with pytest.raises(InvalidTaskData) as refused:
        library.validate("probe.json", {"on": "2024-01-0\ud800"})
    assert set(refused.value.errors) == {"on"}
