"""Load a case, let SpiffWorkflow move it, and save it with every row derived from it.

`CaseStore.save` writes, in the caller's transaction: the workflow state (checked
against the revision it was loaded at), the human tasks and their candidate groups,
the waiting timers, and the audit events. A workflow that was saved stays in a small
in-process cache, keyed by case and revision; a request that finds the revision
unchanged skips deserialization. A case is taken out of the cache while a step runs,
so two threads never share one workflow object, and is put back only after commit.
With the cache off (`cache_size=0`) every step restores the case from the database,
as a fresh process would.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection

from engine.bpmn.definitions import DeployedVersion
from engine.cases.models import AuditEvent, TaskView, TimerView
from engine.cases.state import StateCodec, TaskJsonCache
from engine.errors import CaseNotFound, Conflict
from engine.store.audit import PendingEvent, chain_rows, write_events
from engine.store.rawsql import RawSQL
from engine.time.calendar import Deadline

# Deadlines computed by the `deadline()` script helper during the current step, by ISO
# value: a timer whose fire time matches one of them records how it was computed.
_deadline_log: contextvars.ContextVar[dict[str, Deadline]] = contextvars.ContextVar(
    "govflow_deadline_log")

# A step's statements run on the raw cursor (engine/store/rawsql.py); reads on a cache miss
# go through SQLAlchemy.
#: Statuses of a case that will never run again (withdrawn: 撤回 by the applicant).
ENDED = ("completed", "withdrawn")
_CASE_HEAD = (
    "SELECT version_id, revision, audit_head, audit_seq, status, requester, incident,"
    " started_at, started_by, sla FROM cases WHERE id = :case_id")
_TASK_CASE_REVISION = ("SELECT c.id, c.revision FROM human_tasks t JOIN cases c"
                       " ON c.id = t.case_id WHERE t.id = :task_id AND t.state = 'open'")
_CASE_STATE = "SELECT state FROM cases WHERE id = :case_id"
_CASE_CHUNKS = "SELECT body FROM case_state_chunks WHERE case_id = :case_id ORDER BY seq"
_ADD_CHUNK = ("INSERT INTO case_state_chunks (case_id, seq, body) VALUES (:case_id,"
              " (SELECT coalesce(max(seq), 0) + 1 FROM case_state_chunks WHERE case_id = :case_id),"
              " :body)")
_DROP_CHUNKS = "DELETE FROM case_state_chunks WHERE case_id = :case_id"
_OPEN_TASK_IDS = "SELECT id FROM human_tasks WHERE case_id = :case_id AND state = 'open'"
_CASE_TIMERS = ("SELECT task_id, element_id, fire_at, provisional, rule, basis FROM timers"
                " WHERE case_id = :case_id")

_SAVE_CASE = (
    "UPDATE cases SET state = :state, data = :data, status = :status, revision = :revision,"
    " audit_head = :head, audit_seq = :seq, incident = :incident, sla = :sla,"
    " updated_at = :now,"
    " completed_at = :completed_at"
    " WHERE id = :case_id AND revision = :seen_revision AND audit_seq = :seen_seq")
_CLOSE_TASK = ("UPDATE human_tasks SET state = :state, completed_at = :now,"
               " completed_by = :by WHERE id = :task_id")
_CLOSE_CANDIDATES = "UPDATE task_candidates SET is_open = :is_open WHERE task_id = :task_id"
_INSERT_TASK = (
    "INSERT INTO human_tasks (id, case_id, process_id, version_id, element_id, title, lane,"
    " candidate_groups, assignee, requester, form, created_at, due_at, due_provisional,"
    " due_basis, state) VALUES (:id, :case_id, :process_id, :version_id, :element_id,"
    " :title, :lane, :candidate_groups, :assignee, :requester, :form, :created_at, :due_at,"
    " :due_provisional, :due_basis, :state)")
_INSERT_CANDIDATE = (
    "INSERT INTO task_candidates (task_id, group_name, is_open, due_at, created_at)"
    " VALUES (:task_id, :group_name, :is_open, :due_at, :created_at)")
_INSERT_TIMER = (
    "INSERT INTO timers (case_id, task_id, element_id, fire_at, provisional, basis, rule)"
    " VALUES (:case_id, :task_id, :element_id, :fire_at, :provisional, :basis, :rule)")
_UPDATE_TIMER = (
    "UPDATE timers SET element_id = :element_id, fire_at = :fire_at,"
    " provisional = :provisional, basis = :basis, rule = :rule"
    " WHERE case_id = :case_id AND task_id = :task_id")
_DELETE_TIMER = "DELETE FROM timers WHERE case_id = :case_id AND task_id = :task_id"


def workflow_cache_from_env() -> bool:
    """GOVFLOW_WORKFLOW_CACHE=0 turns the in-process workflow and spec caches off."""
    return os.environ.get("GOVFLOW_WORKFLOW_CACHE", "1").strip().lower() not in (
        "0", "false", "no", "off")


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
        log[deadline.timer_iso()] = deadline


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
    assignee: str | None = None  # a task for one named user (a 会签 over users)


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
    sla: dict[str, Any] | None = None
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
    """Ready user tasks by id, from the task dictionaries rather than a tree walk."""
    ready = TaskState.READY
    found = {}
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            if task.state == ready and task.task_spec.manual:
                found[str(task.id)] = task
    return found


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[Any, dt.datetime | None, Any]]:
    """Timers the workflow waits on: task id -> (task, fire time, the timer event's spec).

    An event-based gateway waits itself, for all its branches' events at once: its timer
    is that of its timer branch, whose spec names the element and its rule."""
    found = {}
    for task in workflow.event_manager.tasks.values():
        timer_spec = _timer_spec(task.task_spec)
        if timer_spec is None or task.state != TaskState.WAITING:
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # a cycle keeps its next firing under "next"
            value = value.get("next")
        fire_at = dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value else None
        found[str(task.id)] = (task, fire_at, timer_spec)
    return found


def _timer_spec(task_spec: Any) -> Any:
    event = task_spec.event_definition
    if isinstance(event, TimerEventDefinition):
        return task_spec
    if isinstance(event, MultipleEventDefinition) and isinstance(task_spec, EventBasedGateway):
        branches = task_spec.outputs  # in the order of the gateway's event definitions
        for branch, definition in zip(branches, event.event_definitions, strict=False):
            if isinstance(definition, TimerEventDefinition):
                return branch
    return None


class CaseStore:
    def __init__(self, codec: StateCodec, *, cache_size: int = 512,
                 others_window: float = 600.0) -> None:
        self.codec = codec
        self._cache: OrderedDict[int, LoadedCase] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._case_of_task: dict[str, int] = {}   # the open tasks of the cached cases
        # When a cached case was last found changed by another writer (a second worker, a
        # CLI command): for `others_window` seconds after, every step reads first. Threads
        # of this process racing on one case can look the same; the window lets that pass.
        self.others_window = others_window
        self._others_seen = -math.inf

    # -- cache ---------------------------------------------------------------------------
    def _take(self, case_id: int) -> LoadedCase | None:
        with self._lock:
            return self._uncache(case_id)

    def _uncache(self, case_id: int) -> LoadedCase | None:
        case = self._cache.pop(case_id, None)
        for task_id in case.open_tasks if case is not None else ():
            self._case_of_task.pop(task_id, None)
        return case

    def put_back(self, case: LoadedCase) -> None:
        """Return a committed case to the cache for the next step (a closed case has none)."""
        if case.status in ENDED or not self._cache_size:
            return
        case.events, case.new_tasks, case.closed_by, case.ready = [], [], {}, None
        with self._lock:
            newer = self._cache.get(case.id)
            if newer is not None and newer.revision > case.revision:
                return   # a warm that read before this process's last commit
            self._uncache(case.id)
            self._cache[case.id] = case
            self._case_of_task.update(dict.fromkeys(case.open_tasks, case.id))
            while len(self._cache) > self._cache_size:
                self._uncache(next(iter(self._cache)))

    def needs_warming(self, task_id: str) -> bool:
        """Whether a step on this task should `warm` first: yes unless its case is cached
        and no other writer was seen lately. A case cached here that another process
        changed after all is then restored under the write lock, once."""
        with self._lock:
            if not self._cache_size:
                return False
            if time.monotonic() - self._others_seen < self.others_window:
                return True
            return self._case_of_task.get(task_id) not in self._cache

    def warm(self, conn: Connection, task_id: str, definitions: Any) -> None:
        """Restore the case of an open task into the cache, unless it is there at its
        current revision, before a step takes the write lock: the step then spends none of
        its time under the lock restoring (SQLite lets one writer in at a time, and
        restoring is about a fifth of a step). The step checks the revision again."""
        if not self._cache_size:
            return
        found = RawSQL.of(conn).one(conn, _TASK_CASE_REVISION, {"task_id": task_id})
        if found is None:
            return  # the step itself says why the task cannot be worked
        case_id, revision = found
        with self._lock:
            cached = self._cache.get(case_id)
        if cached is None or cached.revision < revision:
            self.put_back(self.load(conn, case_id, definitions))   # load notes a stale copy

    def forget(self, case_id: int) -> None:
        with self._lock:
            self._uncache(case_id)

    # -- load ----------------------------------------------------------------------------
    def load(self, conn: Connection, case_id: int, definitions: Any) -> LoadedCase:
        """Load a case for one step, from the cache when its revision is unchanged.

        The case leaves the cache: the caller puts it back with `put_back` once the step
        has committed, so a step that fails simply leaves it out."""
        cached = self._take(case_id)
        raw = RawSQL.of(conn)
        head = raw.one(conn, _CASE_HEAD, {"case_id": case_id})
        if head is None:
            raise CaseNotFound(f"case {case_id} does not exist")
        (version_id, revision, audit_head, audit_seq, status, requester, incident, started_at,
         started_by, sla) = head
        if cached is not None and cached.revision == revision:
            cached.audit_head, cached.audit_seq = audit_head, audit_seq
            return cached
        if cached is not None and cached.revision > revision:
            self.put_back(cached)   # a reader's snapshot from before this process's commit
        elif cached is not None:
            self._others_seen = time.monotonic()
        workflow, task_cache, deployed = self._restore(conn, case_id, version_id, definitions)
        open_tasks = set(raw.column(conn, _OPEN_TASK_IDS, {"case_id": case_id}))
        timer_rows = raw.rows(conn, _CASE_TIMERS, {"case_id": case_id})
        return LoadedCase(
            id=case_id, deployed=deployed, workflow=workflow, task_cache=task_cache,
            revision=revision, audit_head=audit_head, audit_seq=audit_seq,
            status=status, requester=requester, incident=raw.read_doc(incident),
            open_tasks=open_tasks,
            timers={task_id: TimerView(case_id, task_id, element, raw.read_when(fire_at),
                                       bool(provisional), rule, raw.read_doc(basis))
                    for task_id, element, fire_at, provisional, rule, basis in timer_rows},
            data=dict(case_data(workflow)), started_at=raw.read_when(started_at),
            started_by=started_by, sla=raw.read_doc(sla),
        )

    def read_workflow(self, conn: Connection, case_id: int,
                      definitions: Any) -> tuple[BpmnWorkflow, DeployedVersion]:
        """A private copy of a case's workflow to look at (never stepped, never cached),
        with the version it runs on."""
        head = RawSQL.of(conn).one(conn, "SELECT version_id FROM cases WHERE id = :case_id",
                                   {"case_id": case_id})
        if head is None:
            raise CaseNotFound(f"case {case_id} does not exist")
        workflow, _, deployed = self._restore(conn, case_id, head[0], definitions)
        return workflow, deployed

    def _restore(self, conn: Connection, case_id: int, version_id: int,
                 definitions: Any) -> tuple[BpmnWorkflow, TaskJsonCache, DeployedVersion]:
        """Deserialize a case's saved state (active part and chunks) on its version's spec."""
        raw = RawSQL.of(conn)
        state = raw.one(conn, _CASE_STATE, {"case_id": case_id})[0]  # type: ignore[index]
        chunks = raw.column(conn, _CASE_CHUNKS, {"case_id": case_id})
        deployed = definitions.for_case(conn, case_id, version_id)
        workflow, task_cache = self.codec.load(state, chunks, deployed.spec,
                                               deployed.subprocess_specs)
        return workflow, task_cache, deployed

    # -- save ----------------------------------------------------------------------------
    def save(self, conn: Connection, case: LoadedCase, now: dt.datetime,
             deadlines: dict[str, Deadline]) -> None:
        """Write the case and its derived rows; raise Conflict if it changed meanwhile."""
        workflow = case.workflow
        data = case_data(workflow)
        if case.status not in ("error", "suspended", "withdrawn"):   # holds and ends stay
            case.status = "completed" if workflow.completed else "running"
        saved_state = self.codec.dump(workflow, case.task_cache)
        events, head, seq = chain_rows(case.id, case.audit_head, case.audit_seq, case.events)
        w = RawSQL.of(conn)
        saved = w.run(conn, _SAVE_CASE, {
            "case_id": case.id, "seen_revision": case.revision, "seen_seq": case.audit_seq,
            "state": saved_state.active, "data": w.doc(data), "status": case.status,
            "revision": case.revision + 1, "head": head, "seq": seq,
            "incident": w.doc(case.incident), "sla": w.doc(case.sla), "now": w.when(now),
            "completed_at": w.when(now if case.status in ENDED else None),
        })
        if saved != 1:
            raise Conflict(f"case {case.id} was changed by someone else; reload and try again",
                           case_id=case.id)
        if saved_state.rewrite:
            w.run(conn, _DROP_CHUNKS, {"case_id": case.id})
        if saved_state.chunk:
            w.run(conn, _ADD_CHUNK, {"case_id": case.id, "body": saved_state.chunk})
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
        w = RawSQL.of(conn)
        if gone:
            w.run_many(conn, _CLOSE_TASK, [{
                "task_id": task_id, "now": w.when(now),
                "state": "completed" if _finished(case.workflow, task_id) else "cancelled",
                "by": case.closed_by.get(task_id, "system"),
            } for task_id in gone])
            w.run_many(conn, _CLOSE_CANDIDATES, [
                {"task_id": task_id, "is_open": w.flag(False)} for task_id in gone])
        case.saved_tasks = tuple(TaskView(
            id=t.id, case_id=case.id, process_id=case.deployed.process_id,
            version_id=case.deployed.id, element_id=t.element_id, title=t.title, lane=t.lane,
            candidate_groups=t.candidate_groups, assignee=t.assignee, requester=case.requester,
            form=t.form, created_at=now, due_at=t.due.due if t.due else None,
            due_provisional=bool(t.due and t.due.provisional),
            due_basis=t.due.to_dict() if t.due else None, state="open",
        ) for t in case.new_tasks)
        if case.saved_tasks:
            w.run_many(conn, _INSERT_TASK, [{
                **vars(view), "candidate_groups": w.doc(list(view.candidate_groups)),
                "created_at": w.when(view.created_at), "due_at": w.when(view.due_at),
                "due_provisional": w.flag(view.due_provisional), "due_basis": w.doc(view.due_basis),
            } for view in case.saved_tasks])
            w.run_many(conn, _INSERT_CANDIDATE, [
                {"task_id": t.id, "group_name": g, "is_open": w.flag(True),
                 "due_at": w.when(t.due_at), "created_at": w.when(t.created_at)}
                for t in case.saved_tasks for g in t.candidate_groups])
        case.open_tasks = (case.open_tasks - gone) | {t.id for t in case.new_tasks}

    def _sync_timers(self, conn: Connection, case: LoadedCase,
                     deadlines: dict[str, Deadline]) -> None:
        w = RawSQL.of(conn)
        current = waiting_timers(case.workflow)
        gone = case.timers.keys() - current.keys()
        w.run_many(conn, _DELETE_TIMER, [{"case_id": case.id, "task_id": t} for t in gone])
        # A timer is unchanged when its moment is the same and no deadline was (re)computed
        # for it in this step (a recompute may keep the moment but end its provisional mark).
        kept = {task_id: case.timers[task_id] for task_id in current
                if task_id in case.timers and case.timers[task_id].fire_at == current[task_id][1]
                and current[task_id][0]._get_internal_data("event_value") not in deadlines}
        for task_id, (task, fire_at, timer_spec) in current.items():
            if task_id in kept:
                continue
            value = task._get_internal_data("event_value")
            basis = deadlines.get(value) if isinstance(value, str) else None
            timer = TimerView(case.id, task_id, element_id(timer_spec), fire_at,
                              bool(basis and basis.provisional),
                              spec_property(timer_spec, "rule"),
                              basis.to_dict() if basis else None)
            w.run(conn, _UPDATE_TIMER if task_id in case.timers else _INSERT_TIMER, {
                **vars(timer), "fire_at": w.when(fire_at),
                "provisional": w.flag(timer.provisional), "basis": w.doc(timer.basis)})
            kept[task_id] = timer
        case.timers = kept


def element_id(task_spec: Any) -> str:
    """The BPMN element a task spec stands for: every instance of a multi-instance or loop
    task (SpiffWorkflow's "<id> [child]") belongs to the element of its parent."""
    return task_spec.bpmn_id or task_spec.name


def spec_property(task_spec: Any, name: str) -> str | None:
    """A `spiffworkflow:properties` value of a task spec (govflow's task settings)."""
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)


def _finished(workflow: BpmnWorkflow, task_id: str) -> bool:
    """Whether a human task was completed (not cancelled); a cancelled instance of a
    multi-instance task is no longer in the workflow at all."""
    task = find_task(workflow, task_id)
    return task is not None and task.state == TaskState.COMPLETED


def find_task(workflow: BpmnWorkflow, task_id: str) -> Any:
    """The task with `task_id` in the workflow or its subprocesses, or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None
