"""抄送: copy a case to users or groups for information.

Whoever may act on the case — the applicant, or the holder or a candidate of one of its
open tasks — may copy it, unless an open task's model says `allowCopy` false. The
recipients see the case read-only (its page, its history) and list it under "copied to
me"; they are told in the bell. Copying changes no workflow state: it is checked against
the case's audit sequence like a claim, and audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from engine.errors import CaseNotFound, Conflict, InvalidTaskData, NotAllowed
from engine.notify import outbox
from engine.people import directory
from engine.people.access import case_number
from engine.store.audit import PendingEvent
from engine.store.schema import case_copies, cases, groups, human_tasks

if TYPE_CHECKING:
    from engine.bpmn.definitions import Definitions
    from engine.store.db import Database


@dataclass(frozen=True)
class CopiedCase:
    case_id: int
    number: str
    process_id: str
    status: str
    requester: str | None
    recipient: str
    copied_by: str
    copied_at: dt.datetime
    note: str | None


def recipients_of(conn: Connection, user: str) -> list[str]:
    """The copy recipients that reach `user`: themselves and each of their groups."""
    return [f"user:{user}", *(f"group:{g}" for g in sorted(directory.groups_of(conn, user)))]


class CopyUseCases:
    if TYPE_CHECKING:
        db: Database
        definitions: Definitions

        def now(self) -> dt.datetime: ...
        def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None: ...
        def is_applicant(self, conn: Connection, started_by: str | None,
                         data: dict[str, Any], user: str) -> bool: ...
        def _copy_forbidden_by(self, conn: Connection, case_id: int) -> str | None: ...

    def copy_case(self, case_id: int, user: str, to: list[str], note: str = "") -> list[str]:
        """Copy a case to `to` ("user:NAME" or "group:NAME"); returns the new recipients."""
        wanted = sorted({r.strip() for r in to if r and r.strip()})
        if not wanted:
            raise InvalidTaskData("name at least one user or group to copy to",
                                  {"to": "请选择抄送对象 (choose recipients)"})
        with self.db.write() as conn:
            case = conn.execute(select(cases.c.status, cases.c.started_by, cases.c.data)
                                .where(cases.c.id == case_id)).first()
            if case is None:
                raise CaseNotFound(f"case {case_number(case_id)} does not exist")
            if not (self.is_applicant(conn, case.started_by, case.data, user)
                    or _works_on(conn, case_id, user)):
                raise NotAllowed(f"only the applicant or a reviewer of case {case_id} may "
                                 "copy it")
            forbidding = self._copy_forbidden_by(conn, case_id)
            if forbidding:
                raise NotAllowed(f"step {forbidding} does not allow copying the case")
            for recipient in wanted:
                _require_recipient(conn, recipient)
            had = set(conn.execute(select(case_copies.c.recipient).where(
                case_copies.c.case_id == case_id)).scalars())
            fresh = [r for r in wanted if r not in had]
            if not fresh:
                raise Conflict(f"case {case_id} is already copied to {', '.join(wanted)}")
            now = self.now()
            conn.execute(case_copies.insert(), [{
                "case_id": case_id, "recipient": r, "copied_by": user, "copied_at": now,
                "note": note.strip()[:1000] or None} for r in fresh])
            self._append_event(conn, case_id, PendingEvent(
                now, user, "case_copied", details={"to": fresh, "note": note.strip()}))
            for recipient in fresh:
                outbox.enqueue(conn, now=now, kind="case_copied", recipient=recipient,
                               channel="in_app", case_id=case_id,
                               key=f"case_copied:{case_id}:{recipient}",
                               payload={"case_number": case_number(case_id), "by": user,
                                        "note": note.strip()})
            return fresh

    def copies_for(self, user: str, limit: int = 200) -> list[CopiedCase]:
        """Cases copied to the user or their groups, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(case_copies, cases.c.process_id, cases.c.status, cases.c.requester)
                .join(cases, cases.c.id == case_copies.c.case_id)
                .where(case_copies.c.recipient.in_(recipients_of(conn, user)))
                .order_by(case_copies.c.copied_at.desc(), case_copies.c.case_id.desc())
                .limit(limit)).all()
        seen: set[int] = set()
        found = []
        for r in rows:
            if r.case_id not in seen:
                seen.add(r.case_id)
                found.append(CopiedCase(r.case_id, case_number(r.case_id), r.process_id,
                                        r.status, r.requester, r.recipient, r.copied_by,
                                        r.copied_at, r.note))
        return found


def _works_on(conn: Connection, case_id: int, user: str) -> bool:
    mine = directory.groups_of(conn, user)
    for assignee, candidates in conn.execute(
            select(human_tasks.c.assignee, human_tasks.c.candidate_groups).where(
                human_tasks.c.case_id == case_id, human_tasks.c.state == "open")):
        if assignee == user or (assignee is None and mine & set(candidates or ())):
            return True
    return False


def _require_recipient(conn: Connection, recipient: str) -> None:
    kind, _, name = recipient.partition(":")
    if kind == "user":
        directory.require_user(conn, name)
    elif kind == "group":
        if conn.execute(select(groups.c.name).where(groups.c.name == name)).first() is None:
            raise NotAllowed(f"unknown group {name!r}")
    else:
        raise InvalidTaskData(f"{recipient!r} is not user:NAME or group:NAME",
                              {"to": "user:NAME 或 group:NAME"})

