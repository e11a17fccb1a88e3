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

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .audit import PendingEvent, chain_rows, write_events
from .calendar import Deadline
from .definitions import DeployedVersion
from .errors import CaseNotFound, Conflict
from .models import AuditEvent, TaskView, TimerView
from .schema import cases, human_tasks, task_candidates, timers
from .state import StateCodec, TaskJsonCache

# Deadlines computed by the `deadline()` script helper during the current step, by ISO
# value: a timer whose fire time matches one of them records how it was computed.
_deadline_log: contextvars.ContextVar[dict[str, Deadline]] = contextvars.ContextVar(
    "govflow_deadline_log")

# Statements of the hot path are built once: SQLAlchemy then reuses their compiled form
# instead of rebuilding and re-keying an expression on every step (3-4x cheaper).
_CASE_HEAD = select(
    cases.c.version_id, cases.c.revision, cases.c.audit_head, cases.c.audit_seq,
    cases.c.status, cases.c.requester, cases.c.incident, cases.c.started_at,
    cases.c.started_by,
).where(cases.c.id == bindparam("p_case"))
_CASE_STATE = select(cases.c.state).where(cases.c.id == bindparam("p_case"))
_OPEN_TASK_IDS = select(human_tasks.c.id).where(
    human_tasks.c.case_id == bindparam("p_case"), human_tasks.c.state == "open")
_CASE_TIMERS = select(timers).where(timers.c.case_id == bindparam("p_case"))
_SAVE_CASE = update(cases).where(
    cases.c.id == bindparam("p_case"), cases.c.revision == bindparam("p_seen_revision"),
    cases.c.audit_seq == bindparam("p_seen_seq"),
).values(
    state=bindparam("p_state"), data=bindparam("p_data"), status=bindparam("p_status"),
    revision=bindparam("p_revision"), audit_head=bindparam("p_head"),
    audit_seq=bindparam("p_seq"), incident=bindparam("p_incident"),
    updated_at=bindparam("p_now"), completed_at=bindparam("p_completed_at"),
)
_CLOSE_TASK = update(human_tasks).where(human_tasks.c.id == bindparam("p_task")).values(
    state=bindparam("p_state"), completed_at=bindparam("p_now"),
    completed_by=bindparam("p_by"))
_CLOSE_CANDIDATES = update(task_candidates).where(
    task_candidates.c.task_id.in_(bindparam("p_tasks", expanding=True))).values(is_open=False)
_INSERT_TASKS = insert(human_tasks)
_INSERT_CANDIDATES = insert(task_candidates)
_INSERT_TIMER = insert(timers)
_UPDATE_TIMER = update(timers).where(
    timers.c.case_id == bindparam("p_case"), timers.c.task_id == bindparam("p_task")).values(
    element_id=bindparam("p_element_id"), fire_at=bindparam("p_fire_at"),
    provisional=bindparam("p_provisional"), basis=bindparam("p_basis"),
    rule=bindparam("p_rule"))
