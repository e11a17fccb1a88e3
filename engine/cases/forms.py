"""Task forms: one JSON Schema per user task, validated before any step runs.

A form lists exactly the fields a reviewer may write (`additionalProperties: false`),
so a submission can never overwrite case data the form does not offer, such as the
outcome a script records. Two keywords of govflow's own are checked with the schema,
so the web, the API and the CLI refuse exactly the same data:

- `"x-meaningful": N` — the text (trimmed) has at least N letters or digits: reasons
  and legal bases must say something, not only spaces or punctuation;
- `"x-directory": "department"` — the value names an active department of the directory
  (not a role group such as `administrators`, not an unknown or member-less group);
- `"x-own-department": true` — the submitting user belongs to the department named
  (administrators excepted): nobody submits in another department's name;
- `"x-differs-from": KEY` — the value is not the case's KEY (a department never
  provides data to itself), and `"x-subset-of": KEY` — every item is among the case's
  KEY (a completed request asks only for items of its dataset); both checked when the
  task is completed, against the case.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from engine.errors import EngineError, InvalidTaskData

DEFAULT_FORMS = Path(__file__).resolve().parents[2] / "workflows" / "forms"
NOT_A_DEPARTMENT = "请从目录中选择在用的部门 (choose an active department from the directory)"


def says_something(text: str, letters: int) -> bool:
    """At least `letters` letters or digits (Chinese characters count), not just spaces
    and punctuation."""
    return sum(1 for ch in text if ch.isalnum()) >= letters


def _meaningful(validator: Any, letters: int, instance: Any, schema: Any) -> Any:
    if isinstance(instance, str) and not says_something(instance, letters):
        yield ValidationError(f"must say something: at least {letters} letters or digits")


FormValidator = validators.extend(Draft202012Validator, {"x-meaningful": _meaningful})


class _Meaningful:
    """`x-meaningful` for jsonschema-rs, the same rule as `_meaningful`."""

    def __init__(self, _parent: Any, letters: int, _path: Any) -> None:
        self.letters = letters

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not says_something(instance, self.letters):
            raise ValueError(f"must say something: at least {self.letters} letters or digits")


# Patterns the quick check may judge: jsonschema-rs runs them as ECMA-262 says, where \d
# and \w are ASCII and `$` ends the text; Python's are wider. So a pattern whose only
# escapes of letters are \d and \w, with no negated class beside them and no group like
# (?i), accepts in jsonschema-rs no text that `re` refuses. Others (\S, \s, \b, [^\d], ...)
# are judged by `re` alone.
_OTHER_ESCAPES = re.compile(r"\\[a-ce-vx-zA-Z0-9]|\(\?")
_DIGIT_OR_WORD = re.compile(r"\\[dw]")


def _judged_alike(pattern: str) -> bool:
    if _OTHER_ESCAPES.search(pattern):
        return False
    return "[^" not in pattern or not _DIGIT_OR_WORD.search(pattern)


def _quick_check(schema: dict[str, Any]) -> Any:
    """A jsonschema-rs validator for a form it judges as FormValidator does, else None.

    It accepts no data that FormValidator refuses, so data it accepts is valid and only
    refused data goes through FormValidator, which says why in each field's words. It
    runs in a few microseconds; FormValidator takes about 80 on a dozen fields."""
    if not _alike_throughout(schema):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(
            schema, keywords={"x-meaningful": _Meaningful}, validate_formats=False,
            offline=True)
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
        return None


def _alike_throughout(schema: Any) -> bool:
    """Every pattern judged alike, and no fractional `multipleOf` (FormValidator divides
    floats, so it refuses 0.07 as a multiple of 0.01; jsonschema-rs counts exactly)."""
    if isinstance(schema, list):
        return all(_alike_throughout(value) for value in schema)
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            if not _judged_alike(value):
                return False
            continue
        if key == "multipleOf" and isinstance(value, float) and not value.is_integer():
            return False
        if key == "patternProperties" and isinstance(value, dict) \
                and not all(_judged_alike(str(k)) for k in value):
            return False
        if not _alike_throughout(value):
            return False
    return True


_SCALARS = (str, int, float, bool, type(None))


def _plain_json(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(v) for v in value)
    return kind in _SCALARS


def trimmed(data: Any) -> Any:
    """Submitted text without surrounding spaces, so what is stored is what is checked."""
    if isinstance(data, str):
        return data.strip()
    if isinstance(data, list):
        return [trimmed(v) for v in data]
    if isinstance(data, dict):
        return {k: trimmed(v) for k, v in data.items()}
    return data


class FormLibrary:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or DEFAULT_FORMS)
        # Each form's FormValidator and its quick check (None when it has none).
        self._checks: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def schema(self, name: str) -> dict[str, Any]:
        return self._validator(name).schema  # type: ignore[no-any-return]

    def process_fields(self, process_id: str) -> dict[str, Any]:
        """The fields of every form named `<process_id>.*.json`, to label case data."""
        fields: dict[str, Any] = {}
        for path in sorted(self.directory.glob(f"{process_id}.*.json")):
            for name, prop in self.schema(path.name).get("properties", {}).items():
                fields.setdefault(name, prop)
        return fields

    def directory_fields(self, name: str | None) -> dict[str, str]:
        """Fields of a form that name a group of the directory (field -> kind)."""
        if name is None:
            return {}
        return {field: prop["x-directory"] for field, prop in
                self.schema(name).get("properties", {}).items() if "x-directory" in prop}

    def check_against_case(self, name: str | None, data: dict[str, Any],
                           case_data: dict[str, Any]) -> None:
        """The checks that need the case: `x-differs-from` and `x-subset-of`."""
        if name is None:
            return
        errors = {}
        for field, prop in self.schema(name).get("properties", {}).items():
            value, other = data.get(field), case_data.get(prop.get("x-differs-from", ""))
            if value is not None and other is not None and value == other:
                errors[field] = ("不能与本案的该项相同 (must differ from the case's "
                                 f"{prop['x-differs-from']})")
            allowed = case_data.get(prop.get("x-subset-of", ""))
            extra = ([v for v in value if v not in allowed]
                     if isinstance(value, list) and isinstance(allowed, list) else [])
            if extra:
                errors[field] = ("不在允许的范围内 (not among the allowed items): "
                                 + "、".join(map(str, extra)))
        if errors:
            raise InvalidTaskData(f"the form has errors in: {', '.join(sorted(errors))}", errors)

    def check_submitter(self, name: str | None, data: dict[str, Any],
                        user_groups: frozenset[str], is_admin: bool) -> None:
        """Refuse a submission in the name of a department the user does not belong to."""
        if name is None or is_admin:
            return
        errors = {field: "不是您所在的部门 (not your department)"
                  for field, prop in self.schema(name).get("properties", {}).items()
                  if prop.get("x-own-department") and data.get(field) is not None
                  and data[field] not in user_groups}
        if errors:
            raise InvalidTaskData("you may only submit for your own department", errors)

    def _form_checks(self, name: str) -> tuple[Any, Any]:
        checks = self._checks.get(name)
        if checks is None:
            path = self.directory / name
            if path.parent != self.directory or not path.is_file():
                raise EngineError(f"form {name!r} is not in {self.directory}")
            schema = json.loads(path.read_text(encoding="utf-8"))
            FormValidator.check_schema(schema)
            checks = (FormValidator(schema), _quick_check(schema))
            with self._lock:
                self._checks[name] = checks
        return checks

    def _validator(self, name: str) -> Any:
        return self._form_checks(name)[0]

    @staticmethod
    def _plainly_valid(quick: Any, data: dict[str, Any]) -> bool:
        """True when the form's quick check may judge the data and finds it valid."""
        # Only JSON's own types: jsonschema-rs takes a tuple for an array, FormValidator not.
        if quick is None or not _plain_json(data):
            return False
        try:
            return bool(quick.is_valid(data))
        except ValueError:   # text jsonschema-rs cannot read (a lone surrogate): say why
            return False

    def validate(self, name: str | None, data: dict[str, Any],
                 departments: Callable[[set[str]], Collection[str]] | None = None) -> None:
        """Raise InvalidTaskData naming each bad field; a task without a form takes any object.

        `departments` tells which of the names it is given are active departments in the
        directory; it is asked only when the form has a field that names one."""
        if not isinstance(data, dict):
            raise InvalidTaskData("task data must be a JSON object", {"": "not an object"})
        if name is None:
            return
        errors: dict[str, str] = {}
        validator, quick = self._form_checks(name)
        if not self._plainly_valid(quick, data):
            # A pattern's own message says what is expected, so it wins over general ones.
            for error in sorted(validator.iter_errors(data),
                                key=lambda e: e.validator != "pattern"):
                for field in _fields(error):
                    errors.setdefault(field, _message(error))
        named = {f: data[f] for f in self.directory_fields(name) if data.get(f) is not None}
        if named and departments is not None:
            known = departments({v for v in named.values() if isinstance(v, str)})
            for field, value in named.items():
                if value not in known:
                    errors.setdefault(field, NOT_A_DEPARTMENT)
        if errors:
            fields = ", ".join(sorted(errors))
            raise InvalidTaskData(f"the form has errors in: {fields}", errors)


