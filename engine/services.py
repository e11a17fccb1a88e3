"""The use cases of govflow: deploy, start, claim, complete, retry, fire timers.

`Govflow` wires the parts together once (database, clock, calendar, sandbox, forms,
profile) and each method is one use case in one transaction: the case's state and
every row derived from it commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ScriptTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, insert, select, update

from . import access, directory, inbox, queries
from .audit import GENESIS, PendingEvent, chain_rows, verify, write_events
from .calendar import Deadline, WorkCalendar
from .clock import SHANGHAI, Clock, FrozenClock, clock_from_env, running_on
from .db import Database
from .deadlines import CalendarUseCases
from .definitions import Definitions
from .errors import (
    CaseNotRetryable,
    Conflict,
    NotAllowed,
    ScriptError,
    TaskAlreadyClaimed,
    TaskNotFound,
)
from .forms import FormLibrary
from .inbox import InboxQuery
from .model_limits import run_engine_steps
from .models import CaseView, DeployResult, InboxPage, TaskView, TimerFiring
from .profile import JurisdictionProfile, load_profile
from .rawsql import RawSQL
from .rules import cite
from .runtime import (
    CaseStore,
    LoadedCase,
    NewHumanTask,
    collecting_deadlines,
    ready_human_tasks,
    spec_property,
)
from .sandbox import make_script_engine
from .schema import cases, human_tasks, timers
from .sla import SlaClock
from .state import StateCodec, TaskJsonCache

SYSTEM = directory.SYSTEM
# What a system decision records of the deciding task's data.
DECISION_KEYS = ("outcome", "decision", "decided_by", "decision_rule", "decision_reason",
                 "sla_state", "sla_breach_rule")
_INSERT_CASE = insert(cases)
_TASK_ACCESS = ("SELECT case_id, element_id, state, assignee, form, completed_by,"
                " candidate_groups FROM human_tasks WHERE id = :task_id")


@dataclass(frozen=True)
class TaskAccess:
    """What deciding who may act on a task needs, read without building a full TaskView."""

    id: str
    case_id: int
    element_id: str
    state: str
    assignee: str | None
    form: str | None
    completed_by: str | None
    candidate_groups: tuple[str, ...]
WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


class Govflow(CalendarUseCases):
    def __init__(
        self, db: Database, *, clock: Clock | None = None,
        profile: JurisdictionProfile | None = None, forms_dir: Path | str | None = None,
        verify_state: bool = False, script_time_limit: float = 0.5,
        step_time_limit: float = 2.0,
    ) -> None:
        self.db = db
        self.clock = clock or clock_from_env()
        self.profile = profile or load_profile()
        self.forms = FormLibrary(forms_dir)
        self.definitions = Definitions()
        self.store = CaseStore(StateCodec(verify=verify_state))
        self.script_engine = make_script_engine(
            {"deadline": self._deadline_helper, "limits": dict(self.profile.limits)},
            time_limit=script_time_limit)
        self.step_time_limit = step_time_limit
        self._calendar: WorkCalendar | None = None
        self._calendar_loaded = 0.0
        self._calendar_lock = threading.Lock()  # one calendar load at a time

    @classmethod
    def open(cls, url: str | None = None, **options: Any) -> Govflow:
        return cls(Database(url), **options)

    def now(self) -> dt.datetime:
        return self.clock.now()

    # -- definitions ---------------------------------------------------------------------
    def init_schema(self) -> None:
        self.db.create_schema()

    def deploy(self, xml: bytes, file_name: str, *, by: str | None = None) -> DeployResult:
        with self.db.write() as conn:
            return self.definitions.deploy(conn, xml, file_name, by=by, now=self.now())

    def deploy_directory(self, directory_: Path = WORKFLOWS, *,
                         by: str | None = None) -> list[DeployResult]:
        return [self.deploy(path.read_bytes(), path.name, by=by)
                for path in sorted(Path(directory_).glob("*.bpmn"))]

    # -- cases ---------------------------------------------------------------------------
    def start_case(self, process_id: str, data: dict[str, Any], *,
                   user: str | None = None) -> CaseView:
        """Start a case on the latest version and run it until it waits."""
        now = self.now()
        data = dict(data)
        data.setdefault("received_at", now.astimezone(SHANGHAI).isoformat())
        requester = data.get("requester_name") or data.get("requester_dept") or user
        with self.db.write() as conn:
            deployed = self.definitions.latest(conn, process_id)
            workflow = BpmnWorkflow(deployed.spec, deployed.subprocess_specs,
                                    script_engine=self.script_engine)
            start = workflow.get_tasks(state=TaskState.READY)[0]
            self.forms.validate(_start_form(deployed.spec), _form_part(data))
            case_id = conn.execute(_INSERT_CASE, {
                "process_id": deployed.process_id, "version_id": deployed.id,
                "status": "running", "requester": requester, "data": data, "state": "",
                "revision": 0, "audit_head": GENESIS, "audit_seq": 0, "started_at": now,
                "started_by": user, "updated_at": now,
            }).inserted_primary_key[0]
            case = LoadedCase(
                id=case_id, deployed=deployed, workflow=workflow, task_cache=TaskJsonCache(),
                revision=0, audit_head=GENESIS, audit_seq=0, status="running",
                requester=requester, incident=None, open_tasks=set(), timers={}, data={},
                started_at=now, started_by=user)
            case.events.append(PendingEvent(now, user or SYSTEM, "case_started",
                                            details={"data": data}))
            self._step(conn, case, lambda wf: start.data.update(data), actor=user or SYSTEM)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def claim_task(self, task_id: str, user: str) -> TaskView:
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if task.assignee == user:
                return queries.get_task(conn, task_id)
            if task.assignee is not None:
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}",
                                         assignee=task.assignee)
            self._require_candidate(conn, task, user)
            claimed = conn.execute(update(human_tasks).where(
                human_tasks.c.id == task_id, human_tasks.c.state == "open",
                human_tasks.c.assignee.is_(None)).values(assignee=user)).rowcount
            if claimed != 1:
                raise TaskAlreadyClaimed(f"task {task_id} was claimed by someone else")
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_claimed", task.id, task.element_id))
            return queries.get_task(conn, task_id)

    def unclaim_task(self, task_id: str, user: str) -> TaskView:
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if task.assignee != user:
                raise NotAllowed(f"task {task_id} is not claimed by {user}")
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                         .values(assignee=None))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_unclaimed", task.id, task.element_id))
            return queries.get_task(conn, task_id)

    def transfer_task(self, task_id: str, user: str, to_user: str, reason: str) -> TaskView:
        """Hand a claimed task to a colleague who shares one of its candidate groups."""
        if not reason or not reason.strip():
            raise NotAllowed("a transfer needs a reason")
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if task.assignee not in (user, None):
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}")
            self._require_candidate(conn, task, user)
            self._require_candidate(conn, task, to_user)
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                         .values(assignee=to_user))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_transferred", task.id, task.element_id,
                details={"to": to_user, "reason": reason.strip()}))
            return queries.get_task(conn, task_id)

    def complete_task(self, task_id: str, user: str, data: dict[str, Any]) -> CaseView:
        """Submit a task's form and run the case until it waits again."""
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if task.assignee is not None and task.assignee != user:
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}",
                                         assignee=task.assignee)
            if task.assignee is None:
                self._require_candidate(conn, task, user)
            self.forms.validate(task.form, data)
            case = self.store.load(conn, task.case_id, self.definitions)
            spiff_task = case.workflow.get_task_from_id(UUID(task_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer waiting for input")
            case.closed_by[task_id] = user
            case.events.append(PendingEvent(
                self.now(), user, "task_completed", task_id, task.element_id,
                rule=spec_property(spiff_task.task_spec, "rule"), details={"data": data}))

            def submit(_: BpmnWorkflow) -> None:
                spiff_task.data.update(data)
                spiff_task.run()

            self._step(conn, case, submit, actor=user)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def retry_case(self, case_id: int, user: str,
                   data: dict[str, Any] | None = None) -> CaseView:
        """Run a case with an incident again, after merging corrected data into the failed task."""
        with self.db.write() as conn:
            case = self.store.load(conn, case_id, self.definitions)
            if case.status != "error" or not case.incident:
                raise CaseNotRetryable(f"case {case_id} has no incident to retry")
            failed = case.workflow.get_task_from_id(UUID(case.incident["task_id"]))
            fix = dict(data or {})
            case.events.append(PendingEvent(self.now(), user, "case_retried",
                                            failed.task_spec.name, details={"data": fix}))

            def rerun(workflow: BpmnWorkflow) -> None:
                if failed.state == TaskState.ERROR:
                    # Resetting merges the parent's data back in, so the fix goes after.
                    workflow.reset_from_task_id(failed.id)
                failed.data.update(fix)

            self._step(conn, case, rerun, actor=user)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    # -- timers --------------------------------------------------------------------------
    def fire_due_timers(self, now: dt.datetime | None = None, *, limit: int = 500) -> TimerFiring:
        """Fire every timer due at `now`; loads only the cases that have one. Idempotent."""
        now = now or self.now()
        with self.db.read() as conn:
            due = list(conn.execute(
                select(timers.c.case_id).where(timers.c.fire_at <= now)
                .group_by(timers.c.case_id).order_by(timers.c.case_id).limit(limit)).scalars())
        fired: list[tuple[int, str]] = []
        conflicts: list[int] = []
        for case_id in due:
            try:
                fired.extend(self._fire_case_timers(case_id, now))
            except Conflict:
                conflicts.append(case_id)
        return TimerFiring(tuple(fired), tuple(conflicts))

    def _fire_case_timers(self, case_id: int, now: dt.datetime) -> list[tuple[int, str]]:
        with self.db.write() as conn:
            case = self.store.load(conn, case_id, self.definitions)
            due = {task_id: t for task_id, t in case.timers.items()
                   if t.fire_at is not None and t.fire_at <= now}
            if not due or case.status == "error":
                self.store.put_back(case)
                return []
            for task_id, timer in due.items():
                case.events.append(PendingEvent(
                    now, SYSTEM, "timer_fired", task_id, timer.element_id, timer.rule,
                    details={"due": timer.fire_at.isoformat() if timer.fire_at else None,
                             "authority": cite(timer.rule)}))
                spec = case.workflow.get_task_from_id(UUID(task_id)).task_spec
                if getattr(spec, "cancel_activity", True) is False:
                    case.sla = _breached(case.sla, timer, now)
            self._step(conn, case, lambda wf: wf.refresh_timers(), actor=SYSTEM,
                       clock=FrozenClock(now))
        self.store.put_back(case)
        return [(case_id, t.element_id) for t in due.values()]

    # -- the step ------------------------------------------------------------------------
    def _step(self, conn: Connection, case: LoadedCase, move: Callable[[BpmnWorkflow], None],
              *, actor: str, clock: Clock | None = None) -> None:
        """Apply `move`, run the engine until it waits, and save; failures become incidents."""
        workflow = case.workflow
        workflow.script_engine = self.script_engine  # deserializing drops it: always reattach
        before = dict(case.data)
        trigger = case.events[-1] if case.events else None

        def record_decision(task: Any) -> None:
            """A script or decision table that cites a rule decided for the system."""
            rule = spec_property(task.task_spec, "rule")
            if rule and isinstance(task.task_spec, ScriptTask | BusinessRuleTask):
                case.events.append(PendingEvent(
                    self.now(), SYSTEM, "system_decision", str(task.id), task.task_spec.name,
                    rule, details={"authority": cite(rule), "decision": {
                        k: task.data[k] for k in DECISION_KEYS if k in task.data}}))

        with running_on(clock or self.clock), collecting_deadlines() as deadlines:
            try:
                move(workflow)
                run_engine_steps(workflow, time_limit=self.step_time_limit,
                                 did_complete_task=record_decision)
                case.new_tasks = self._assign_new_tasks(case)
            except Exception as exc:  # noqa: BLE001 - every failure of a model is an incident
                self._raise_incident(case, exc)
            else:
                if case.status == "error":
                    case.status, case.incident = "running", None
                    case.events.append(PendingEvent(self.now(), actor, "incident_resolved"))
            changes = _diff(before, workflow.last_task.data if workflow.last_task else before)
            if changes and trigger is not None:
                trigger.details = {**(trigger.details or {}), "changes": changes}
            if workflow.completed and case.status != "completed":
                case.events.append(PendingEvent(self.now(), SYSTEM, "case_completed",
                                                details={"outcome": _outcome(workflow)}))
            self.store.save(conn, case, self.now(), deadlines)
            self._warn_provisional(conn, case, deadlines.values())

    def _assign_new_tasks(self, case: LoadedCase) -> list[NewHumanTask]:
        fresh = []
        case.ready = ready_human_tasks(case.workflow)
        for task_id, task in case.ready.items():
            if task_id in case.open_tasks:
                continue
            spec = task.task_spec
            groups = [g.strip() for g in (spec_property(spec, "candidateGroups") or "").split(",")]
            expression = spec_property(spec, "candidateGroupsExpression")
            if expression:
                found = self.script_engine.evaluate(task, expression)
                groups.extend([found] if isinstance(found, str) else list(found or ()))
            groups = sorted({g for g in groups if g})
            if not groups:
                raise ScriptError(f"task {spec.name} has no candidate group for this case")
            due = None
            days = spec_property(spec, "dueWorkingDays")
            if days:
                start = spec_property(spec, "dueFrom")
                received = self.script_engine.evaluate(task, start) if start else None
                due = self.deadline(received or self.now(),
                                    int(self.script_engine.evaluate(task, days)))
            fresh.append(NewHumanTask(task_id, spec.name, spec.bpmn_name or spec.name,
                                      spec.lane, tuple(groups), spec_property(spec, "form"), due))
        return fresh

    def _raise_incident(self, case: LoadedCase, exc: Exception) -> None:
        task = getattr(exc, "task", None)
        if task is None:
            failed = case.workflow.get_tasks(state=TaskState.ERROR)
            task = failed[0] if failed else None
        if task is None:
            ready = [t for t in ready_human_tasks(case.workflow).values()
                     if str(t.id) not in case.open_tasks]
            task = ready[0] if ready else None
        message = " ".join(str(exc).split()) or exc.__class__.__name__
        case.status = "error"
        case.new_tasks = []
        case.incident = {
            "message": message, "task_id": str(task.id) if task else None,
            "element_id": task.task_spec.name if task else None,
            "at": self.now().isoformat(),
        }
        case.events.append(PendingEvent(self.now(), SYSTEM, "incident",
                                        task_id=case.incident["task_id"],
                                        element_id=case.incident["element_id"],
                                        details={"message": message}))

    def _warn_provisional(self, conn: Connection, case: LoadedCase,
                          timer_deadlines: Iterable[Deadline]) -> None:
        """Tell administrators when a deadline had to be computed on weekends only."""
        computed = [t.due for t in case.new_tasks if t.due] + list(timer_deadlines)
        years = sorted({y for d in computed if d.provisional for y in d.uncovered_years})
        if years:
            self.warn_years_missing(conn, years, case.id)

    # -- helpers -------------------------------------------------------------------------
    def _step_view(self, conn: Connection, case: LoadedCase) -> CaseView:
        """The case after a step: its open tasks, its timers and the events of the step.

        Built from what the step just wrote; only tasks opened by earlier steps are read."""
        opened_now = {t.id for t in case.saved_tasks}
        earlier = case.open_tasks - opened_now
        tasks = case.saved_tasks + (
            tuple(t for t in queries.case_tasks(conn, case.id, open_only=True)
                  if t.id in earlier) if earlier else ())
        return CaseView(
            id=case.id, process_id=case.deployed.process_id, version=case.deployed.version,
            version_id=case.deployed.id, status=case.status, requester=case.requester,
            data=case.data, incident=case.incident, started_at=case.started_at,
            started_by=case.started_by, updated_at=case.saved_at or self.now(),
            completed_at=case.saved_at if case.status == "completed" else None,
            tasks=tasks, timers=tuple(sorted(case.timers.values(), key=_timer_order)),
            events=case.saved_events, sla=case.sla)

    def _open_task(self, conn: Connection, task_id: str) -> TaskAccess:
        raw = RawSQL.of(conn)
        row = raw.one(conn, _TASK_ACCESS, {"task_id": task_id})
        if row is None:
            raise TaskNotFound(f"task {task_id} does not exist")
        case_id, element_id, state, assignee, form, completed_by, groups = row
        task = TaskAccess(task_id, case_id, element_id, state, assignee, form, completed_by,
                          tuple(raw.read_doc(groups)))
        if task.state != "open":
            raise Conflict(f"task {task_id} is already {task.state}"
                           + (f" by {task.completed_by}" if task.completed_by else ""),
                           state=task.state)
        return task

    def _require_candidate(self, conn: Connection, task: TaskAccess, user: str) -> None:
        if not directory.groups_of(conn, user) & set(task.candidate_groups):
            raise NotAllowed(f"{user} is not an active member of a group that may work "
                             f"task {task.id}")

    def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None:
        """Add an event that changes no workflow state (claims, transfers)."""
        row = conn.execute(select(cases.c.audit_head, cases.c.audit_seq)
                           .where(cases.c.id == case_id)).one()
        rows, head, seq = chain_rows(case_id, row.audit_head, row.audit_seq, [event])
        changed = conn.execute(update(cases).where(
            cases.c.id == case_id, cases.c.audit_seq == row.audit_seq)
            .values(audit_head=head, audit_seq=seq)).rowcount
        if changed != 1:
            raise Conflict(f"case {case_id} changed meanwhile; try again")
        write_events(conn, rows)

    # -- queries -------------------------------------------------------------------------
    def get_case(self, case_id: int, *, full: bool = True) -> CaseView:
        with self.db.read() as conn:
            return queries.get_case(conn, case_id, full=full)

    def get_task(self, task_id: str) -> TaskView:
        with self.db.read() as conn:
            return queries.get_task(conn, task_id)

    def inbox(self, user: str, *, view: str = "all", process_id: str | None = None,
              search: str | None = None, page: int = 1, per_page: int = 50) -> InboxPage:
        """The open tasks `user` may work on, soonest due first (the web inbox's query)."""
        query = InboxQuery(view=view, process_id=process_id, search=search, page=page,
                           per_page=per_page)
        with self.db.read() as conn:
            found = inbox.inbox(conn, access.load_viewer(conn, user), query,
                                SlaClock(self.calendar, self.now()))
        return InboxPage(tuple(row.task for row in found.rows), found.total, found.page,
                         found.per_page)

    def verify_audit(self) -> list[str]:
        with self.db.read() as conn:
            return verify(conn)

    def process_xml(self, process_id: str) -> bytes:
        with self.db.read() as conn:
            return self.definitions.xml(conn, self.definitions.latest(conn, process_id).id)


def _breached(sla: dict[str, Any] | None, timer: Any, now: dt.datetime) -> dict[str, Any]:
    """A non-interrupting limit ran out: the case is overdue; nothing is decided."""
    breaches = list((sla or {}).get("breaches", ()))
    breaches.append({"rule": timer.rule, "element_id": timer.element_id,
                     "at": now.isoformat()})
    return {"state": "overdue", "breaches": breaches}


def _timer_order(timer: Any) -> tuple[bool, dt.datetime]:
    return (timer.fire_at is None, timer.fire_at or dt.datetime.max.replace(tzinfo=dt.UTC))


def _start_form(spec: Any) -> str | None:
    """The `form` of the process's start event (SpiffWorkflow's own start task precedes it)."""
    for event in spec.start.outputs:
        form = spec_property(event, "form")
        if form:
            return form
    return None


def _form_part(data: dict[str, Any]) -> dict[str, Any]:
    """Start forms validate what the submitter typed, not what the engine adds."""
    return {k: v for k, v in data.items() if k != "received_at"}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = before.keys() | after.keys()
    return {k: [before.get(k), after.get(k)] for k in sorted(keys)
            if before.get(k) != after.get(k)}


def _outcome(workflow: BpmnWorkflow) -> Any:
    return (workflow.last_task.data if workflow.last_task else {}).get("outcome")
