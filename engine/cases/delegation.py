"""委派 and 加签: the holder of a task hands it to someone else for a while.

* 委派 (delegate): the holder hands the task to any active user for an opinion; the
  delegate works it and hands it back (`resolve`), and the delegator makes the final
  submission. While delegated nobody submits, releases, transfers or returns the task.
* 加签 (add a signer): `before` — the added signer signs first and the task comes back
  to the holder, as a delegation does; `after` — the holder's opinion is recorded and
  the added signer makes the final submission.

No workflow state changes: the task's holder does, checked against the case's audit
sequence like a claim, and the audit trail is the record of who handed what to whom.
`allowDelegate` and `allowAddSigner` ("false") forbid them per user task.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, update

from engine.cases import queries
from engine.cases.models import TaskView
from engine.cases.runtime import spec_property
from engine.errors import Conflict, InvalidTaskData, NotAllowed
from engine.people import directory
from engine.store.audit import PendingEvent
from engine.store.rawsql import RawSQL
from engine.store.schema import human_tasks

if TYPE_CHECKING:
    from engine.bpmn.definitions import Definitions
    from engine.store.db import Database

# A delegation (or a signer added before the holder) is open until it is handed back.
_HANDED_OUT = ("task_delegated", "signer_added_before")
_DELEGATION_ACTIONS = (*_HANDED_OUT, "task_delegation_resolved")
_LAST_DELEGATION = (
    "SELECT action, actor FROM audit_events WHERE case_id = :case_id AND task_id = :task_id"
    " AND action IN (" + ", ".join(f"'{action}'" for action in _DELEGATION_ACTIONS) + ")"
    " ORDER BY seq DESC LIMIT 1")


def allows(task_spec: Any, name: str) -> bool:
    """Whether a task's model allows an operation (allowed unless set to false)."""
    value = spec_property(task_spec, name)
    return value is None or value.strip().lower() not in ("false",)


def specs_of(version: Any, element: str) -> list[Any]:
    """The human task specs of a BPMN element in a deployed version (with subprocesses)."""
    specs = [version.spec, *version.subprocess_specs.values()]
    return [s for spec in specs for s in spec.task_specs.values()
            if getattr(s, "bpmn_id", None) == element and s.manual]


def reason_given(text: str | None, what: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidTaskData(f"{what} needs a reason", {"reason": "请说明理由 (give a reason)"})
    return reason[:1000]


class DelegationUseCases:
    if TYPE_CHECKING:
        db: Database
        definitions: Definitions

        def now(self) -> dt.datetime: ...
        def _open_task(self, conn: Connection, task_id: str) -> Any: ...
        def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None: ...
        def _task_handed_to(self, conn: Connection, task_id: str, user: str, by: str) -> None: ...

    # -- 委派 ----------------------------------------------------------------------------
    def delegate_task(self, task_id: str, user: str, to_user: str, reason: str) -> TaskView:
        """The holder hands the task to `to_user`, who works it and hands it back."""
        reason = reason_given(reason, "a delegation")
        return self._hand_over(
            task_id, user, to_user, "allowDelegate", "task_delegated",
            {"to": to_user, "reason": reason}, unclaimed="before delegating it",
            to_self="a task cannot be delegated to its holder", refused="delegation")

    def add_signer(self, task_id: str, user: str, to_user: str, position: str,
                   note: str) -> TaskView:
        """加签: the holder adds a signer. `before`: the signer signs first and the task
        comes back to the holder (as a delegation). `after`: the holder's opinion is
        recorded now and the added signer makes the final submission."""
        if position not in ("before", "after"):
            raise InvalidTaskData("position must be before or after",
                                  {"position": "before 或 after"})
        note = reason_given(note, "adding a signer")
        return self._hand_over(
            task_id, user, to_user, "allowAddSigner", f"signer_added_{position}",
            {"to": to_user, "note": note}, unclaimed="before adding a signer",
            to_self="the holder is already a signer", refused="adding a signer")

    def _hand_over(self, task_id: str, user: str, to_user: str, allowed_by: str, action: str,
                   details: dict[str, Any], *, unclaimed: str, to_self: str,
                   refused: str) -> TaskView:
        """The holder gives the task to another active user (委派 or 加签), audited."""
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if task.assignee != user:
                raise NotAllowed(f"claim task {task_id} {unclaimed}")
            self._refuse_while_delegated(conn, task)
            if to_user == user:
                raise NotAllowed(to_self)
            directory.require_user(conn, to_user)
            version = self.definitions.get(conn, queries.get_task(conn, task_id).version_id)
            if not all(allows(s, allowed_by) for s in specs_of(version, task.element_id)):
                raise NotAllowed(f"step {task.element_id} does not allow {refused}")
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                         .values(assignee=to_user))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, action, task.id, task.element_id, details=details))
            self._task_handed_to(conn, task_id, to_user, user)
            return queries.get_task(conn, task_id)

    def resolve_delegation(self, task_id: str, user: str, note: str) -> TaskView:
        """The delegate hands the task back to the delegator with their opinion."""
        note = reason_given(note, "handing a delegated task back")
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            delegator = self.delegated_by(conn, task.case_id, task_id)
            if delegator is None or task.assignee != user:
                raise NotAllowed(f"task {task_id} is not delegated to {user}")
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                         .values(assignee=delegator))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), user, "task_delegation_resolved", task.id, task.element_id,
                details={"to": delegator, "note": note}))
            self._task_handed_to(conn, task_id, delegator, user)
            return queries.get_task(conn, task_id)

    @staticmethod
    def delegated_by(conn: Connection, case_id: int, task_id: str) -> str | None:
        """Who delegated the task, while the delegate has not handed it back."""
        last = RawSQL.of(conn).one(conn, _LAST_DELEGATION,   # asked at every completion
                                   {"case_id": case_id, "task_id": task_id})
        return last[1] if last is not None and last[0] in _HANDED_OUT else None

    def _refuse_while_delegated(self, conn: Connection, task: Any) -> None:
        delegator = self.delegated_by(conn, task.case_id, task.id)
        if delegator is not None:
            raise Conflict(f"task {task.id} is delegated to {task.assignee}; it must be "
                           f"handed back to {delegator} first")