def _fields(error: ValidationError) -> list[str]:
    """The dotted paths of the fields an error is about (one error may name several)."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        names = [k for k in error.validator_value if k not in (error.instance or {})]
    elif error.validator == "additionalProperties":
        names = sorted(set(error.instance) - set(error.schema.get("properties", {})))
    else:
        return [".".join(path)]
    return [".".join([*path, name]) for name in names]


def _message(error: ValidationError) -> str:
    """One short English phrase per rule; the web shows it in the reader's language."""
    value = error.validator_value
    if error.validator == "pattern" and value == r"^\d{4}-\d{2}-\d{2}$":
        return "use the form YYYY-MM-DD"
    if error.validator == "minItems" and value == 1:
        return "required"
    if error.validator == "const":
        return "must be confirmed" if value is True else "not an allowed value"
    fixed = {"required": "required", "additionalProperties": "not a field of this form",
             "enum": "choose one of the options", "pattern": "not in the expected form",
             "type": "not the expected kind of value", "format": "not in the expected form"}
    if error.validator == "pattern" and error.schema.get("x-pattern-message"):
        return str(error.schema["x-pattern-message"])
    if error.validator in fixed:
        return fixed[error.validator]
    counted = {"minLength": "at least {} characters", "maxLength": "at most {} characters",
               "minItems": "at least {} items", "maxItems": "at most {} items",
               "minimum": "at least {}", "maximum": "at most {}",
               "x-meaningful": "say something: at least {} letters or digits"}
    if error.validator in counted:
        return counted[error.validator].format(value)
    return "not valid"


def until_fields(schema: dict[str, Any]) -> list[str]:
    """Date fields that end something (a term of use, a granted term): never in the past.

    A form marks them with `"x-not-past": true`; fields named `term` or `*_term` are such
    dates by the convention every shipped form follows.
    """
    found = []
    for name, prop in schema.get("properties", {}).items():
        by_name = name == "term" or name.endswith("_term")
        if prop.get("x-not-past", by_name):
            found.append(name)
    return found


def refuse_past_dates(schema: dict[str, Any], data: dict[str, Any], today: dt.date) -> None:
    errors = {}
    for name in until_fields(schema):
        value = data.get(name)
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            continue
        if day is not None and day < today:
            errors[name] = "must not be in the past"
    if errors:
        raise InvalidTaskData(f"the form has errors in: {', '.join(sorted(errors))}", errors)
