"""The use cases of govflow: deploy, start, claim, complete, retry, fire timers.

`Govflow` wires the parts together once (database, clock, calendar, sandbox, forms,
profile) and each method is one use case in one transaction: the case's state and
every row derived from it commit together or not at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ScriptTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from engine.bpmn.definitions import BpmnFile, Definitions
from engine.bpmn.limits import run_engine_steps
from engine.bpmn.walk import CaseWorkflow, WalkDiffers
from engine.cases import inbox, queries
from engine.cases.approvals import ApprovalUseCases
from engine.cases.countersign import count_signature
from engine.cases.delivery import MessageUseCases
from engine.cases.forms import FormLibrary, says_something, trimmed
from engine.cases.inbox import InboxQuery
from engine.cases.incidents import describe, record_timer_incident
from engine.cases.messages import mark_new, message_starts, sync_waits, take_thrown
from engine.cases.models import CaseView, DeployResult, InboxPage, TaskView, TimerFiring
from engine.cases.runtime import (
    ENDED,
    CaseStore,
    LoadedCase,
    NewHumanTask,
    collecting_deadlines,
    element_id,
    find_task,
    ready_human_tasks,
    spec_property,
    workflow_cache_from_env,
)
from engine.cases.state import StateCodec, TaskJsonCache
from engine.errors import (
    BpmnValidationError,
    CaseNotRetryable,
    Conflict,
    EngineError,
    InvalidTaskData,
    NotAllowed,
    ScriptError,
    TaskAlreadyClaimed,
    TaskNotFound,
)
from engine.notify.notices import collecting_notices, notify_party
from engine.notify.usecases import NotifyUseCases
from engine.people import access, directory
from engine.rules import resources
from engine.rules.ids import cite
from engine.rules.profile import DEFAULT_PROFILE, JurisdictionProfile, load_profile
from engine.scripts.sandbox import make_script_engine
from engine.store import checkpoints
from engine.store.audit import GENESIS, PendingEvent, chain_rows, reseal, verify, write_events
from engine.store.auditkey import ensure_key
from engine.store.db import Database, claim_case
from engine.store.rawsql import RawSQL
from engine.store.schema import cases, human_tasks, timers
from engine.time.calendar import Deadline, WorkCalendar
from engine.time.clock import SHANGHAI, Clock, FrozenClock, clock_from_env, running_on
from engine.time.deadlines import CalendarUseCases
from engine.time.sla import SlaClock

SYSTEM = directory.SYSTEM
# What a system decision records of the deciding task's data.
DECISION_KEYS = ("outcome", "decision", "decided_by", "decision_rule", "decision_reason",
                 "sla_state", "sla_breach_rule", "findings_overridden", "override_reason")
#: The case data key naming the jurisdiction profile the case started under.
PROFILE_KEY = "jurisdiction_profile"
#: Who the running step acts for, as scripts see it through `actor()`.
_ACTING: contextvars.ContextVar[str] = contextvars.ContextVar("acting", default=SYSTEM)
_INSERT_CASE = (
    "INSERT INTO cases (process_id, version_id, status, requester, data, state, revision,"
    " audit_head, audit_seq, started_at, started_by, updated_at) VALUES (:process_id,"
    " :version_id, 'running', :requester, :data, '', 0, :audit_head, 0, :now, :started_by,"
    " :now) RETURNING id")
_CLAIM = ("UPDATE human_tasks SET assignee = :user"
          " WHERE id = :task_id AND state = 'open' AND assignee IS NULL")
_AUDIT_HEAD = "SELECT audit_head, audit_seq FROM cases WHERE id = :case_id"
_MOVE_AUDIT_HEAD = ("UPDATE cases SET audit_head = :head, audit_seq = :seq"
                    " WHERE id = :case_id AND audit_seq = :seen_seq")
_TASK_ACCESS = ("SELECT t.case_id, t.element_id, t.state, t.assignee, t.form, t.completed_by,"
                " t.candidate_groups, c.status FROM human_tasks t JOIN cases c"
                " ON c.id = t.case_id WHERE t.id = :task_id")


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
    case_status: str = "running"


WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


class Govflow(CalendarUseCases, resources.CatalogUseCases, MessageUseCases,
              NotifyUseCases, ApprovalUseCases):
    def __init__(
        self, db: Database, *, clock: Clock | None = None,
        profile: JurisdictionProfile | None = None, forms_dir: Path | str | None = None,
        verify_state: bool = False, script_time_limit: float = 0.5,
        step_time_limit: float = 2.0,
        cache: bool | None = None,
    ) -> None:
        """`cache=False` (or GOVFLOW_WORKFLOW_CACHE=0) restores every case and parses every
        spec from the database at each step, exactly as a freshly started process does."""
        self.db = db
        self.cache = workflow_cache_from_env() if cache is None else cache
        self.clock = clock or clock_from_env()
        self.profile = profile or load_profile()
        self.forms = FormLibrary(forms_dir)
        self.definitions = Definitions(cache=self.cache)
        self.store = CaseStore(StateCodec(verify=verify_state),
                               cache_size=512 if self.cache else 0)
        self._script_time_limit = script_time_limit
        self.script_engine = self._script_engine_for_profile(self.profile)
        self._engines_by_profile: dict[str, Any] = {self.profile.name: self.script_engine}
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
        """Create or upgrade the database, and the audit key file when no key is set."""
        ensure_key()
        self.db.create_schema()

    def deploy(self, xml: bytes, file_name: str, *, by: str | None = None) -> DeployResult:
        """Deploy one file (its first process, when it holds a collaboration)."""
        return self.deploy_files([BpmnFile(file_name, xml)], by=by)[0]

    def deploy_files(self, files: list[BpmnFile], *,
                     by: str | None = None) -> list[DeployResult]:
        """Deploy several files together: every process of every file, or nothing."""
        with self.db.write() as conn:
            results, created = self.definitions.deploy(conn, files, by=by, now=self.now())
        self.definitions.remember(created)
        return results

    def deploy_paths(self, paths: Iterable[Path | str], *,
                     by: str | None = None) -> list[DeployResult]:
        """Deploy BPMN files and folders (each folder's *.bpmn), with the decision tables
        (`<decision_id>.dmn`) found next to each file."""
        files = []
        for path in map(Path, paths):
            if path.suffix == ".dmn":  # read when a BPMN file next to it calls it
                continue
            found = sorted(path.glob("*.bpmn")) if path.is_dir() else [path]
            files += [BpmnFile(f.name, f.read_bytes(), f.resolve().parent) for f in found]
        if not files:
            raise BpmnValidationError("no .bpmn file to deploy")
        return self.deploy_files(files, by=by)

    def deploy_directory(self, directory_: Path = WORKFLOWS, *,
                         by: str | None = None) -> list[DeployResult]:
        return self.deploy_paths([directory_], by=by)

    # -- cases ---------------------------------------------------------------------------
    def start_case(self, process_id: str, data: dict[str, Any], *,
                   user: str | None = None, received_at: dt.datetime | None = None,
                   received_reason: str | None = None) -> CaseView:
        """Start a case on the latest version and run it until it waits.

        govflow records the moment of receipt itself. An administrator may record another
        (a letter that arrived on paper) with a reason, and that is audited."""
        if not isinstance(data, dict):
            raise InvalidTaskData("case data must be a JSON object", {"": "not an object"})
        data = trimmed(data)
        with self.db.write() as conn:
            case, start = self._open_case(conn, process_id, data, user=user,
                                          received_at=received_at,
                                          received_reason=received_reason)
            self._step(conn, case, lambda wf: start.data.update(data), actor=user or SYSTEM)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def _receipt(self, conn: Connection, user: str | None, received_at: dt.datetime | None,
                 reason: str | None, now: dt.datetime) -> dt.datetime | None:
        """An administrator's record of another receipt time, checked; None when not given."""
        if received_at is None:
            return None
        if user is None or access.ADMIN_GROUP not in directory.groups_of(conn, user):
            raise NotAllowed("only an administrator may record another time of receipt")
        if received_at.tzinfo is None:
            raise InvalidTaskData("the time of receipt needs a time zone",
                                  {"received_at": "no time zone"})
        if received_at > now:
            raise InvalidTaskData("a case cannot be received in the future",
                                  {"received_at": "in the future"})
        if not reason or not says_something(reason.strip(), 5):
            raise InvalidTaskData("recording another time of receipt needs a reason",
                                  {"received_reason": "请说明理由 (give a reason)"})
        return received_at

    def _open_case(self, conn: Connection, process_id: str, data: dict[str, Any], *,
                   user: str | None, on_message: bool = False,
                   received_at: dt.datetime | None = None,
                   received_reason: str | None = None) -> tuple[LoadedCase, Any]:
        """Insert a new case on the latest version; return it and its start task.

        Checks `data` against the start form and completes it in place: routing from the
        catalog, the moment of receipt and the jurisdiction profile."""
        now = self.now()
        if "received_at" in data:
            raise InvalidTaskData("received_at: govflow records the time of receipt itself",
                                  {"received_at": "由系统记录 (set by govflow)"})
        requester = data.get("requester_name") or data.get("requester_dept") or user
        deployed = self.definitions.latest(conn, process_id)
        waits_for = message_starts(deployed.spec)
        if not on_message and waits_for and len(waits_for) == len(deployed.spec.start.outputs):
            raise NotAllowed(f"process {process_id!r} starts on message {waits_for[0]!r}; "
                             "send that message to start a case")
        form = _start_form(deployed.spec)
        self.forms.validate(form, data, lambda names: directory.active_among(conn, names))
        if user is not None:
            mine = directory.groups_of(conn, user)
            self.forms.check_submitter(form, data, mine, access.ADMIN_GROUP in mine)
        if form is not None:
            data.update(resources.route(conn, self.forms.schema(form), data))
        receipt = self._receipt(conn, user, received_at, received_reason, now)
        data["received_at"] = (receipt or now).astimezone(SHANGHAI).isoformat()
        data[PROFILE_KEY] = self.profile.name  # the rules the case started under
        raw = RawSQL.of(conn)
        case_id = raw.one(conn, _INSERT_CASE, {  # type: ignore[index]
            "process_id": deployed.process_id, "version_id": deployed.id,
            "requester": requester, "data": raw.doc(data), "audit_head": GENESIS,
            "now": raw.when(now), "started_by": user})[0]
        deployed = self.definitions.pin_calls(conn, case_id, deployed)
        workflow = CaseWorkflow(deployed.spec, deployed.subprocess_specs,
                                script_engine=self.script_engine)
        workflow.check = self.store.codec.verify
        start = workflow.get_tasks(state=TaskState.READY)[0]
        case = LoadedCase(
            id=case_id, deployed=deployed, workflow=workflow, task_cache=TaskJsonCache(),
            revision=0, audit_head=GENESIS, audit_seq=0, status="running",
            requester=requester, incident=None, open_tasks=set(), timers={}, data={},
            started_at=now, started_by=user)
        if receipt is not None:
            case.events.append(PendingEvent(now, user or SYSTEM, "receipt_time_recorded",
                                            details={"received_at": data["received_at"],
                                                     "reason": received_reason}))
        case.events.append(PendingEvent(now, user or SYSTEM, "case_started",
                                        details={"data": data}))
        mark_new(workflow)
        return case, start

    def claim_task(self, task_id: str, user: str) -> TaskView:
        with self.db.write() as conn:
            task = self._open_task(conn, task_id, work=True)
            if task.assignee == user:
                return queries.get_task(conn, task_id)
            if task.assignee is not None:
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}",
                                         assignee=task.assignee)
            self._require_candidate(conn, task, user)
            claimed = RawSQL.of(conn).run(conn, _CLAIM, {"task_id": task_id, "user": user})
            if claimed != 1:
                raise TaskAlreadyClaimed(f"task {task_id} was claimed by someone else")
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_claimed", task.id, task.element_id))
            return queries.get_task(conn, task_id)

    def unclaim_task(self, task_id: str, user: str) -> TaskView:
        with self.db.write() as conn:
            task = self._open_task(conn, task_id, work=True)
            if task.assignee != user:
                raise NotAllowed(f"task {task_id} is not claimed by {user}")
            self._refuse_while_delegated(conn, task)
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
            task = self._open_task(conn, task_id, work=True)
            if task.assignee not in (user, None):
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}")
            self._require_candidate(conn, task, user)
            self._require_candidate(conn, task, to_user)
            self._refuse_while_delegated(conn, task)
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                         .values(assignee=to_user))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_transferred", task.id, task.element_id,
                details={"to": to_user, "reason": reason.strip()}))
            self._task_handed_to(conn, task_id, to_user, user)
            return queries.get_task(conn, task_id)

    def complete_task(self, task_id: str, user: str, data: dict[str, Any]) -> CaseView:
        """Submit a task's form and run the case until it waits again."""
        if self.store.needs_warming(task_id):
            with self.db.read() as conn:
                self.store.warm(conn, task_id, self.definitions)
        with self.db.write() as conn:
            task = self._open_task(conn, task_id, work=True)
            if task.assignee is not None and task.assignee != user:
                raise TaskAlreadyClaimed(f"task {task_id} is claimed by {task.assignee}",
                                         assignee=task.assignee)
            if task.assignee is None:
                self._require_candidate(conn, task, user)
            self._refuse_while_delegated(conn, task)
            data = trimmed(data)
            self.forms.validate(task.form, data, lambda names: directory.active_among(conn, names))
            case = self.store.load(conn, task.case_id, self.definitions)
            spiff_task = case.workflow.get_task_from_id(UUID(task_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer waiting for input")
            try:
                self.forms.check_against_case(task.form, data, spiff_task.data)
                self._check_against_case(spiff_task, data)
            except InvalidTaskData:
                self.store.put_back(case)
                raise
            case.closed_by[task_id] = user
            case.events.append(PendingEvent(
                self.now(), user, "task_completed", task_id, task.element_id,
                rule=spec_property(spiff_task.task_spec, "rule"), details={"data": data}))

            def submit(_: BpmnWorkflow) -> None:
                spiff_task.data.update(data)
                count_signature(spiff_task)
                spiff_task.run()

            self._step(conn, case, submit, actor=user)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def _script_engine_for_profile(self, profile: JurisdictionProfile) -> Any:
        return make_script_engine(
            {"deadline": self._deadline_helper, "limits": dict(profile.limits),
             "switches": dict(profile.switches), "now": self._now_helper,
             "actor": _ACTING.get, "notify_party": notify_party},
            time_limit=self._script_time_limit)

    def _script_engine_for(self, data: dict[str, Any]) -> Any:
        """A case keeps the rules of the profile it started under (its `jurisdiction_profile`),
        even if the deployment has switched profiles since; a profile that is no longer
        shipped falls back to the one in use."""
        name = data.get(PROFILE_KEY) or self.profile.name
        engine = self._engines_by_profile.get(name)
        if engine is None:
            try:
                profile = load_profile(DEFAULT_PROFILE if name == "default" else name)
            except EngineError:
                return self.script_engine   # not cached: the shipped profiles bound the cache
            engine = self._engines_by_profile.setdefault(
                name, self._script_engine_for_profile(profile))
        return engine

    def _check_against_case(self, spiff_task: Any, data: dict[str, Any]) -> None:
        """Checks a form cannot make alone, such as "not a decision the reviews barred": the
        task's `formCheck` expression sees the case data with the submission on top and
        returns {field: message} for what is wrong."""
        expression = spec_property(spiff_task.task_spec, "formCheck")
        if not expression:
            return
        try:
            errors = self._script_engine_for(spiff_task.data).environment.evaluate(
                expression, {**spiff_task.data, **data})
        except Exception as exc:  # noqa: BLE001 - a broken check is the model's fault
            raise ScriptError(f"formCheck of {spiff_task.task_spec.name} failed: {exc}") from None
        if errors:
            raise InvalidTaskData(f"the form has errors in: {', '.join(sorted(errors))}",
                                  {str(k): str(v) for k, v in dict(errors).items()})

    def retry_case(self, case_id: int, user: str,
                   data: dict[str, Any] | None = None) -> CaseView:
        """Run a case with an incident again, after merging corrected data into the failed task.

        An incident of the timer sweep (the case's timer could not be fired), or one that
        names no task, is retried by firing the case's due timers again; it takes no data."""
        fix = dict(data or {})
        with self.db.write() as conn:
            case = self._load_for_retry(conn, case_id)
            if case.status != "error" or not case.incident:
                raise CaseNotRetryable(f"case {case_id} has no incident to retry")
            task_id = case.incident.get("task_id")
            by_timer = case.incident.get("kind") == "timer"
            failed = find_task(case.workflow, task_id) if task_id and not by_timer else None
            if failed is None and fix:
                raise CaseNotRetryable(
                    f"the incident of case {case_id} names no task whose data could be "
                    "corrected; retry it without data")
            case.events.append(PendingEvent(
                self.now(), user, "case_retried", task_id, case.incident.get("element_id"),
                details={"data": fix}))

            now = self.now()
            due = [task_id for task_id, t in case.timers.items()
                   if t.fire_at is not None and t.fire_at <= now and not t.provisional]

            def rerun(workflow: BpmnWorkflow) -> None:
                if failed is None:
                    _fire(workflow, due)
                    return
                if failed.state == TaskState.ERROR:
                    # Resetting merges the parent's data back in, so the fix goes after.
                    workflow.reset_from_task_id(failed.id)
                failed.data.update(fix)

            try:
                # a timer's retry fires what is due now, as the sweep does
                self._step(conn, case, rerun, actor=user,
                           clock=None if failed else FrozenClock(now))
            except EngineError:
                raise
            except Exception as exc:  # noqa: BLE001 - govflow's own code failed again
                raise CaseNotRetryable(f"case {case_id} failed again while being retried "
                                       f"({describe(exc)}); nothing was changed") from exc
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def _load_for_retry(self, conn: Connection, case_id: int) -> LoadedCase:
        try:
            return self.store.load(conn, case_id, self.definitions)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - a state that cannot be restored
            raise CaseNotRetryable(f"case {case_id} cannot be restored to be retried: "
                                   f"{describe(exc)}") from exc

    # -- timers --------------------------------------------------------------------------
    def fire_due_timers(self, now: dt.datetime | None = None, *, limit: int = 500) -> TimerFiring:
        """Fire every timer due at `now`; loads only the cases that have one. Idempotent.

        A timer on a provisional date is held until its year is entered (administrators
        are warned); a run with nothing due writes nothing."""
        now = now or self.now()
        with self.db.read() as conn:
            due = list(conn.execute(
                select(timers.c.case_id).join(cases, cases.c.id == timers.c.case_id)
                .where(timers.c.fire_at <= now, timers.c.provisional.is_(False),
                       cases.c.status != "error")
                .group_by(timers.c.case_id).order_by(timers.c.case_id).limit(limit)).scalars())
        fired: list[tuple[int, str]] = []
        conflicts: list[int] = []
        incidents: list[int] = []
        for case_id in due:
            try:
                fired.extend(self._fire_case_timers(case_id, now))
            except Conflict:
                conflicts.append(case_id)
            except Exception as exc:  # noqa: BLE001 - one broken case never stops the sweep
                try:
                    with self.db.write() as conn:
                        record_timer_incident(conn, case_id, exc, now)
                    self.store.forget(case_id)
                    incidents.append(case_id)
                except Exception:  # noqa: BLE001 - not even recorded: the next pass tries again
                    conflicts.append(case_id)
        self.warn_held_timers(now)
        return TimerFiring(tuple(fired), tuple(conflicts), tuple(incidents), len(due))

    def _fire_case_timers(self, case_id: int, now: dt.datetime) -> list[tuple[int, str]]:
        with self.db.write() as conn:
            if not claim_case(conn, case_id):
                return []  # another scheduler is moving it; a later pass sees what is left
            case = self.store.load(conn, case_id, self.definitions)
            due = {task_id: t for task_id, t in case.timers.items()
                   if t.fire_at is not None and t.fire_at <= now and not t.provisional}
            if not due or case.status in ("error", "suspended"):
                self.store.put_back(case)
                return []
            for task_id, timer in due.items():
                case.events.append(PendingEvent(
                    now, SYSTEM, "timer_fired", task_id, timer.element_id, timer.rule,
                    details={"due": timer.fire_at.isoformat() if timer.fire_at else None,
                             "authority": cite(timer.rule)}))
                task = find_task(case.workflow, task_id)
                if task is not None and getattr(task.task_spec, "cancel_activity", True) is False:
                    case.sla = _breached(case.sla, timer, now)

            self._step(conn, case, lambda wf: _fire(wf, due), actor=SYSTEM,
                       clock=FrozenClock(now))
        self.store.put_back(case)
        return [(case_id, t.element_id) for t in due.values()]

    # -- the step ------------------------------------------------------------------------
    def _step(self, conn: Connection, case: LoadedCase, move: Callable[[BpmnWorkflow], None],
              *, actor: str, clock: Clock | None = None) -> None:
        """Apply `move`, run the engine until it waits, and save; failures become incidents."""
        workflow = case.workflow
        # Deserializing drops the script engine: always reattach (the case's profile's).
        workflow.script_engine = self._script_engine_for(case.data)
        before = dict(case.data)
        trigger = case.events[-1] if case.events else None

        def record_decision(task: Any) -> None:
            """A script or decision table that cites a rule decided for the system."""
            rule = spec_property(task.task_spec, "rule")
            if rule and isinstance(task.task_spec, ScriptTask | BusinessRuleTask):
                case.events.append(PendingEvent(
                    self.now(), SYSTEM, "system_decision", str(task.id), element_id(task.task_spec),
                    rule, details={"authority": cite(rule), "decision": {
                        k: task.data[k] for k in DECISION_KEYS if k in task.data}}))

        with (running_on(clock or self.clock), collecting_deadlines() as deadlines,
              collecting_notices() as notices, _acting_as(actor)):
            try:
                move(workflow)
                run_engine_steps(
                    workflow, time_limit=self.step_time_limit,
                    will_complete_task=lambda task: self._check_send(conn, case, task),
                    did_complete_task=record_decision)
                case.new_tasks = self._assign_new_tasks(case)
            except WalkDiffers:
                raise   # govflow's own fault, found by the tests' check: never a model's
            except Exception as exc:  # noqa: BLE001 - every failure of a model is an incident
                self._raise_incident(case, exc)
            else:
                if case.status == "error":
                    case.status, case.incident = "running", None
                    case.events.append(PendingEvent(self.now(), actor, "incident_resolved"))
            changes = _diff(before, workflow.last_task.data if workflow.last_task else before)
            if changes and trigger is not None:
                trigger.details = {**(trigger.details or {}), "changes": changes}
            if workflow.completed and case.status not in ("completed", "withdrawn"):
                case.events.append(PendingEvent(self.now(), SYSTEM, "case_completed",
                                                details={"outcome": _outcome(workflow)}))
                self._list_in_catalog(conn, case)
            outgoing = take_thrown(workflow, f"case {case.id}")
            case.events += [PendingEvent(self.now(), SYSTEM, "message_sent", details={
                "message_name": m.name, "data": m.payload, "correlation": m.correlation})
                for m in outgoing]
            was_open, started = set(case.open_tasks), case.revision == 0
            self.store.save(conn, case, self.now(), deadlines)
            sync_waits(conn, case.id, workflow)
            self._warn_provisional(conn, case, deadlines.values())
            self._notify_step(conn, case, was_open - case.open_tasks, started, notices)
        self._deliver_all(conn, outgoing, case.id)

    def _list_in_catalog(self, conn: Connection, case: LoadedCase) -> None:
        """S8: a grant of data the catalog did not list adds it to the catalog, in the same
        transaction; a record the catalog refuses is noted in the case's audit trail."""
        data = case.workflow.last_task.data if case.workflow.last_task else {}
        addition = data.get("catalog_addition")
        if not isinstance(addition, dict) or data.get("outcome") != "granted":
            return
        try:  # the record is checked whole before anything is written
            version = resources.add_from_case(conn, access.case_number(case.id), addition,
                                              now=self.now())
        except EngineError as exc:
            case.events.append(PendingEvent(self.now(), SYSTEM, "catalog_addition_refused",
                                            rule="S8", details={"message": exc.message}))
            return
        if version is not None:
            case.events.append(PendingEvent(self.now(), SYSTEM, "catalog_changed", rule="S8",
                                            details={"catalog_version": version.version,
                                                     "dataset_id": version.changes[0]["id"]}))

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
                found = case.workflow.script_engine.evaluate(task, expression)
                groups.extend([found] if isinstance(found, str) else list(found or ()))
            groups = sorted({g for g in groups if g})
            assignee = self._named_assignee(task)
            if not groups and not assignee:
                error = ScriptError(f"task {element_id(spec)} has no candidate group for this case")
                error.task = task  # the incident names this task (an instance among several)
                raise error
            due = None
            days = spec_property(spec, "dueWorkingDays")
            if days:
                start = spec_property(spec, "dueFrom")
                received = case.workflow.script_engine.evaluate(task, start) if start else None
                due = self.deadline(received or self.now(),
                                    int(case.workflow.script_engine.evaluate(task, days)))
            fresh.append(NewHumanTask(task_id, element_id(spec), spec.bpmn_name or spec.name,
                                      spec.lane, tuple(groups), spec_property(spec, "form"), due,
                                      assignee))
        return fresh

    def _named_assignee(self, task: Any) -> str | None:
        """The user an `assigneeExpression` names (e.g. each signer of a 会签 over users)."""
        expression = spec_property(task.task_spec, "assigneeExpression")
        found = self.script_engine.evaluate(task, expression) if expression else None
        if expression and (not isinstance(found, str) or not found.strip()):
            error = ScriptError(f"assigneeExpression of task {element_id(task.task_spec)} "
                                f"gave {found!r}, not a user name")
            error.task = task
            raise error
        return found.strip() if found else None

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
            "element_id": element_id(task.task_spec) if task else None,
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
            self.warn_years_missing(conn, years, case.id)  # once a day, whatever the case

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
            completed_at=case.saved_at if case.status in ENDED else None,
            tasks=tasks, timers=tuple(sorted(case.timers.values(), key=_timer_order)),
            events=case.saved_events, sla=case.sla)

    def _open_task(self, conn: Connection, task_id: str, *, work: bool = False) -> TaskAccess:
        """The open task; with `work`, also refuse while an administrator holds its case."""
        raw = RawSQL.of(conn)
        row = raw.one(conn, _TASK_ACCESS, {"task_id": task_id})
        if row is None:
            raise TaskNotFound(f"task {task_id} does not exist")
        case_id, element_id, state, assignee, form, completed_by, groups, status = row
        task = TaskAccess(task_id, case_id, element_id, state, assignee, form, completed_by,
                          tuple(raw.read_doc(groups)), status)
        if task.state != "open":
            raise Conflict(f"task {task_id} is already {task.state}"
                           + (f" by {task.completed_by}" if task.completed_by else ""),
                           state=task.state)
        if work and task.case_status == "suspended":
            raise Conflict(f"case {task.case_id} is suspended by an administrator",
                           state=task.case_status)
        return task

    def _require_candidate(self, conn: Connection, task: TaskAccess, user: str) -> None:
        if not directory.groups_of(conn, user) & set(task.candidate_groups):
            raise NotAllowed(f"{user} is not an active member of a group that may work "
                             f"task {task.id}")

    def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None:
        """Add an event that changes no workflow state (claims, transfers)."""
        raw = RawSQL.of(conn)
        seen_head, seen_seq = raw.one(conn, _AUDIT_HEAD, {"case_id": case_id})  # type: ignore[misc]
        rows, head, seq = chain_rows(case_id, seen_head, seen_seq, [event])
        changed = raw.run(conn, _MOVE_AUDIT_HEAD, {"case_id": case_id, "seen_seq": seen_seq,
                                                   "head": head, "seq": seq})
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
        """Every chain, what it decides, the checkpoints and their log outside the database."""
        with self.db.read() as conn:
            return verify(conn) + checkpoints.verify(conn, checkpoints.log_path(self.db.url))

    def reseal_audit(self, user: str) -> dict[int, int]:
        """Re-chain a trail written before the audit key existed under the key, once, and
        anchor it in a checkpoint (engine/store/audit.py `reseal`)."""
        with self.db.write() as conn:
            counted = reseal(conn, self.now(), user)
        self.checkpoint_audit()
        return counted

    def checkpoint_audit(self) -> checkpoints.Checkpoint | None:
        """Anchor the heads of the chains that grew since the last checkpoint."""
        try:
            with self.db.write() as conn:
                made = checkpoints.take(conn, self.now())
        except IntegrityError:  # another scheduler took this checkpoint at the same moment
            return None
        if made is not None:
            checkpoints.append_to_log(checkpoints.log_path(self.db.url), made)
        return made

    def process_xml(self, process_id: str) -> bytes:
        with self.db.read() as conn:
            return self.definitions.xml(conn, self.definitions.latest(conn, process_id).id)


@contextlib.contextmanager
def _acting_as(actor: str) -> Iterator[None]:
    """Scripts of this step see `actor()` as the user (or system) the step acts for."""
    token = _ACTING.set(actor)
    try:
        yield
    finally:
        _ACTING.reset(token)


def _fire(workflow: BpmnWorkflow, task_ids: Iterable[str]) -> None:
    """Fire exactly these timers: SpiffWorkflow alone would also fire a held provisional
    timer, and only strictly after its moment, where govflow's is due at it."""
    for task_id in task_ids:
        task = find_task(workflow, task_id)
        if task is None:
            continue
        if not isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            task._set_internal_data(event_fired=True)  # a cycle counts its own firings
        task.task_spec._update(task)


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


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = before.keys() | after.keys()
    return {k: [before.get(k), after.get(k)] for k in sorted(keys)
            if before.get(k) != after.get(k)}


def _outcome(workflow: BpmnWorkflow) -> Any:
    return (workflow.last_task.data if workflow.last_task else {}).get("outcome")
