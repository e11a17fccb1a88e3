"""Message use cases: wake the case waiting for a message, or start a case on it.

Mixed into `Govflow` (engine/cases/govflow.py). A message comes from outside (`govflow
message`, POST /api/v1/messages) or from a send task or message throw event of another
case. It goes to exactly one case:

* the running case waiting for it (receive task, intermediate or boundary catch) whose
  correlation values include every value the message carries (see engine/cases/messages.py),
  or the case named with `case_id`;
* failing that, a new case of the one process whose latest version has a message start
  event for it.

Nothing is dropped and nothing is guessed: no receiver, or more than one, is a
`MessageNotDelivered` error and changes nothing. A send task whose message has no
receiver stops its case with an incident at the send task; `retry` sends it again.
Each delivery is a step of the receiving case (revision check, audit event
`message_received`), and a step's own sends are delivered in its transaction, so the
sending case and the cases it wakes commit together or not at all.
"""

from __future__ import annotations

import contextvars
import copy
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine.cases.messages import (
    Message,
    as_text,
    caught_inside,
    find_receivers,
    is_message_throw,
    message_of,
    waiting_catches,
)
from engine.cases.models import MessageDelivery
from engine.errors import Conflict, InvalidMessage, MessageNotDelivered
from engine.people.directory import SYSTEM
from engine.store.audit import PendingEvent
from engine.store.schema import process_versions

if TYPE_CHECKING:
    from collections.abc import Callable

    from SpiffWorkflow.bpmn import BpmnWorkflow
    from sqlalchemy import ColumnElement, Connection

    from engine.cases.runtime import CaseStore, LoadedCase

#: How many cases one message may wake in a row (a case answering a case answering ...).
MAX_CHAIN = 20
_chain: contextvars.ContextVar[int] = contextvars.ContextVar("govflow_message_chain",
                                                             default=0)


