"""The operations console: find cases, fix incidents, hold or end cases, move stuck tasks.

Every change here is audited on the case's hash chain and made with the same
optimistic check as a workflow step: the case row is updated only if its revision and
audit sequence are still the ones read, otherwise `Conflict`. Fixing an incident goes
through `Govflow.retry_case`, the step itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)

from engine.cases.govflow import Govflow
from engine.cases.incidents import Incident, explain_incident
from engine.cases.models import CaseView, TaskView
from engine.cases.queries import task_from_row
from engine.errors import Conflict, GroupNotFound, InvalidInput, UserNotFound
from engine.people.access import case_number
from engine.store.audit import PendingEvent, chain_rows, write_events
from engine.store.schema import (
    cases,
    groups,
    human_tasks,
    memberships,
    process_versions,
    task_candidates,
    timers,
    users,
)

STATUSES = ("running", "error", "suspended", "completed", "cancelled")
HOLDABLE = ("running", "error")


@dataclass(frozen=True)
class CaseFilter:
    process_id: str | None = None
    version: int | None = None
    status: str | None = None
    department: str | None = None
    overdue: bool = False
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class CaseRow:
    id: int
    number: str
    process_id: str
    version: int
    status: str
    requester: str | None
    department: str | None
    overdue: bool
    incident: dict[str, Any] | None
    started_at: dt.datetime


@dataclass(frozen=True)
class StuckTask:
    task: TaskView
    why: str         # assignee_left | no_active_member | "" (not stuck)


class Operations:
    def __init__(self, gf: Govflow) -> None:
        self.gf = gf

    # -- finding cases -------------------------------------------------------------------
    def cases(self, wanted: CaseFilter) -> tuple[list[CaseRow], int]:
        now = self.gf.now()
        late = exists(select(human_tasks.c.id).where(
            human_tasks.c.case_id == cases.c.id, human_tasks.c.state == "open",
            human_tasks.c.due_at < now))
        overdue = or_(late, cases.c.sla["state"].as_string() == "overdue")
        department = cases.c.data["requester_dept"].as_string()
        query = (select(cases.c.id, cases.c.process_id, process_versions.c.version,
                        cases.c.status, cases.c.requester, department.label("department"),
                        overdue.label("overdue"), cases.c.incident, cases.c.started_at)
                 .join(process_versions, process_versions.c.id == cases.c.version_id))
        if wanted.process_id:
            query = query.where(cases.c.process_id == wanted.process_id)
        if wanted.version:
            query = query.where(process_versions.c.version == wanted.version)
        if wanted.status:
            query = query.where(cases.c.status == wanted.status)
        if wanted.department:
            works = exists(select(task_candidates.c.task_id)
                           .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                           .where(human_tasks.c.case_id == cases.c.id,
                                  task_candidates.c.group_name == wanted.department))
            query = query.where(or_(department == wanted.department, works))
        if wanted.overdue:
            query = query.where(overdue)
        page, per_page = max(wanted.page, 1), min(max(wanted.per_page, 1), 200)
        with self.gf.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(cases.c.id.desc()).limit(per_page)
                                .offset((page - 1) * per_page)).all()
        return [CaseRow(r.id, case_number(r.id), r.process_id, r.version, r.status,
                        r.requester, r.department, bool(r.overdue), r.incident, r.started_at)
                for r in rows], total

    def incidents(self) -> list[Incident]:
        with self.gf.db.read() as conn:
            rows = conn.execute(select(cases.c.id, cases.c.version_id, cases.c.incident,
                                       cases.c.data)
                                .where(cases.c.status == "error").order_by(cases.c.id)).all()
        return [explain_incident(r.id, r.version_id, r.incident or {}, r.data or {})
                for r in rows]

    def incident(self, case_id: int) -> tuple[CaseView, Incident | None]:
        case = self.gf.get_case(case_id)
        found = (explain_incident(case.id, case.version_id, case.incident, case.data)
                 if case.incident else None)
        return case, found

    def fix_and_retry(self, case_id: int, admin: str, data_text: str) -> CaseView:
        """Merge the changed values of the edited case data into the failed step and rerun it."""
        edited = _json_object(data_text)
        current = self.gf.get_case(case_id, full=False).data
        changed = {k: v for k, v in edited.items() if current.get(k) != v}
        return self.gf.retry_case(case_id, admin, changed)

    # -- holding and ending cases --------------------------------------------------------
    def suspend(self, case_id: int, admin: str, reason: str) -> None:
        self._set_status(case_id, admin, reason, HOLDABLE, "suspended", "case_suspended")

    def resume(self, case_id: int, admin: str, reason: str) -> None:
        self._set_status(case_id, admin, reason, ("suspended",), None, "case_resumed")

    def cancel(self, case_id: int, admin: str, reason: str) -> None:
        self._set_status(case_id, admin, reason, (*HOLDABLE, "suspended"), "cancelled",
                         "case_cancelled")

    def _set_status(self, case_id: int, admin: str, reason: str, allowed: tuple[str, ...],
                    new: str | None, action: str) -> None:
        reason = _reason(reason)
        now = self.gf.now()
        with self.gf.db.write() as conn:
            self.gf.store.forget(case_id)   # and after the commit: no step keeps it meanwhile
            row = conn.execute(select(cases.c.status, cases.c.revision, cases.c.audit_head,
                                      cases.c.audit_seq, cases.c.incident)
                               .where(cases.c.id == case_id)).first()
            if row is None:
                self.gf.get_case(case_id)   # raises CaseNotFound
            if row.status not in allowed:
                raise Conflict(f"case {case_number(case_id)} is {row.status}", state=row.status)
            status = new or ("error" if row.incident else "running")
            rows, head, seq = chain_rows(case_id, row.audit_head, row.audit_seq, [PendingEvent(
                now, admin, action, details={"reason": reason, "was": row.status})])
            values: dict[str, Any] = {"status": status, "revision": row.revision + 1,
                                      "audit_head": head, "audit_seq": seq, "updated_at": now}
            if status == "cancelled":
                values["completed_at"] = now
            changed = conn.execute(update(cases).where(
                cases.c.id == case_id, cases.c.revision == row.revision,
                cases.c.audit_seq == row.audit_seq).values(**values)).rowcount
            if changed != 1:
                raise Conflict(f"case {case_number(case_id)} changed meanwhile; reload it")
            if status == "cancelled":
                _close_open_work(conn, case_id, admin, now)
            write_events(conn, rows)
        self.gf.store.forget(case_id)

    # -- tasks -----------------------------------------------------------------------------
    def open_tasks(self, limit: int = 200) -> list[StuckTask]:
        """Open tasks of running cases, stuck ones first, then soonest due."""
        with self.gf.db.read() as conn:
            rows = conn.execute(select(human_tasks, _STUCK_WHY.label("why"))
                                .join(cases, cases.c.id == human_tasks.c.case_id)
                                .where(human_tasks.c.state == "open",
                                       cases.c.status.in_(HOLDABLE))
                                .order_by(_STUCK_WHY.is_(None), human_tasks.c.due_at,
                                          human_tasks.c.created_at).limit(limit)).all()
        return [StuckTask(task_from_row(r), r.why or "") for r in rows]

    def reassign(self, task_id: str, admin: str, reason: str, *, to_user: str | None = None,
                 to_group: str | None = None) -> TaskView:
        """Give an open task to an active user, or to a group with an active member."""
        reason = _reason(reason)
        if bool(to_user) == bool(to_group):
            raise InvalidInput("choose either a user or a group to reassign to",
                               reason="user_or_group")
        with self.gf.db.write() as conn:
            task = self.gf._open_task(conn, task_id)
            before = {"assignee": task.assignee, "groups": list(task.candidate_groups)}
            if to_user:
                if not conn.execute(select(users.c.username).where(
                        users.c.username == to_user, users.c.is_active.is_(True))).first():
                    raise UserNotFound(f"no active user {to_user!r}")
                conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                             .values(assignee=to_user))
            else:
                _require_staffed_group(conn, str(to_group))
                due, created = conn.execute(select(human_tasks.c.due_at, human_tasks.c.created_at)
                                            .where(human_tasks.c.id == task_id)).one()
                conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                             .values(assignee=None, candidate_groups=[to_group]))
                conn.execute(delete(task_candidates).where(task_candidates.c.task_id == task_id))
                conn.execute(insert(task_candidates).values(
                    task_id=task_id, group_name=to_group, is_open=True, due_at=due,
                    created_at=created))
            self.gf._append_event(conn, task.case_id, PendingEvent(
                self.gf.now(), admin, "task_reassigned", task_id, task.element_id,
                details={"reason": reason, "to": to_user or to_group,
                         "to_kind": "user" if to_user else "group", "from": before}))
        return self.gf.get_task(task_id)


_ACTIVE_MEMBER = exists(select(memberships.c.username)
                        .join(users, users.c.username == memberships.c.username)
                        .join(task_candidates, task_candidates.c.group_name
                              == memberships.c.group_name)
                        .where(task_candidates.c.task_id == human_tasks.c.id,
                               users.c.is_active.is_(True)))
_ASSIGNEE_ACTIVE = exists(select(users.c.username).where(
    users.c.username == human_tasks.c.assignee, users.c.is_active.is_(True)))
_STUCK_WHY = case(
    (and_(human_tasks.c.assignee.is_not(None), not_(_ASSIGNEE_ACTIVE)), "assignee_left"),
    (and_(human_tasks.c.assignee.is_(None), not_(_ACTIVE_MEMBER)), "no_active_member"),
    else_=None)


def _require_staffed_group(conn: Connection, name: str) -> None:
    if conn.execute(select(groups.c.name).where(groups.c.name == name)).first() is None:
        raise GroupNotFound(f"no group {name!r}")
    staffed = conn.execute(select(memberships.c.username)
                           .join(users, users.c.username == memberships.c.username)
                           .where(memberships.c.group_name == name,
                                  users.c.is_active.is_(True))).first()
    if staffed is None:
        raise InvalidInput(f"group {name!r} has no active member; the task would be stuck again",
                           reason="group_unstaffed", group=name)


def _close_open_work(conn: Connection, case_id: int, admin: str, now: dt.datetime) -> None:
    """A cancelled case waits for nothing: its open tasks close and its timers go."""
    open_ids = select(human_tasks.c.id).where(human_tasks.c.case_id == case_id,
                                              human_tasks.c.state == "open")
    conn.execute(update(task_candidates).where(task_candidates.c.task_id.in_(open_ids))
                 .values(is_open=False))
    conn.execute(update(human_tasks).where(human_tasks.c.case_id == case_id,
                                           human_tasks.c.state == "open")
                 .values(state="cancelled", completed_at=now, completed_by=admin))
    conn.execute(delete(timers).where(timers.c.case_id == case_id))


def _reason(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("give a reason; it is kept in the case's history", reason="no_reason")
    return text[:1000]


def _json_object(text: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the case data is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}", reason="not_json", line=exc.lineno,
                           column=exc.colno) from None
    if not isinstance(value, dict):
        raise InvalidInput("the case data must be a JSON object", reason="not_object")
    return value
