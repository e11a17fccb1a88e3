"""Load a case, let SpiffWorkflow move it, and save it with every row derived from it.

`CaseStore.save` writes, in the caller's transaction: the workflow state (checked
against the revision it was loaded at), the human tasks and their candidate groups,
the waiting timers, and the audit events. A workflow that was saved stays in a small
in-process cache, keyed by case and revision; a request that finds the revision
unchanged skips deserialization. A case is taken out of the cache while a step runs,
so two threads never share one workflow object, and is put back only after commit.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, insert, select, update
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .audit import PendingEvent, chain_rows, write_events
from .calendar import Deadline
from .definitions import DeployedVersion
from .errors import CaseNotFound, Conflict
from .schema import cases, human_tasks, task_candidates, timers
from .state import StateCodec, TaskJsonCache

# Deadlines computed by the `deadline()` script helper during the current step, by ISO
# value: a timer whose fire time matches one of them records how it was computed.
_deadline_log: contextvars.ContextVar[dict[str, Deadline]] = contextvars.ContextVar(
    "govflow_deadline_log")


@contextlib.contextmanager
def collecting_deadlines() -> Iterator[dict[str, Deadline]]:
    log: dict[str, Deadline] = {}
    token = _deadline_log.set(log)
    try:
        yield log
    finally:
        _deadline_log.reset(token)


def record_deadline(deadline: Deadline) -> None:
    log = _deadline_log.get(None)
    if log is not None:
        log[deadline.iso()] = deadline


@dataclass(frozen=True)
class NewHumanTask:
    """A human task that became ready, with its assignment worked out."""

    id: str
    element_id: str
    title: str
    lane: str | None
    candidate_groups: tuple[str, ...]
    form: str | None
    due: Deadline | None


@dataclass(frozen=True)
class WaitingTimer:
    element_id: str
    fire_at: dt.datetime | None
    rule: str | None


@dataclass
class LoadedCase:
    id: int
    deployed: DeployedVersion
    workflow: BpmnWorkflow
    task_cache: TaskJsonCache
    revision: int
    audit_head: str
    audit_seq: int
    status: str
    requester: str | None
    incident: dict[str, Any] | None
    open_tasks: set[str]
    timers: dict[str, WaitingTimer]
    data: dict[str, Any]
    events: list[PendingEvent] = field(default_factory=list)
    new_tasks: list[NewHumanTask] = field(default_factory=list)
    closed_by: dict[str, str] = field(default_factory=dict)


def case_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case's data: that of the last completed task, else of the start."""
    task = workflow.last_task or workflow.task_tree
    return task.data


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[str, Any]:
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[Any, dt.datetime | None]]:
    """Timers the workflow waits on: task id -> (task, fire time)."""
    found = {}
    for task in workflow.event_manager.tasks.values():
        event = task.task_spec.event_definition
        if not isinstance(event, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # a cycle keeps its next firing under "next"
            value = value.get("next")
        fire_at = dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value else None
        found[str(task.id)] = (task, fire_at)
    return found


class CaseStore:
    def __init__(self, codec: StateCodec, *, cache_size: int = 512) -> None:
        self.codec = codec
        self._cache: OrderedDict[int, LoadedCase] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- cache ---------------------------------------------------------------------------
    def _take(self, case_id: int) -> LoadedCase | None:
        with self._lock:
            return self._cache.pop(case_id, None)

    def put_back(self, case: LoadedCase) -> None:
        """Return a committed case to the cache for the next step."""
        case.events, case.new_tasks, case.closed_by = [], [], {}
        with self._lock:
            self._cache[case.id] = case
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def forget(self, case_id: int) -> None:
        with self._lock:
            self._cache.pop(case_id, None)

    # -- load ----------------------------------------------------------------------------
    def load(self, conn: Connection, case_id: int, definitions: Any) -> LoadedCase:
        """Load a case for one step, from the cache when its revision is unchanged."""
        cached = self._take(case_id)
        seen = cached.revision if cached else -1
        row = conn.execute(
            select(cases.c.version_id, cases.c.revision, cases.c.audit_head, cases.c.audit_seq,
                   cases.c.status, cases.c.requester, cases.c.incident,
                   (cases.c.revision != seen).label("stale"))
            .where(cases.c.id == case_id)
        ).first()
        if row is None:
            raise CaseNotFound(f"case {case_id} does not exist")
        if cached is not None and not row.stale:
            cached.audit_head, cached.audit_seq = row.audit_head, row.audit_seq
            return cached
        state = conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one()
        deployed = definitions.get(conn, row.version_id)
        workflow, task_cache = self.codec.load(state, deployed.spec, deployed.subprocess_specs)
        open_tasks = set(conn.execute(
            select(human_tasks.c.id).where(human_tasks.c.case_id == case_id,
                                           human_tasks.c.state == "open")).scalars())
        timer_rows = conn.execute(
            select(timers.c.task_id, timers.c.element_id, timers.c.fire_at, timers.c.rule)
            .where(timers.c.case_id == case_id))
        return LoadedCase(
            id=case_id, deployed=deployed, workflow=workflow, task_cache=task_cache,
            revision=row.revision, audit_head=row.audit_head, audit_seq=row.audit_seq,
            status=row.status, requester=row.requester, incident=row.incident,
            open_tasks=open_tasks,
            timers={r.task_id: WaitingTimer(r.element_id, r.fire_at, r.rule) for r in timer_rows},
            data=dict(case_data(workflow)),
        )

    # -- save ----------------------------------------------------------------------------
    def save(self, conn: Connection, case: LoadedCase, now: dt.datetime,
             deadlines: dict[str, Deadline]) -> None:
        """Write the case and its derived rows; raise Conflict if it changed meanwhile."""
        workflow = case.workflow
        data = case_data(workflow)
        if case.status != "error":
            case.status = "completed" if workflow.completed else "running"
        state = self.codec.dump(workflow, case.task_cache)
        events, head, seq = chain_rows(case.id, case.audit_head, case.audit_seq, case.events)
        saved = conn.execute(
            update(cases)
            .where(cases.c.id == case.id, cases.c.revision == case.revision,
                   cases.c.audit_seq == case.audit_seq)
            .values(state=state, data=data, status=case.status, revision=case.revision + 1,
                    audit_head=head, audit_seq=seq, incident=case.incident, updated_at=now,
                    completed_at=now if case.status == "completed" else None)
        )
        if saved.rowcount != 1:
            raise Conflict(f"case {case.id} was changed by someone else; reload and try again",
                           case_id=case.id)
        self._sync_tasks(conn, case, now)
        self._sync_timers(conn, case, deadlines)
        write_events(conn, events)
        case.revision, case.audit_head, case.audit_seq = case.revision + 1, head, seq
        case.data = dict(data)

    def _sync_tasks(self, conn: Connection, case: LoadedCase, now: dt.datetime) -> None:
        ready = ready_human_tasks(case.workflow)
        gone = case.open_tasks - ready.keys()
        for task_id in gone:
            task = case.workflow.get_task_from_id(UUID(task_id))
            finished = task is not None and task.state == TaskState.COMPLETED
            conn.execute(
                update(human_tasks).where(human_tasks.c.id == task_id).values(
                    state="completed" if finished else "cancelled", completed_at=now,
                    completed_by=case.closed_by.get(task_id, "system")))
        if gone:
            conn.execute(update(task_candidates)
                         .where(task_candidates.c.task_id.in_(gone)).values(is_open=False))
        if case.new_tasks:
            conn.execute(insert(human_tasks), [{
                "id": t.id, "case_id": case.id, "process_id": case.deployed.process_id,
                "version_id": case.deployed.id, "element_id": t.element_id, "title": t.title,
                "lane": t.lane, "candidate_groups": list(t.candidate_groups), "assignee": None,
                "requester": case.requester, "form": t.form, "created_at": now,
                "due_at": t.due.due if t.due else None,
                "due_provisional": bool(t.due and t.due.provisional),
                "due_basis": t.due.to_dict() if t.due else None, "state": "open",
            } for t in case.new_tasks])
            rows = [{"task_id": t.id, "group_name": g, "is_open": True,
                     "due_at": t.due.due if t.due else None}
                    for t in case.new_tasks for g in t.candidate_groups]
            if rows:
                conn.execute(insert(task_candidates), rows)
        case.open_tasks = (case.open_tasks - gone) | {t.id for t in case.new_tasks}

    def _sync_timers(self, conn: Connection, case: LoadedCase,
                     deadlines: dict[str, Deadline]) -> None:
        current = waiting_timers(case.workflow)
        gone = case.timers.keys() - current.keys()
        if gone:
            conn.execute(delete(timers).where(timers.c.case_id == case.id,
                                              timers.c.task_id.in_(gone)))
        for task_id, (task, fire_at) in current.items():
            known = case.timers.get(task_id)
            if known is not None and known.fire_at == fire_at:
                continue
            value = task._get_internal_data("event_value")
            basis = deadlines.get(value) if isinstance(value, str) else None
            row = {"element_id": task.task_spec.name, "fire_at": fire_at,
                   "provisional": bool(basis and basis.provisional),
                   "basis": basis.to_dict() if basis else None,
                   "rule": _property(task.task_spec, "rule")}
            if known is None:
                conn.execute(insert(timers).values(case_id=case.id, task_id=task_id, **row))
            else:
                conn.execute(update(timers).where(timers.c.case_id == case.id,
                                                  timers.c.task_id == task_id).values(**row))
        case.timers = {task_id: WaitingTimer(task.task_spec.name, fire_at,
                                             _property(task.task_spec, "rule"))
                       for task_id, (task, fire_at) in current.items()}


def _property(task_spec: Any, name: str) -> str | None:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)
