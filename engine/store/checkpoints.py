"""Signed checkpoints of the audit chains: what a keyed chain alone cannot show.

A keyed chain shows an edited event, but not a case deleted with all its events. A
checkpoint anchors the head (sequence number and MAC) of every case whose trail grew
since the previous checkpoint, and is itself MACed under the audit key together with
the previous checkpoint's MAC. `verify` then finds a case that was deleted, or whose
anchored events were rewritten, after the checkpoint that anchored it, and a
checkpoint deleted or edited. Each checkpoint is also appended to a log file outside
the database (GOVFLOW_AUDIT_CHECKPOINT_LOG; for SQLite, `<database>.checkpoints` by
default), so deleting the newest checkpoints is seen too.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine import make_url

from engine.store.auditkey import AuditKey, current_key
from engine.store.schema import audit_anchors, audit_checkpoints, audit_events, cases

GENESIS = "0" * 64


@dataclass(frozen=True)
class Checkpoint:
    id: int
    at: dt.datetime
    cases: int
    mac: str


def log_path(database_url: str) -> Path | None:
    """Where checkpoints are logged outside the database, if anywhere."""
    named = os.environ.get("GOVFLOW_AUDIT_CHECKPOINT_LOG")
    if named:
        return Path(named)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".checkpoints")
    return None


def _mac(key: AuditKey, number: int, at: dt.datetime, key_id: str, previous: str,
         entries: list[tuple[int, int, str]]) -> str:
    body = orjson.dumps([number, at.astimezone(dt.UTC).isoformat(), key_id, previous,
                         sorted(entries)])
    return key.mac(body)


def take(conn: Connection, now: dt.datetime, key: AuditKey | None = None) -> Checkpoint | None:
    """Anchor every case whose trail grew since the last checkpoint; None when none did.

    Two schedulers taking one at once insert the same checkpoint number: the second
    fails on the primary key and its transaction rolls back."""
    key = key or current_key()
    anchored = (select(func.max(audit_anchors.c.seq))
                .where(audit_anchors.c.case_id == cases.c.id).scalar_subquery())
    grown = [(r.id, r.audit_seq, r.audit_head) for r in conn.execute(
        select(cases.c.id, cases.c.audit_seq, cases.c.audit_head)
        .where(cases.c.audit_seq > func.coalesce(anchored, 0)).order_by(cases.c.id))]
    if not grown:
        return None
    last = conn.execute(select(audit_checkpoints.c.id, audit_checkpoints.c.mac)
                        .order_by(audit_checkpoints.c.id.desc()).limit(1)).first()
    number, previous = (last.id + 1, last.mac) if last else (1, GENESIS)
    mac = _mac(key, number, now, key.id, previous, grown)
    conn.execute(insert(audit_checkpoints), {"id": number, "at": now, "key_id": key.id,
                                             "previous": previous, "cases": len(grown),
                                             "mac": mac})
    conn.execute(insert(audit_anchors), [
        {"checkpoint_id": number, "case_id": c, "seq": s, "head": h} for c, s, h in grown])
    return Checkpoint(number, now, len(grown), mac)


def append_to_log(path: Path | None, checkpoint: Checkpoint) -> None:
    """Record a committed checkpoint outside the database (one JSON line)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps({"id": checkpoint.id, "at": checkpoint.at.isoformat(),
                         "cases": checkpoint.cases, "mac": checkpoint.mac})
    with path.open("ab") as out:
        out.write(line + b"\n")


def verify(conn: Connection, path: Path | None, key: AuditKey | None = None) -> list[str]:
    """Check the checkpoints, what they anchor, and the log outside the database."""
    key = key or current_key()
    problems: list[str] = []
    entries: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for row in conn.execute(select(audit_anchors)):
        entries[row.checkpoint_id].append((row.case_id, row.seq, row.head))
    stored = {}
    previous, expected = GENESIS, 1
    for row in conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id)):
        stored[row.id] = row.mac
        if row.id != expected:
            problems.append(f"audit checkpoints {expected} to {row.id - 1} are missing")
        elif row.previous != previous:
            problems.append(f"audit checkpoint {row.id} does not follow its predecessor")
        if _mac(key, row.id, row.at, row.key_id, row.previous, entries[row.id]) != row.mac:
            other = (f" (signed with key {row.key_id}, govflow has key {key.id})"
                     if row.key_id != key.id else "")
            problems.append(f"audit checkpoint {row.id} was altered{other}")
        previous, expected = row.mac, row.id + 1
    problems += _check_anchors(conn)
    if path is not None and path.exists():
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            try:
                logged = orjson.loads(line)
                logged_id, logged_mac = int(logged["id"]), str(logged["mac"])
            except (ValueError, KeyError, TypeError):
                problems.append(f"{path}: line {number} is not a checkpoint")
                continue
            if logged_id not in stored:
                problems.append(f"audit checkpoint {logged_id} of {path} is missing from the "
                                "database")
            elif stored[logged_id] != logged_mac:
                problems.append(f"audit checkpoint {logged_id} differs from {path}")
    return problems


def _check_anchors(conn: Connection) -> list[str]:
    """Every anchored head is still there: the case, and its event with that MAC."""
    problems, deleted = [], set()
    query = (select(audit_anchors.c.checkpoint_id, audit_anchors.c.case_id,
                    audit_anchors.c.seq, audit_anchors.c.head, audit_events.c.hash,
                    cases.c.id.label("present"))
             .outerjoin(audit_events, (audit_events.c.case_id == audit_anchors.c.case_id)
                        & (audit_events.c.seq == audit_anchors.c.seq))
             .outerjoin(cases, cases.c.id == audit_anchors.c.case_id)
             .order_by(audit_anchors.c.case_id, audit_anchors.c.seq))
    for row in conn.execute(query):
        where = f"checkpoint {row.checkpoint_id} anchored its event {row.seq}"
        if row.present is None:
            if row.case_id in deleted:
                continue
            deleted.add(row.case_id)
            problems.append(f"case {row.case_id} was deleted ({where})")
        elif row.hash is None:
            problems.append(f"case {row.case_id}: event {row.seq} is missing ({where})")
        elif row.hash != row.head:
            problems.append(f"case {row.case_id}: event {row.seq} was rewritten ({where} "
                            "with another MAC)")
    return problems
