"""Process versions for administrators: who deployed what, how many cases run on it, and
what changed between two versions, in words rather than XML.

Rolling back is deploying an earlier version's XML again: it becomes the newest version
(cases started before keep the version they run on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import case, func, select

from engine.bpmn.lint import MAX_MODEL_BYTES, ModelRefused, lint
from engine.cases.govflow import Govflow
from engine.cases.models import DeployResult
from engine.errors import InvalidInput, ProcessNotFound
from engine.store.schema import cases, process_versions

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
# Parts of an element whose change matters to the people working it.
_TEXT_PARTS = {"timeDate": "timer", "timeDuration": "timer", "timeCycle": "timer",
               "conditionExpression": "condition", "script": "script"}
_SKIP = {"process", "laneSet", "definitions", "collaboration", "extensionElements",
         "incoming", "outgoing", "flowNodeRef", "documentation", "text"}


@dataclass(frozen=True)
class VersionRow:
    id: int
    process_id: str
    version: int
    name: str | None
    file_name: str
    deployed_at: dt.datetime
    deployed_by: str | None
    running: int     # cases not yet completed or cancelled
    total: int


@dataclass(frozen=True)
class Change:
    element_id: str
    name: str
    kind: str                      # the BPMN element type, e.g. userTask
    what: tuple[tuple[str, str | None, str | None], ...] = ()   # (property, before, after)


@dataclass(frozen=True)
class VersionDiff:
    old: VersionRow
    new: VersionRow
    added: tuple[Change, ...]
    removed: tuple[Change, ...]
    changed: tuple[Change, ...]


class Versions:
    def __init__(self, gf: Govflow) -> None:
        self.gf = gf

    def all(self) -> dict[str, list[VersionRow]]:
        """Every version of every process, newest first, with its case counts."""
        open_ = func.sum(case((cases.c.status.in_(("running", "error", "suspended")), 1),
                              else_=0))
        query = (select(process_versions.c.id, process_versions.c.process_id,
                        process_versions.c.version, process_versions.c.name,
                        process_versions.c.file_name, process_versions.c.deployed_at,
                        process_versions.c.deployed_by,
                        func.coalesce(open_, 0).label("running"),
                        func.count(cases.c.id).label("total"))
                 .outerjoin(cases, cases.c.version_id == process_versions.c.id)
                 .group_by(process_versions.c.id)
                 .order_by(process_versions.c.process_id, process_versions.c.version.desc()))
        found: dict[str, list[VersionRow]] = {}
        with self.gf.db.read() as conn:
            for row in conn.execute(query):
                found.setdefault(row.process_id, []).append(VersionRow(**row._mapping))
        return found

    def of(self, process_id: str) -> list[VersionRow]:
        found = self.all().get(process_id)
        if not found:
            raise ProcessNotFound(f"process {process_id!r} is not deployed")
        return found

    def row(self, version_id: int) -> VersionRow:
        for rows in self.all().values():
            for row in rows:
                if row.id == version_id:
                    return row
        raise ProcessNotFound(f"no deployed process version {version_id}")

    def xml(self, version_id: int) -> bytes:
        with self.gf.db.read() as conn:
            return self.gf.definitions.xml(conn, version_id)

    def diff(self, old_id: int, new_id: int) -> VersionDiff:
        old, new = self.row(old_id), self.row(new_id)
        before, after = describe(self.xml(old_id)), describe(self.xml(new_id))
        added = tuple(after[k][0] for k in after if k not in before)
        removed = tuple(before[k][0] for k in before if k not in after)
        changed = []
        for key in before.keys() & after.keys():
            (element, was), (_, now) = before[key], after[key]
            what = tuple((p, was.get(p), now.get(p)) for p in sorted(was.keys() | now.keys())
                         if was.get(p) != now.get(p))
            if what:
                changed.append(Change(element.element_id, after[key][0].name, element.kind, what))
        return VersionDiff(old, new, added, removed,
                           tuple(sorted(changed, key=lambda c: c.element_id)))

    def deploy_upload(self, xml: bytes, file_name: str, admin: str) -> DeployResult:
        """Deploy an uploaded model: size-limited, then validated exactly as `govflow deploy`."""
        if not file_name.endswith(".bpmn"):
            raise InvalidInput("upload a .bpmn file", reason="not_bpmn")
        if not xml or len(xml) > MAX_MODEL_BYTES:
            raise InvalidInput(f"a model file is 1 byte to {MAX_MODEL_BYTES // 1024} KB",
                               reason="size", kb=MAX_MODEL_BYTES // 1024)
        name = file_name.rsplit("/", 1)[-1][:200]
        problems = lint(xml, name, self.gf)
        if problems:
            raise ModelRefused(problems)
        return self.gf.deploy(xml, name, by=admin)

    def rollback(self, version_id: int, admin: str) -> DeployResult:
        """Deploy an earlier version's XML again, as the newest version."""
        row = self.row(version_id)
        return self.gf.deploy(self.xml(version_id), row.file_name, by=admin)


def describe(xml: bytes) -> dict[str, tuple[Change, dict[str, str]]]:
    """Element id -> (the element, its comparable properties)."""
    tree = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    found: dict[str, tuple[Change, dict[str, str]]] = {}
    for node in tree.iter(f"{BPMN}*"):
        kind = etree.QName(node).localname
        ident = node.get("id")
        if not ident or kind in _SKIP:
            continue
        props: dict[str, str] = {}
        if node.get("name"):
            props["name"] = " ".join(node.get("name").split())
        for attr in ("sourceRef", "targetRef", "attachedToRef", "default", "calledElement",
                     "cancelActivity"):
            if node.get(attr) is not None:
                props[attr] = node.get(attr)
        for child in node.iter():
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local in _TEXT_PARTS and (child.text or "").strip():
                props[_TEXT_PARTS[local]] = " ".join(child.text.split())
            elif child.tag == f"{SPIFF}property" and child.get("name"):
                props[child.get("name")] = child.get("value") or ""
            elif local == "documentation" and (child.text or "").strip():
                props["instructions"] = " ".join(child.text.split())
        found[ident] = (Change(ident, props.get("name", ident), kind), props)
    return found