_DELETE_TIMERS = delete(timers).where(
    timers.c.case_id == bindparam("p_case"),
    timers.c.task_id.in_(bindparam("p_tasks", expanding=True)))


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
    timers: dict[str, TimerView]
    data: dict[str, Any]
    started_at: dt.datetime
    started_by: str | None
    # what the current step did, cleared when the case goes back to the cache
    events: list[PendingEvent] = field(default_factory=list)
    new_tasks: list[NewHumanTask] = field(default_factory=list)
    ready: dict[str, Any] | None = None
    closed_by: dict[str, str] = field(default_factory=dict)
    saved_events: tuple[AuditEvent, ...] = ()
    saved_tasks: tuple[TaskView, ...] = ()
    saved_at: dt.datetime | None = None


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
        case.events, case.new_tasks, case.closed_by, case.ready = [], [], {}, None
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
        row = conn.execute(_CASE_HEAD, {"p_case": case_id}).first()
        if row is None:
            raise CaseNotFound(f"case {case_id} does not exist")
        if cached is not None and cached.revision == row.revision:
            cached.audit_head, cached.audit_seq = row.audit_head, row.audit_seq
            return cached
        state = conn.execute(_CASE_STATE, {"p_case": case_id}).scalar_one()
        deployed = definitions.get(conn, row.version_id)
        workflow, task_cache = self.codec.load(state, deployed.spec, deployed.subprocess_specs)
        open_tasks = set(conn.execute(_OPEN_TASK_IDS, {"p_case": case_id}).scalars())
        timer_rows = conn.execute(_CASE_TIMERS, {"p_case": case_id})
        return LoadedCase(
            id=case_id, deployed=deployed, workflow=workflow, task_cache=task_cache,
            revision=row.revision, audit_head=row.audit_head, audit_seq=row.audit_seq,
            status=row.status, requester=row.requester, incident=row.incident,
            open_tasks=open_tasks,
            timers={r.task_id: TimerView(case_id, r.task_id, r.element_id, r.fire_at,
                                         r.provisional, r.rule, r.basis) for r in timer_rows},
            data=dict(case_data(workflow)), started_at=row.started_at,
            started_by=row.started_by,
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
        saved = conn.execute(_SAVE_CASE, {
            "p_case": case.id, "p_seen_revision": case.revision, "p_seen_seq": case.audit_seq,
            "p_state": state, "p_data": data, "p_status": case.status,
            "p_revision": case.revision + 1, "p_head": head, "p_seq": seq,
            "p_incident": case.incident, "p_now": now,
            "p_completed_at": now if case.status == "completed" else None,
        })
        if saved.rowcount != 1:
            raise Conflict(f"case {case.id} was changed by someone else; reload and try again",
                           case_id=case.id)
        self._sync_tasks(conn, case, now)
        self._sync_timers(conn, case, deadlines)
        write_events(conn, events)
        case.saved_events = tuple(AuditEvent(
            r["case_id"], r["seq"], r["at"], r["actor"], r["action"], r["task_id"],
            r["element_id"], r["rule"], r["details"], r["hash"]) for r in events)
        case.revision, case.audit_head, case.audit_seq = case.revision + 1, head, seq
        case.data, case.saved_at = dict(data), now

    def _sync_tasks(self, conn: Connection, case: LoadedCase, now: dt.datetime) -> None:
        ready = case.ready if case.ready is not None else ready_human_tasks(case.workflow)
        gone = case.open_tasks - ready.keys()
        if gone:
            conn.execute(_CLOSE_TASK, [{
                "p_task": task_id, "p_now": now,
                "p_state": "completed" if _finished(case.workflow, task_id) else "cancelled",
                "p_by": case.closed_by.get(task_id, "system"),
            } for task_id in gone])
            conn.execute(_CLOSE_CANDIDATES, {"p_tasks": list(gone)})
        case.saved_tasks = tuple(TaskView(
            id=t.id, case_id=case.id, process_id=case.deployed.process_id,
            version_id=case.deployed.id, element_id=t.element_id, title=t.title, lane=t.lane,
            candidate_groups=t.candidate_groups, assignee=None, requester=case.requester,
            form=t.form, created_at=now, due_at=t.due.due if t.due else None,
            due_provisional=bool(t.due and t.due.provisional),
            due_basis=t.due.to_dict() if t.due else None, state="open",
        ) for t in case.new_tasks)
        if case.saved_tasks:
            conn.execute(_INSERT_TASKS, [
                {**vars(view), "candidate_groups": list(view.candidate_groups)}
                for view in case.saved_tasks])
            rows = [{"task_id": t.id, "group_name": g, "is_open": True,
                     "due_at": t.due.due if t.due else None}
                    for t in case.new_tasks for g in t.candidate_groups]
            if rows:
                conn.execute(_INSERT_CANDIDATES, rows)
        case.open_tasks = (case.open_tasks - gone) | {t.id for t in case.new_tasks}

    def _sync_timers(self, conn: Connection, case: LoadedCase,
                     deadlines: dict[str, Deadline]) -> None:
        current = waiting_timers(case.workflow)
        gone = case.timers.keys() - current.keys()
        if gone:
            conn.execute(_DELETE_TIMERS, {"p_case": case.id, "p_tasks": list(gone)})
        kept = {task_id: case.timers[task_id] for task_id in current
                if task_id in case.timers and case.timers[task_id].fire_at == current[task_id][1]}
        for task_id, (task, fire_at) in current.items():
            if task_id in kept:
                continue
            value = task._get_internal_data("event_value")
            basis = deadlines.get(value) if isinstance(value, str) else None
            timer = TimerView(case.id, task_id, task.task_spec.name, fire_at,
                              bool(basis and basis.provisional), _property(task.task_spec, "rule"),
                              basis.to_dict() if basis else None)
            row = {k: v for k, v in vars(timer).items() if k not in ("case_id", "task_id")}
            if task_id not in case.timers:
                conn.execute(_INSERT_TIMER, {"case_id": case.id, "task_id": task_id, **row})
            else:
                conn.execute(_UPDATE_TIMER, {"p_case": case.id, "p_task": task_id,
                                             **{f"p_{k}": v for k, v in row.items()}})
            kept[task_id] = timer
        case.timers = kept


def _property(task_spec: Any, name: str) -> str | None:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)


def _finished(workflow: BpmnWorkflow, task_id: str) -> bool:
    task = workflow.get_task_from_id(UUID(task_id))
    return task is not None and task.state == TaskState.COMPLETED
