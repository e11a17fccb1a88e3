"""Catalog files and records: read CSV or JSON, check every record before anything is saved.

A record is checked against a JSON Schema and the directory (its provider is an active
department); a restricted dataset names the legal basis of its restriction. Errors name
the row and the field, so a data authority can fix the file and import it again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.cases.forms import says_something, trimmed
from engine.errors import InvalidCatalog

SHARE_CLASSES = {"unconditional": "无条件共享", "conditional": "有条件共享",
                 "not_shared": "不予共享"}
OPEN_CLASSES = {"open_unconditional": "无条件开放", "open_conditional": "有条件开放",
                "not_open": "不予开放"}
FIELDS = ("id", "name", "provider_dept", "share_class", "open_class", "data_items",
          "restriction_basis")
# In a CSV file the data items of a dataset share one cell, separated by any of these.
ITEM_SEPARATORS = ("|", ";", "；", "、")
_TEXT = {"type": "string", "maxLength": 300}
RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "provider_dept", "share_class", "open_class", "data_items"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", "maxLength": 100},
        "name": {**_TEXT, "minLength": 2},
        "provider_dept": {"type": "string", "maxLength": 200},
        "share_class": {"enum": list(SHARE_CLASSES)},
        "open_class": {"enum": list(OPEN_CLASSES)},
        "data_items": {"type": "array", "minItems": 1, "maxItems": 500, "uniqueItems": True,
                       "items": {**_TEXT, "minLength": 1}},
        "restriction_basis": {"type": ["string", "null"], "maxLength": 1000},
    },
}
_VALIDATOR = Draft202012Validator(RECORD_SCHEMA)


# -- reading files ---------------------------------------------------------------------

def read_file(path: Path | str) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs from a CSV or JSON file; `where` names the row for errors."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return _read_json(text)
    if path.suffix.lower() == ".csv":
        return _read_csv(text)
    raise InvalidCatalog(f"{path.name}: a catalog file is .csv or .json", {"file": "type"})


def _read_json(text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCatalog(f"line {exc.lineno}: not valid JSON ({exc.msg})",
                             {f"line {exc.lineno}": exc.msg}) from None
    records = loaded.get("datasets") if isinstance(loaded, dict) else loaded
    if not isinstance(records, list):
        raise InvalidCatalog("a JSON catalog is a list of datasets or {\"datasets\": [...]}",
                             {"file": "not a list"})
    return [(f"row {n}", r) for n, r in enumerate(records, start=1)]


def _read_csv(text: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = sorted(set(reader.fieldnames or ()) - set(FIELDS))
    if unknown:
        raise InvalidCatalog(f"row 1, field {unknown[0]}: not a catalog column "
                             f"(columns: {', '.join(FIELDS)})", {f"row 1.{unknown[0]}": "unknown"})
    found = []
    for row in reader:
        record: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
        items = record.get("data_items")
        if isinstance(items, str):
            for sep in ITEM_SEPARATORS[1:]:
                items = items.replace(sep, ITEM_SEPARATORS[0])
            record["data_items"] = [i.strip() for i in items.split("|") if i.strip()]
        if record.get("restriction_basis") == "":
            record["restriction_basis"] = None
        found.append((f"row {reader.line_num}", record))
    return found


# -- checking records ------------------------------------------------------------------

def _normal(record: Any) -> Any:
    """Trimmed text, and the Chinese class names accepted for the keys."""
    if not isinstance(record, dict):
        return record
    record = trimmed(record)
    for key, names in (("share_class", SHARE_CLASSES), ("open_class", OPEN_CLASSES)):
        by_label = {label: k for k, label in names.items()}
        if record.get(key) in by_label:
            record[key] = by_label[record[key]]
    return record


def check(records: list[tuple[str, Any]], departments: dict[str, str]) -> list[dict[str, Any]]:
    """The records, normalised; or InvalidCatalog naming the first bad row and field."""
    errors: dict[str, str] = {}
    clean, seen = [], {}
    for where, raw in records:
        record = _normal(raw)
        problems = _problems(record, departments)
        if isinstance(record, dict) and record.get("id") in seen:
            problems.setdefault("id", f"repeats {seen[record['id']]}")
        for field, message in problems.items():
            errors[f"{where}.{field}" if field else where] = message
        if not problems:
            seen[record["id"]] = where
            clean.append(record)
    if not records:
        errors["file"] = "no datasets"
    if errors:
        first = next(iter(errors))
        where, _, field = first.partition(".")
        raise InvalidCatalog(f"{where}{', field ' + field if field else ''}: {errors[first]}"
                             + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                             errors)
    return clean


def _problems(record: Any, departments: dict[str, str]) -> dict[str, str]:
    if not isinstance(record, dict):
        return {"": "a dataset is an object"}
    problems: dict[str, str] = {}
    for error in _VALIDATOR.iter_errors(record):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in record:
                    problems.setdefault(name, "required")
        elif error.validator == "additionalProperties":
            for name in sorted(set(record) - set(RECORD_SCHEMA["properties"])):
                problems.setdefault(name, "not a catalog field")
        else:
            field = str(error.absolute_path[0]) if error.absolute_path else ""
            problems.setdefault(field, error.message)
    provider = record.get("provider_dept")
    if isinstance(provider, str) and provider not in departments:
        problems.setdefault("provider_dept", "not an active department of the directory")
    restricted = (record.get("share_class") != "unconditional"
                  or record.get("open_class") != "open_unconditional")
    basis = record.get("restriction_basis") or ""
    if restricted and "restriction_basis" not in problems and not says_something(basis, 6):
        problems["restriction_basis"] = ("a restricted dataset names the legal basis of its "
                                         "restriction")
    return problems
