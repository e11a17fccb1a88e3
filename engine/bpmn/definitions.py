"""Deployed process versions: every deploy of changed XML is a new version, all are kept.

A case records the version it started on and is always restored on that version's
spec, so editing a model never changes the rules of cases already running. Parsed
specs are cached per version: parsing happens once per process version and worker.
`Definitions(cache=False)` parses the stored XML at every use, as a fresh process does.

A deploy takes several files at once and stores all of them or none. Every executable
process of a file (each pool of a collaboration) becomes a process of its own. A call
activity names a process by id; it resolves against the same deploy or an earlier one,
and a case pins the latest version of each process it calls when it starts
(`case_calls`), so deploying a called process again never changes a running case.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from engine.bpmn.parse import DECISION_ID, ParsedBpmn, embed_decisions, iter_process_ids, parse_bpmn
from engine.cases.models import DeployResult
from engine.errors import BpmnValidationError, ProcessNotFound
from engine.store.rawsql import RawSQL
from engine.store.schema import case_calls, process_versions

#: Where a business rule task's `<decision_id>.dmn` is looked up at deploy time.
DEFAULT_DECISIONS = Path(__file__).resolve().parents[2] / "workflows"


_LATEST = "SELECT max(id) FROM process_versions WHERE process_id = :process_id"


@dataclass(frozen=True)
class DeployedVersion:
    id: int
    process_id: str
    version: int
    name: str | None
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]

    @property
    def calls(self) -> list[str]:
        """Processes this version calls that live in other files (pinned per case)."""
        return sorted(k for k, v in self.subprocess_specs.items() if v is None)


@dataclass(frozen=True)
class BpmnFile:
    """One file of a deploy; its decision tables are looked up in `folder`."""

    name: str
    xml: bytes
    folder: Path | None = None


class Definitions:
    def __init__(self, decisions_dir: Path | str | None = None, *, cache: bool = True) -> None:
        self.decisions_dir = Path(decisions_dir or DEFAULT_DECISIONS)
        self.cache = cache
        self._by_id: dict[int, DeployedVersion] = {}
        self._with_calls: dict[tuple[int, tuple[tuple[str, int], ...]], DeployedVersion] = {}
        self._lock = threading.Lock()

    def deploy(self, conn: Connection, files: list[BpmnFile], *, by: str | None,
               now: dt.datetime) -> tuple[list[DeployResult], list[DeployedVersion]]:
        """Validate every file, then store each changed process as its next version.

        All or nothing: the caller's transaction holds every version, and the new
        versions are handed back to be remembered (`remember`) only once it commits.
        Decision tables a process calls are embedded first (see `embed_decisions`).
        """
        parsed: list[tuple[BpmnFile, ParsedBpmn]] = []
        for file in files:
            xml = embed_decisions(file.xml, file.name, lambda d, f=file: self._decision_file(d, f))
            parsed += [(file, parse_bpmn(xml, file.name, process_id=process_id))
                       for process_id in iter_process_ids(xml) or [None]]
        seen: dict[str, str] = {}
        for file, one in parsed:
            if one.process_id in seen:
                raise BpmnValidationError(f"process {one.process_id!r} is also in "
                                          f"{seen[one.process_id]}", file=file.name)
            seen[one.process_id] = file.name
        for file, one in parsed:
            for called, (element, line) in one.calls.items():
                if called not in seen and self._latest_id(conn, called) is None:
                    raise BpmnValidationError(
                        f"calls process {called!r}, which is neither deployed nor in this "
                        "deploy", file=file.name, element=element, line=line)
        results, created = [], []
        for file, one in parsed:
            result, deployed = self._store(conn, one, file.name, by=by, now=now)
            results.append(result)
            if deployed is not None:
                created.append(deployed)
        return results, created

    def remember(self, versions: list[DeployedVersion]) -> None:
        for deployed in versions:
            self._remember(deployed)

    def _store(self, conn: Connection, parsed: ParsedBpmn, file_name: str, *, by: str | None,
               now: dt.datetime) -> tuple[DeployResult, DeployedVersion | None]:
        """Store one process as its next version; identical XML changes nothing."""
        latest = conn.execute(
            select(process_versions.c.id, process_versions.c.version,
                   process_versions.c.content_hash)
            .where(process_versions.c.process_id == parsed.process_id)
            .order_by(process_versions.c.version.desc()).limit(1)
        ).first()
        if latest is not None and latest.content_hash == parsed.content_hash:
            return DeployResult(parsed.process_id, latest.version, latest.id,
                                parsed.content_hash, created=False), None
        version = (latest.version if latest else 0) + 1
        version_id = conn.execute(insert(process_versions).values(
            process_id=parsed.process_id, version=version, name=parsed.name,
            file_name=file_name, xml=parsed.xml, content_hash=parsed.content_hash,
            deployed_at=now, deployed_by=by,
        )).inserted_primary_key[0]
        deployed = DeployedVersion(version_id, parsed.process_id, version, parsed.name,
                                   parsed.content_hash, parsed.spec, parsed.subprocess_specs)
        return DeployResult(parsed.process_id, version, version_id, parsed.content_hash,
                            created=True), deployed

    def _decision_file(self, decision_id: str, file: BpmnFile | None = None) -> bytes | None:
        """`<decision_id>.dmn` next to the BPMN file (or in the default folder)."""
        folder = file.folder if file is not None and file.folder is not None else None
        path = (folder or self.decisions_dir) / f"{decision_id}.dmn"
        if not DECISION_ID.match(decision_id) or not path.is_file():
            return None
        return path.read_bytes()

    def _remember(self, deployed: DeployedVersion) -> None:
        if not self.cache:
            return
        with self._lock:
            self._by_id[deployed.id] = deployed

    def get(self, conn: Connection, version_id: int) -> DeployedVersion:
        cached = self._by_id.get(version_id)
        if cached is not None:
            return cached
        row = conn.execute(
            select(process_versions).where(process_versions.c.id == version_id)).first()
        if row is None:
            raise ProcessNotFound(f"no deployed process version {version_id}")
        parsed = parse_bpmn(bytes(row.xml), row.file_name, check=False,
                            process_id=row.process_id)
        deployed = DeployedVersion(row.id, row.process_id, row.version, row.name,
                                   row.content_hash, parsed.spec, parsed.subprocess_specs)
        self._remember(deployed)
        return deployed

    def latest(self, conn: Connection, process_id: str) -> DeployedVersion:
        version_id = self._latest_id(conn, process_id)
        if version_id is None:
            raise ProcessNotFound(f"process {process_id!r} is not deployed")
        return self.get(conn, version_id)

    def _latest_id(self, conn: Connection, process_id: str) -> int | None:
        return RawSQL.of(conn).one(conn, _LATEST, {"process_id": process_id})[0]  # type: ignore[index]

    # -- call activities -----------------------------------------------------------------
    def pin_calls(self, conn: Connection, case_id: int,
                  deployed: DeployedVersion) -> DeployedVersion:
        """Fix, for a new case, the latest version of every process it may call (also
        through called processes), record them, and return the spec set to run on."""
        pins: dict[str, int] = {}
        pending = list(deployed.calls)
        while pending:
            process_id = pending.pop()
            if process_id in pins:
                continue
            called = self.latest(conn, process_id)
            pins[process_id] = called.id
            pending.extend(called.calls)
        if pins:
            conn.execute(case_calls.insert(), [
                {"case_id": case_id, "process_id": p, "version_id": v} for p, v in pins.items()])
        return self._combine(conn, deployed, pins)

    def for_case(self, conn: Connection, case_id: int, version_id: int) -> DeployedVersion:
        """The version a case runs on, with the called processes it pinned."""
        deployed = self.get(conn, version_id)
        if not deployed.calls:
            return deployed
        rows = conn.execute(select(case_calls.c.process_id, case_calls.c.version_id)
                            .where(case_calls.c.case_id == case_id))
        return self._combine(conn, deployed, {r.process_id: r.version_id for r in rows})

    def _combine(self, conn: Connection, deployed: DeployedVersion,
                 pins: dict[str, int]) -> DeployedVersion:
        if not pins:
            return deployed
        key = (deployed.id, tuple(sorted(pins.items())))
        cached = self._with_calls.get(key)
        if cached is not None:
            return cached
        specs = dict(deployed.subprocess_specs)
        for process_id, version_id in pins.items():
            called = self.get(conn, version_id)
            specs[process_id] = called.spec
            specs.update({k: v for k, v in called.subprocess_specs.items() if v is not None})
        combined = replace(deployed, subprocess_specs=specs)
        with self._lock:
            self._with_calls[key] = combined
        return combined

    def xml(self, conn: Connection, version_id: int) -> bytes:
        xml = conn.execute(
            select(process_versions.c.xml).where(process_versions.c.id == version_id)).scalar()
        if xml is None:
            raise ProcessNotFound(f"no deployed process version {version_id}")
        return bytes(xml)

    def list_versions(self, conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(process_versions.c.id, process_versions.c.process_id,
                   process_versions.c.version, process_versions.c.name,
                   process_versions.c.content_hash, process_versions.c.deployed_at)
            .order_by(process_versions.c.process_id, process_versions.c.version))
        return [dict(row._mapping) for row in rows]
