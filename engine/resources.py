"""The resource catalog (政务数据资源目录): which department provides which data, how.

The data authority keeps the catalog. Each dataset has an id, a name, its provider
department, a share class (无条件/有条件/不予共享), an open class (无条件开放/有条件开放/
不予开放), its data items and the legal basis of any restriction. Every change makes a
new catalog version that records who changed what, when and why; cases record the
version they were decided on. Share requests are routed from here, never from what the
applicant declares.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from sqlalchemy import Connection, func, insert, or_, select, update

from . import directory
from .errors import DatasetNotFound, InvalidCatalog, InvalidTaskData, NotAllowed
from .forms import says_something, trimmed
from .schema import catalog_datasets, catalog_versions

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


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    provider_dept: str
    share_class: str
    open_class: str
    data_items: tuple[str, ...]
    restriction_basis: str | None
    version: int

    @property
    def restricted(self) -> bool:
        return self.share_class != "unconditional" or self.open_class != "open_unconditional"

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "provider_dept": self.provider_dept,
                "share_class": self.share_class, "open_class": self.open_class,
                "data_items": list(self.data_items),
                "restriction_basis": self.restriction_basis}


@dataclass(frozen=True)
class CatalogVersion:
    version: int
    created_at: dt.datetime
    created_by: str
    reason: str | None
    changes: list[dict[str, Any]]


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


# -- changing the catalog ----------------------------------------------------------------

def current_version(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(catalog_versions.c.version), 0)))
               .scalar_one())


def save(conn: Connection, records: list[tuple[str, Any]], *, by: str, now: dt.datetime,
         reason: str | None = None) -> CatalogVersion | None:
    """Add or replace datasets, all or nothing; a new version if anything changed."""
    clean = check(records, directory.active_departments(conn))
    before = {d.id: d.record() for d in datasets(conn, ids=[r["id"] for r in clean])}
    full = [{**{k: None for k in FIELDS}, **r} for r in clean]
    changes = [{"id": r["id"], "before": before.get(r["id"]), "after": r}
               for r in full if before.get(r["id"]) != r]
    if not changes:
        return None
    version = current_version(conn) + 1
    for change in changes:
        values = {**change["after"], "version": version}
        if change["before"] is None:
            conn.execute(insert(catalog_datasets).values(**values))
        else:
            conn.execute(update(catalog_datasets)
                         .where(catalog_datasets.c.id == change["id"]).values(**values))
    conn.execute(insert(catalog_versions).values(version=version, created_at=now,
                                                 created_by=by, reason=reason, changes=changes))
    return CatalogVersion(version, now, by, reason, changes)


# -- reading the catalog -----------------------------------------------------------------

def _dataset(row: Any) -> Dataset:
    return Dataset(row.id, row.name, row.provider_dept, row.share_class, row.open_class,
                   tuple(row.data_items), row.restriction_basis, row.version)


def datasets(conn: Connection, *, search: str | None = None, provider: str | None = None,
             ids: list[str] | None = None) -> list[Dataset]:
    query = select(catalog_datasets).order_by(catalog_datasets.c.id)
    if search and search.strip():
        text = search.strip()
        query = query.where(or_(catalog_datasets.c.id.contains(text, autoescape=True),
                                catalog_datasets.c.name.contains(text, autoescape=True)))
    if provider:
        query = query.where(catalog_datasets.c.provider_dept == provider)
    if ids is not None:
        query = query.where(catalog_datasets.c.id.in_(ids))
    return [_dataset(row) for row in conn.execute(query)]


def get(conn: Connection, dataset_id: str) -> Dataset:
    row = conn.execute(select(catalog_datasets)
                       .where(catalog_datasets.c.id == dataset_id)).first()
    if row is None:
        raise DatasetNotFound(f"dataset {dataset_id!r} is not in the catalog")
    return _dataset(row)


def versions(conn: Connection, dataset_id: str | None = None) -> list[CatalogVersion]:
    rows = conn.execute(select(catalog_versions).order_by(catalog_versions.c.version.desc()))
    found = [CatalogVersion(r.version, r.created_at, r.created_by, r.reason, r.changes)
             for r in rows]
    if dataset_id is not None:
        found = [v for v in found if any(c["id"] == dataset_id for c in v.changes)]
    return found


# -- routing a request from the catalog ----------------------------------------------------

SELF_PROVIDED = "本部门即该数据的提供部门，无需申请 (your own department provides this dataset)"


def route(conn: Connection, schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """What the catalog says about the dataset a start form names (`"x-catalog":
    "dataset"`): its name, provider, classes and items, and the catalog version. The
    requested items (`"x-catalog": "items"`) must be items of the dataset (S11), and a
    department never requests what it provides itself. Nothing the applicant typed
    decides these."""
    props = schema.get("properties", {})
    field = next((n for n, p in props.items() if p.get("x-catalog") == "dataset"), None)
    if field is None:
        return {}
    facts: dict[str, Any] = {"catalog_version": current_version(conn),
                             "in_catalog": bool(data.get(field))}
    if not data.get(field):
        return facts
    try:
        found = get(conn, data[field])
    except DatasetNotFound:
        raise InvalidTaskData(f"{data[field]!r} is not in the catalog", {
            field: "不在资源目录中 (not in the resource catalog)"}) from None
    errors: dict[str, str] = {}
    items_field = next((n for n, p in props.items() if p.get("x-catalog") == "items"), None)
    extra = [i for i in data.get(items_field, ()) if i not in found.data_items]
    if items_field and extra:
        errors[items_field] = ("不是该数据资源的数据项 (not items of this dataset): "
                               + "、".join(extra))
    if data.get("requester_dept") == found.provider_dept:
        errors[field] = SELF_PROVIDED
    if errors:
        raise InvalidTaskData("the request does not fit the catalog: "
                              + ", ".join(sorted(errors)), errors)
    return {**facts, "dataset": found.name, "provider_dept": found.provider_dept,
            "share_class": found.share_class, "open_class": found.open_class,
            "dataset_items": list(found.data_items)}


# -- the use cases, mixed into Govflow ---------------------------------------------------

DATA_AUTHORITY = "data_authority"


class CatalogUseCases:
    """Keeping and reading the catalog; uses Govflow's database and clock."""

    if TYPE_CHECKING:
        from .db import Database

        db: Database

        def now(self) -> dt.datetime: ...

    def import_catalog(self, path: Path | str, *, by: str,
                       reason: str | None = None) -> CatalogVersion | None:
        """Add or replace the datasets of a CSV or JSON file: all of them or none."""
        return self.save_datasets(read_file(path), by=by,
                                  reason=reason or f"import {Path(path).name}")

    def save_datasets(self, records: list[tuple[str, Any]], *, by: str,
                      reason: str | None = None) -> CatalogVersion | None:
        with self.db.write() as conn:
            if DATA_AUTHORITY not in directory.groups_of(conn, by):
                raise NotAllowed(f"only the data authority ({DATA_AUTHORITY}) changes the "
                                 f"catalog; {by} is not an active member")
            return save(conn, records, by=by, now=self.now(), reason=reason)

    def catalog(self, search: str | None = None,
                provider: str | None = None) -> list[Dataset]:
        with self.db.read() as conn:
            return datasets(conn, search=search, provider=provider)

    def dataset(self, dataset_id: str) -> Dataset:
        with self.db.read() as conn:
            return get(conn, dataset_id)

    def catalog_versions(self, dataset_id: str | None = None) -> list[CatalogVersion]:
        with self.db.read() as conn:
            return versions(conn, dataset_id)
