"""Read-only queries on the derived tables: the inbox, tasks, timers and case views.

None of these deserializes a workflow; they read rows written with each save.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from engine.cases.models import AuditEvent, CaseView, TaskView, TimerView
from engine.errors import CaseNotFound, TaskNotFound
from engine.store.rawsql import RawSQL
from engine.store.schema import audit_events, cases, human_tasks, process_versions, timers

# Built once, so each call reuses the compiled statement (see engine/cases/runtime.py).
_TASK = select(human_tasks).where(human_tasks.c.id == bindparam("p_task"))
_CASE_TASKS = select(human_tasks).where(
    human_tasks.c.case_id == bindparam("p_case")).order_by(human_tasks.c.created_at)
_OPEN_CASE_TASKS = _CASE_TASKS.where(human_tasks.c.state == "open")
_CASE_TIMERS = select(timers).where(timers.c.case_id == bindparam("p_case")).order_by(
    timers.c.fire_at)
_CASE_EVENTS = select(audit_events).where(
    audit_events.c.case_id == bindparam("p_case")).order_by(audit_events.c.seq)
_CASE = select(
    cases.c.id, cases.c.process_id, cases.c.version_id, cases.c.status, cases.c.requester,
    cases.c.data, cases.c.incident, cases.c.started_at, cases.c.started_by,
    cases.c.updated_at, cases.c.completed_at, cases.c.sla, process_versions.c.version,
).join(process_versions, process_versions.c.id == cases.c.version_id).where(
    cases.c.id == bindparam("p_case"))


def task_from_row(row: Any) -> TaskView:
    return TaskView(
        id=row.id, case_id=row.case_id, process_id=row.process_id, version_id=row.version_id,
        element_id=row.element_id, title=row.title, lane=row.lane,
        candidate_groups=tuple(row.candidate_groups or ()), assignee=row.assignee,
        requester=row.requester, form=row.form, created_at=row.created_at, due_at=row.due_at,
        due_provisional=row.due_provisional, due_basis=row.due_basis, state=row.state,
        completed_at=row.completed_at, completed_by=row.completed_by,
    )


def task_from_raw(raw: RawSQL, row: tuple[Any, ...]) -> TaskView:
    """A task from a raw cursor's row of `SELECT human_tasks.*` (the table's column order,
    which is TaskView's)."""
    (task_id, case_id, process_id, version_id, element_id, title, lane, groups, assignee,
     requester, form, created_at, due_at, provisional, basis, state, completed_at, by) = row
    created = raw.read_when(created_at)
    assert created is not None  # the column is NOT NULL
    return TaskView(task_id, case_id, process_id, version_id, element_id, title, lane,
                    tuple(raw.read_doc(groups) or ()), assignee, requester, form, created,
                    raw.read_when(due_at), bool(provisional), raw.read_doc(basis), state,
                    raw.read_when(completed_at), by)


def get_task(conn: Connection, task_id: str) -> TaskView:
    row = conn.execute(_TASK, {"p_task": task_id}).first()
    if row is None:
        raise TaskNotFound(f"task {task_id} does not exist")
    return task_from_row(row)


def case_tasks(conn: Connection, case_id: int, *, open_only: bool = False) -> tuple[TaskView, ...]:
    query = _OPEN_CASE_TASKS if open_only else _CASE_TASKS
    return tuple(task_from_row(r) for r in conn.execute(query, {"p_case": case_id}))


def case_timers(conn: Connection, case_id: int) -> tuple[TimerView, ...]:
    rows = conn.execute(_CASE_TIMERS, {"p_case": case_id})
    return tuple(TimerView(r.case_id, r.task_id, r.element_id, r.fire_at, r.provisional, r.rule,
                           r.basis) for r in rows)


def case_events(conn: Connection, case_id: int) -> tuple[AuditEvent, ...]:
    rows = conn.execute(_CASE_EVENTS, {"p_case": case_id})
    return tuple(event_from_row(r) for r in rows)


def event_from_row(r: Any) -> AuditEvent:
    return AuditEvent(r.case_id, r.seq, r.at, r.actor, r.action, r.task_id, r.element_id,
                      r.rule, r.details, r.hash)


def get_case(conn: Connection, case_id: int, *, full: bool = True) -> CaseView:
    """The case with all its tasks, timers and its whole history (`full`), or its row."""
    row = conn.execute(_CASE, {"p_case": case_id}).first()
    if row is None:
        raise CaseNotFound(f"case {case_id} does not exist")
    extra: dict[str, Any] = {}
    if full:
        extra = {"tasks": case_tasks(conn, case_id), "timers": case_timers(conn, case_id),
                 "events": case_events(conn, case_id)}
    return CaseView(
        id=row.id, process_id=row.process_id, version=row.version, version_id=row.version_id,
        status=row.status, requester=row.requester, data=row.data, incident=row.incident,
        started_at=row.started_at, started_by=row.started_by, updated_at=row.updated_at,
        completed_at=row.completed_at, sla=row.sla, **extra)