class MessageUseCases:
    if TYPE_CHECKING:
        store: CaseStore
        definitions: Any
        script_engine: Any

        def now(self) -> Any: ...
        def _step(self, conn: Connection, case: LoadedCase,
                  move: Callable[[BpmnWorkflow], None], *, actor: str) -> None: ...
        def _open_case(self, conn: Connection, process_id: str, data: dict[str, Any], *,
                       user: str | None, on_message: bool = False) -> tuple[LoadedCase,
                                                                            Any]: ...
        db: Any

    def send_message(self, name: str, data: Any = None, *, case_id: int | None = None,
                     correlation: dict[str, Any] | None = None, user: str | None = None,
                     scope: ColumnElement[bool] | None = None,
                     may_start: Callable[[str], bool] | None = None) -> MessageDelivery:
        """Deliver a message from outside to the one case waiting for it, or start a case.

        `scope` limits the cases it may reach (who is sending may see them), `may_start`
        the processes it may start."""
        if not (name or "").strip():
            raise InvalidMessage("a message needs a name")
        message = Message(name.strip(), {} if data is None else data,
                          {str(k): as_text(v) for k, v in (correlation or {}).items()},
                          user or SYSTEM)
        with self.db.write() as conn:
            return self._deliver(conn, message, case_id=case_id, scope=scope,
                                 may_start=may_start)

    # -- inside a step -------------------------------------------------------------------
    def _check_send(self, conn: Connection, case: LoadedCase, task: Any) -> None:
        """Before a send task or throw event runs: make sure its message has a receiver,
        or stop here (an incident at the send task; `retry` sends again)."""
        if not is_message_throw(task):
            return
        event, message = message_of(task, f"case {case.id}")
        if caught_inside(case.workflow, event):
            return
        receivers = find_receivers(conn, message, exclude=case.id)
        starts = [] if receivers else self._starts_on(conn, message)
        if len(receivers) == 1 or (not receivers and len(starts) == 1):
            return
        raise MessageNotDelivered(_undeliverable(message, len(receivers), len(starts)),
                                  task=task)

    def _deliver_all(self, conn: Connection, messages: list[Message], sender: int) -> None:
        depth = _chain.get()
        if messages and depth >= MAX_CHAIN:
            raise MessageNotDelivered(f"messages woke {MAX_CHAIN} cases in a row; "
                                      "the models answer each other without end")
        token = _chain.set(depth + 1)
        try:
            for message in messages:
                self._deliver(conn, message, exclude=sender)
        finally:
            _chain.reset(token)

    # -- delivery ------------------------------------------------------------------------
    def _deliver(self, conn: Connection, message: Message, *, case_id: int | None = None,
                 scope: ColumnElement[bool] | None = None, exclude: int | None = None,
                 may_start: Callable[[str], bool] | None = None) -> MessageDelivery:
        receivers = find_receivers(conn, message, case_id=case_id, scope=scope,
                                   exclude=exclude)
        if len(receivers) == 1:
            return self._wake(conn, receivers[0], message)
        starts = [] if receivers or case_id is not None else self._starts_on(conn, message)
        starts = [s for s in starts if may_start is None or may_start(s)]
        if not receivers and len(starts) == 1:
            return self._start_on(conn, starts[0], message)
        where = f" in case {case_id}" if case_id is not None else ""
        raise MessageNotDelivered(_undeliverable(message, len(receivers), len(starts)) + where)

    def _wake(self, conn: Connection, case_id: int, message: Message) -> MessageDelivery:
        case = self.store.load(conn, case_id, self.definitions)
        case.workflow.script_engine = self.script_engine
        catches = waiting_catches(case.workflow, message.name)
        if not catches:
            raise Conflict(f"case {case_id} no longer waits for message {message.name!r}")
        for task in catches:
            try:  # what the receiver reads from the payload must be there
                task.task_spec.event_definition.get_correlations(task, message.payload)
            except Exception as exc:  # noqa: BLE001 - any failing expression
                raise InvalidMessage(f"message {message.name!r} lacks what case {case_id} "
                                     f"correlates on: {exc}") from None
        first = catches[0]
        event = BpmnEvent(first.task_spec.event_definition, payload=message.payload,
                          correlations=copy.deepcopy(first.workflow.correlations))
        case.events.append(PendingEvent(
            self.now(), message.sender, "message_received", str(first.id),
            first.task_spec.name, details={"message_name": message.name, "data": message.payload,
                                           "correlation": message.correlation}))

        def receive(workflow: BpmnWorkflow) -> None:
            workflow.event_manager.catch(event, internal=False)
            _keep_payload(catches, message.payload)

        self._step(conn, case, receive, actor=message.sender)
        return MessageDelivery(message.name, case.id, first.task_spec.name, False, case.status)

    def _starts_on(self, conn: Connection, message: Message) -> list[str]:
        """Processes whose latest version starts on this message."""
        latest = conn.execute(select(func.max(process_versions.c.id))
                              .group_by(process_versions.c.process_id)).scalars().all()
        found = []
        for version_id in latest:
            deployed = self.definitions.get(conn, version_id)
            if _start_event(deployed.spec, message.name) is not None:
                found.append(deployed.process_id)
        return sorted(found)

    def _start_on(self, conn: Connection, process_id: str, message: Message) -> MessageDelivery:
        data = dict(message.payload) if isinstance(message.payload, dict) else {}
        case, start = self._open_case(conn, process_id, data, user=message.sender,
                                      on_message=True)
        case.events[-1].details = {**(case.events[-1].details or {}),
                                   "message_name": message.name}
        event_start = _start_event(case.deployed.spec, message.name)

        def begin(workflow: BpmnWorkflow) -> None:
            start.data.update(data)
            workflow.do_engine_steps()
            event = BpmnEvent(event_start.event_definition, payload=message.payload)
            workflow.event_manager.catch(event, internal=False)

        self._step(conn, case, begin, actor=message.sender)
        return MessageDelivery(message.name, case.id, event_start.name, True, case.status)


def _start_event(spec: Any, name: str) -> Any:
    return next((e for e in spec.start.outputs
                 if isinstance(e, StartEvent) and isinstance(e.event_definition,
                                                             MessageEventDefinition)
                 and e.event_definition.name == name), None)


def _keep_payload(catches: list[Any], payload: Any) -> None:
    """A catch without `spiffworkflow:messageVariable` takes the payload's fields into its
    data (SpiffWorkflow would keep them only in the variable)."""
    for task in catches:
        definition = task.task_spec.event_definition
        if (getattr(definition, "message_var", None) is None and isinstance(payload, dict)
                and task.state != TaskState.WAITING):
            task.data.update(copy.deepcopy(payload))


def _undeliverable(message: Message, receivers: int, starts: int = 0) -> str:
    carried = ", ".join(f"{k}={v}" for k, v in sorted(message.correlation.items()))
    what = f"message {message.name!r}" + (f" ({carried})" if carried else "")
    if receivers > 1:
        return f"more than one case waits for {what}; name the case or a correlation value"
    if starts > 1:
        return f"more than one process starts on {what}"
    return f"no running case waits for {what} and no process starts on it"
