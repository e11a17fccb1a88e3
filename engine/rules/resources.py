"""The resource catalog (政务数据资源目录): which department provides which data, how.

The data authority keeps the catalog. Each dataset has an id, a name, its provider
department, a share class (无条件/有条件/不予共享), an open class (无条件开放/有条件开放/
不予开放), its data items and the legal basis of any restriction. Every change makes a
new catalog version that records who changed what, when and why; cases record the
version they were decided on. Share requests are routed from here, never from what the
applicant declares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, or_, select, update

from engine.errors import DatasetNotFound, InvalidTaskData, NotAllowed
from engine.people import directory
from engine.rules.catalog_files import FIELDS, check, read_file
from engine.store.rawsql import RawSQL
from engine.store.schema import catalog_datasets, catalog_versions


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


# -- changing the catalog ----------------------------------------------------------------

_CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM catalog_versions"
_DATASET = ("SELECT id, name, provider_dept, share_class, open_class, data_items,"
            " restriction_basis, version FROM catalog_datasets WHERE id = :id")


def current_version(conn: Connection) -> int:
    # Every share request asks for it: the raw cursor keeps that off the request's time.
    return int(RawSQL.of(conn).one(conn, _CURRENT_VERSION, {})[0])  # type: ignore[index]


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
        # `health-birth` finds HEALTH-BIRTH on PostgreSQL too, whose LIKE minds the case
        query = query.where(or_(catalog_datasets.c.id.icontains(text, autoescape=True),
                                catalog_datasets.c.name.icontains(text, autoescape=True)))
    if provider:
        query = query.where(catalog_datasets.c.provider_dept == provider)
    if ids is not None:
        query = query.where(catalog_datasets.c.id.in_(ids))
    return [_dataset(row) for row in conn.execute(query)]


def get(conn: Connection, dataset_id: str) -> Dataset:
    raw = RawSQL.of(conn)
    row = raw.one(conn, _DATASET, {"id": dataset_id})
    if row is None:
        raise DatasetNotFound(f"dataset {dataset_id!r} is not in the catalog")
    ident, name, provider, share_class, open_class, items, basis, version = row
    return Dataset(ident, name, provider, share_class, open_class,
                   tuple(raw.read_doc(items)), basis, version)


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


def add_from_case(conn: Connection, number: str, addition: dict[str, Any], *,
                  now: dt.datetime) -> CatalogVersion | None:
    """S8 (HB 22): data shared on an out-of-catalog request is listed in the catalog.

    Its open class stays "not open" until the data authority decides otherwise (opening
    has its own procedure, O2/O3)."""
    record = {"id": f"S8-{number}", "name": addition.get("dataset"),
              "provider_dept": addition.get("provider_dept"),
              "share_class": addition.get("share_class"), "open_class": "not_open",
              "data_items": list(addition.get("data_items") or ()),
              "restriction_basis": f"S8（HB 22）：共享申请 {number} 同意共享后列入目录，"
                                   "开放属性待数据主管部门确定"}
    return save(conn, [(number, record)], by=directory.SYSTEM, now=now,
                reason=f"S8: shared on request {number}")


# -- the use cases, mixed into Govflow ---------------------------------------------------

DATA_AUTHORITY = "data_authority"


class CatalogUseCases:
    """Keeping and reading the catalog; uses Govflow's database and clock."""

    if TYPE_CHECKING:
        from engine.store.db import Database

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
