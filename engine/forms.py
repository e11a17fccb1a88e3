"""Task forms: one JSON Schema per user task, validated before any step runs.

A form lists exactly the fields a reviewer may write (`additionalProperties: false`),
so a submission can never overwrite case data the form does not offer, such as the
outcome a script records.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import EngineError, InvalidTaskData

DEFAULT_FORMS = Path(__file__).resolve().parent.parent / "workflows" / "forms"


class FormLibrary:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or DEFAULT_FORMS)
        self._validators: dict[str, Draft202012Validator] = {}
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

    def _validator(self, name: str) -> Draft202012Validator:
        validator = self._validators.get(name)
        if validator is None:
            path = self.directory / name
            if path.parent != self.directory or not path.is_file():
                raise EngineError(f"form {name!r} is not in {self.directory}")
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema)
            with self._lock:
                self._validators[name] = validator
        return validator

    def validate(self, name: str | None, data: dict[str, Any]) -> None:
        """Raise InvalidTaskData naming each bad field; a task without a form takes any object."""
        if not isinstance(data, dict):
            raise InvalidTaskData("task data must be a JSON object", {"": "not an object"})
        if name is None:
            return
        errors: dict[str, str] = {}
        for error in self._validator(name).iter_errors(data):
            for field in _fields(error):
                errors.setdefault(field, _message(error))
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
    if error.validator in fixed:
        return fixed[error.validator]
    counted = {"minLength": "at least {} characters", "maxLength": "at most {} characters",
               "minItems": "at least {} items", "maxItems": "at most {} items",
               "minimum": "at least {}", "maximum": "at most {}"}
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
