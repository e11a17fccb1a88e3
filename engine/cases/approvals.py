"""The approval operations Chinese reviewers expect: 撤回 and 退回 here, with the others.

* 撤回 (withdraw): the applicant — the user who started the case or a member of the
  requesting department — ends a case not yet decided, with a reason. Open tasks are
  cancelled, timers and reminders go with them, and the reviewers are told in the bell.
* 退回 (return): the holder of an open task sends the case back to an earlier completed
  user task of the same case, with a reason. SpiffWorkflow resets the case to that task
  (`reset_from_task_id`); it opens again for its candidate groups with a due date
  computed as the model's `dueWorkingDays`/`dueFrom` and the profile say, and its SLA
  ladder starts again. The finished round keeps its own row in the task list.
* 委派 (delegate) and 加签 (add a signer): engine/cases/delegation.py.
* 抄送 (copy for information): engine/cases/copies.py.
* 会签/或签 (multi-instance user tasks with an `approvalMode`): engine/cases/countersign.py.

Each operation may be forbidden per user task by a spiffworkflow property: `allowWithdraw`,
`allowReturn`, `allowDelegate`, `allowAddSigner`, `allowCopy` ("false" forbids; every
default allows). A case may be withdrawn or copied unless one of its open tasks forbids it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, delete, insert, select, update

from engine.cases import queries
from engine.cases.copies import CopyUseCases
from engine.cases.delegation import DelegationUseCases, allows, reason_given, specs_of
from engine.cases.models import CaseView
from engine.cases.runtime import element_id, find_task, ready_human_tasks
from engine.errors import Conflict, NotAllowed
from engine.notify import outbox
from engine.people import directory
from engine.people.access import case_number
from engine.store.audit import PendingEvent
from engine.store.schema import human_tasks, reminders, task_candidates

if TYPE_CHECKING:
    from engine.cases.runtime import LoadedCase


class ApprovalUseCases(CopyUseCases, DelegationUseCases):
    if TYPE_CHECKING:
        from engine.bpmn.definitions import Definitions
        from engine.cases.runtime import CaseStore
        from engine.store.db import Database

        db: Database
        store: CaseStore
        definitions: Definitions

        def now(self) -> dt.datetime: ...
        def _step(self, conn: Connection, case: LoadedCase, move: Any, *, actor: str,
                  clock: Any = None) -> None: ...
        def _step_view(self, conn: Connection, case: LoadedCase) -> CaseView: ...
        def _open_task(self, conn: Connection, task_id: str) -> Any: ...
        def _require_candidate(self, conn: Connection, task: Any, user: str) -> None: ...
        def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None: ...
        def _task_handed_to(self, conn: Connection, task_id: str, user: str, by: str) -> None: ...

    # -- 撤回 ----------------------------------------------------------------------------
    def withdraw_case(self, case_id: int, user: str, reason: str) -> CaseView:
        reason = reason_given(reason, "a withdrawal")
        with self.db.write() as conn:
            case = self.store.load(conn, case_id, self.definitions)
            if case.status not in ("running", "error"):
                raise Conflict(f"case {case_id} is already {case.status}", state=case.status)
            if case.data.get("outcome"):
                raise Conflict(f"case {case_id} is already decided ({case.data['outcome']})")
            if not self.is_applicant(conn, case.started_by, case.data, user):
                raise NotAllowed(f"only the applicant may withdraw case {case_id}")
            open_tasks = ready_human_tasks(case.workflow)
            for task in open_tasks.values():
                if not allows(task.task_spec, "allowWithdraw"):
                    raise NotAllowed(f"case {case_id} cannot be withdrawn at step "
                                     f"{element_id(task.task_spec)}")
            holders = self._holders(conn, case.open_tasks)
            case.events.append(PendingEvent(self.now(), user, "case_withdrawn",
                                            details={"reason": reason}))
            case.closed_by.update(dict.fromkeys(case.open_tasks, user))

            def withdraw(workflow: Any) -> None:
                case.status, case.incident = "withdrawn", None
                workflow.cancel()

            self._step(conn, case, withdraw, actor=user)
            for recipient in holders:
                outbox.enqueue(conn, now=self.now(), kind="case_withdrawn", recipient=recipient,
                               channel="in_app", case_id=case_id,
                               key=f"case_withdrawn:{case_id}:{recipient}",
                               payload={"case_number": case_number(case_id), "reason": reason})
            view = self._step_view(conn, case)
        self.store.forget(case_id)
        return view

    @staticmethod
    def is_applicant(conn: Connection, started_by: str | None, data: dict[str, Any],
                     user: str) -> bool:
        """The user who started the case, or a member of the requesting department."""
        if started_by is not None and started_by == user:
            return True
        department = data.get("requester_dept")
        return bool(department) and department in directory.groups_of(conn, user)

    @staticmethod
    def _holders(conn: Connection, task_ids: set[str]) -> list[str]:
        """Who is working on these tasks: each holder, else each candidate group."""
        found: set[str] = set()
        for row in conn.execute(select(human_tasks.c.assignee, human_tasks.c.candidate_groups)
                                .where(human_tasks.c.id.in_(sorted(task_ids)))):
            found |= ({f"user:{row.assignee}"} if row.assignee else
                      {f"group:{g}" for g in row.candidate_groups or ()})
        return sorted(found)

    # -- 退回 ----------------------------------------------------------------------------
    def return_task(self, task_id: str, user: str, to: str, reason: str) -> CaseView:
        """Send the case back from this open task to an earlier completed user task
        (`to`: its element id, or the id of that completed task)."""
        reason = reason_given(reason, "a return")
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            self._require_holder(conn, task, user)
            self._refuse_while_delegated(conn, task)
            case = self.store.load(conn, task.case_id, self.definitions)
            current = find_task(case.workflow, task_id)
            if current is None or current.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer waiting for input")
            if not allows(current.task_spec, "allowReturn"):
                raise NotAllowed(f"step {task.element_id} does not allow a return")
            target = self._return_target(conn, case, current, to)
            archived = _archive_round(conn, str(target.id))
            case.events.append(PendingEvent(
                self.now(), user, "task_returned", task_id, task.element_id,
                details={"to": element_id(target.task_spec), "reason": reason,
                         "reopened": str(target.id), "archived_as": archived}))
            case.closed_by[task_id] = user
            self._step(conn, case, lambda wf: wf.reset_from_task_id(target.id), actor=user)
            view = self._step_view(conn, case)
        self.store.put_back(case)
        return view

    def return_targets(self, task_id: str) -> list[tuple[str, str]]:
        """Earlier completed user tasks this task may be sent back to: (element id, title)."""
        with self.db.read() as conn:
            task = queries.get_task(conn, task_id)
            if task.state != "open":
                return []
            rows = conn.execute(select(human_tasks.c.element_id, human_tasks.c.title).where(
                human_tasks.c.case_id == task.case_id, human_tasks.c.state == "completed",
                human_tasks.c.element_id != task.element_id)
                .order_by(human_tasks.c.completed_at)).all()
        return list(dict((r.element_id, r.title) for r in rows).items())

    def _return_target(self, conn: Connection, case: LoadedCase, current: Any, to: str) -> Any:
        rows = conn.execute(select(human_tasks.c.id).where(
            human_tasks.c.case_id == case.id, human_tasks.c.state == "completed",
            (human_tasks.c.element_id == to) | (human_tasks.c.id == to))
            .order_by(human_tasks.c.completed_at.desc())).scalars().all()
        for found_id in rows:
            target = find_task(case.workflow, found_id)
            if target is None or target.state != TaskState.COMPLETED:
                continue
            if isinstance(target.parent.task_spec, MultiInstanceTask):
                target = target.parent  # back to a 会签 step: every signer again
            if current.is_descendant_of(target):
                return target
        raise NotAllowed(f"{to!r} is not an earlier completed step of case {case.id} "
                         "on the way to this task")

    def _copy_forbidden_by(self, conn: Connection, case_id: int) -> str | None:
        """The open step of the case whose model forbids copying it, if any."""
        for version_id, element in conn.execute(
                select(human_tasks.c.version_id, human_tasks.c.element_id).distinct().where(
                    human_tasks.c.case_id == case_id, human_tasks.c.state == "open")):
            specs = specs_of(self.definitions.get(conn, version_id), element)
            if not all(allows(s, "allowCopy") for s in specs):
                return str(element)
        return None

    def _require_holder(self, conn: Connection, task: Any, user: str) -> None:
        if task.assignee is not None and task.assignee != user:
            raise NotAllowed(f"task {task.id} is held by {task.assignee}")
        if task.assignee is None:
            self._require_candidate(conn, task, user)


def _archive_round(conn: Connection, task_id: str) -> str | None:
    """A task opened again keeps its SpiffWorkflow id: its finished round moves to a new
    row id, with its candidate and reminder rows, so the task list keeps both rounds."""
    row = conn.execute(select(human_tasks).where(human_tasks.c.id == task_id)).mappings().first()
    if row is None:
        return None
    archived = str(uuid.uuid4())
    conn.execute(insert(human_tasks).values({**row, "id": archived}))
    conn.execute(update(task_candidates).where(task_candidates.c.task_id == task_id)
                 .values(task_id=archived))
    conn.execute(update(reminders).where(reminders.c.task_id == task_id)
                 .values(task_id=archived))
    conn.execute(delete(human_tasks).where(human_tasks.c.id == task_id))
    return archived

