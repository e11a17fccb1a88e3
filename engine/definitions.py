"""Deployed process versions: every deploy of changed XML is a new version, all are kept.

A case records the version it started on and is always restored on that version's
spec, so editing a model never changes the rules of cases already running. Parsed
specs are cached per version: parsing happens once per process version and worker.
`Definitions(cache=False)` parses the stored XML at every use, as a fresh process does.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from .bpmn import DECISION_ID, embed_decisions, parse_bpmn
from .errors import ProcessNotFound
from .models import DeployResult
from .rawsql import RawSQL
from .schema import process_versions

#: Where a business rule task's `<decision_id>.dmn` is looked up at deploy time.
DEFAULT_DECISIONS = Path(__file__).resolve().parent.parent / "workflows"


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


class Definitions:
    def __init__(self, decisions_dir: Path | str | None = None, *, cache: bool = True) -> None:
        self.decisions_dir = Path(decisions_dir or DEFAULT_DECISIONS)
        self.cache = cache
        self._by_id: dict[int, DeployedVersion] = {}
        self._lock = threading.Lock()

    def deploy(
        self, conn: Connection, xml: bytes, file_name: str, *, by: str | None, now: dt.datetime,
    ) -> DeployResult:
        """Validate and store `xml` as the next version; identical XML changes nothing.

        Decision tables the process calls are embedded first (see `embed_decisions`).
        """
        xml = embed_decisions(xml, file_name, self._decision_file)
        parsed = parse_bpmn(xml, file_name)
        latest = conn.execute(
            select(process_versions.c.id, process_versions.c.version,
                   process_versions.c.content_hash)
            .where(process_versions.c.process_id == parsed.process_id)
            .order_by(process_versions.c.version.desc()).limit(1)
        ).first()
        if latest is not None and latest.content_hash == parsed.content_hash:
            return DeployResult(parsed.process_id, latest.version, latest.id,
                                parsed.content_hash, created=False)
        version = (latest.version if latest else 0) + 1
        version_id = conn.execute(insert(process_versions).values(
            process_id=parsed.process_id, version=version, name=parsed.name,
            file_name=file_name, xml=parsed.xml, content_hash=parsed.content_hash,
            deployed_at=now, deployed_by=by,
        )).inserted_primary_key[0]
        self._remember(DeployedVersion(version_id, parsed.process_id, version, parsed.name,
                                       parsed.content_hash, parsed.spec, parsed.subprocess_specs))
        return DeployResult(parsed.process_id, version, version_id, parsed.content_hash,
                            created=True)

    def _decision_file(self, decision_id: str) -> bytes | None:
        path = self.decisions_dir / f"{decision_id}.dmn"
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
        parsed = parse_bpmn(bytes(row.xml), row.file_name, check=False)
        deployed = DeployedVersion(row.id, row.process_id, row.version, row.name,
                                   row.content_hash, parsed.spec, parsed.subprocess_specs)
        self._remember(deployed)
        return deployed

    def latest(self, conn: Connection, process_id: str) -> DeployedVersion:
        version_id = RawSQL.of(conn).one(conn, _LATEST, {"process_id": process_id})[0]  # type: ignore[index]
        if version_id is None:
            raise ProcessNotFound(f"process {process_id!r} is not deployed")
        return self.get(conn, version_id)

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
