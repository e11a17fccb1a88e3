"""Message subscriptions: which cases wait for which message, and which of them match.

A case waits for a message at a receive task, an intermediate or boundary message
catch. Each save writes those waits to `message_waits`, one row per correlation value
the case expects (or one row with an empty key when it expects none), so delivery finds
its case with one indexed query and never loads a workflow to look.

Correlation values come from SpiffWorkflow: a message's `bpmn:correlationProperty`
(its retrieval expression read from the payload of a message the case sent or
received) and `spiffworkflow:processVariableCorrelation` on a catch (read from the case
data when the catch starts waiting) fill `workflow.correlations`, {key: {property:
value}}; govflow matches on the properties and their values, as text.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from engine.store.rawsql import RawSQL
from engine.store.schema import cases, message_waits

# What each workflow object last wrote to `message_waits`; absent when unknown (a case
# restored from the database), so the first save after a load rewrites the rows.
_written: weakref.WeakKeyDictionary[BpmnWorkflow, list[dict[str, str]]] = (
    weakref.WeakKeyDictionary())


@dataclass(frozen=True)
class Message:
    """A message on its way: its name, its data and the correlation values it carries."""

    name: str
    payload: Any
    correlation: dict[str, str] = field(default_factory=dict)
    sender: str = "system"


def as_text(value: Any) -> str:
    """Correlation values compare as text: "42" sent on the command line matches 42."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                             sort_keys=True)


def correlation_values(correlations: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Flatten SpiffWorkflow's {key: {property: value}} into {property: text}."""
    return {prop: as_text(value) for props in correlations.values()
            for prop, value in (props or {}).items()}


def waiting_catches(workflow: BpmnWorkflow, name: str | None = None) -> list[Any]:
    """Tasks waiting for a message (`name`, or any), start events excepted."""
    return [task for task in workflow.event_manager.tasks.values()
            if task.state == TaskState.WAITING and not isinstance(task.task_spec, StartEvent)
            and isinstance(task.task_spec.event_definition, MessageEventDefinition)
            and name in (None, task.task_spec.event_definition.name)]


def message_starts(spec: Any) -> list[str]:
    """Names of the messages the process's start events wait for."""
    return [e.event_definition.name for e in spec.start.outputs
            if isinstance(e, StartEvent)
            and isinstance(getattr(e, "event_definition", None), MessageEventDefinition)]


def is_message_throw(task: Any) -> bool:
    spec = task.task_spec
    return isinstance(spec, ThrowingEvent) and isinstance(
        getattr(spec, "event_definition", None), MessageEventDefinition)


def message_of(task: Any, sender: str) -> tuple[BpmnEvent, Message]:
    """What a throw event is about to send, computed as SpiffWorkflow's throw does."""
    definition = task.task_spec.event_definition
    expression = getattr(definition, "expression", ...)
    if expression is ...:  # plain BPMN message: the task's data is the payload
        payload = dict(task.data)
        correlations = definition.get_correlations(task, payload)
    elif expression is None:
        payload, correlations = {}, {}
    else:
        payload = task.workflow.script_engine.evaluate(task, expression)
        correlations = definition.get_correlations(task, payload)
    event = BpmnEvent(definition, payload=payload, correlations=correlations)
    return event, Message(definition.name, payload, correlation_values(correlations), sender)


def caught_inside(workflow: BpmnWorkflow, event: BpmnEvent) -> bool:
    return any(t.task_spec.catches(t, event) for t in workflow.event_manager.tasks.values())


def take_thrown(workflow: BpmnWorkflow, sender: str) -> list[Message]:
    """Remove the messages nobody in the workflow caught, to deliver them to other cases."""
    thrown = [e for e in workflow.bpmn_events
              if isinstance(e.event_definition, MessageEventDefinition)]
    if thrown:
        workflow.bpmn_events = [e for e in workflow.bpmn_events if e not in thrown]
    return [Message(e.event_definition.name, e.payload, correlation_values(e.correlations),
                    sender) for e in thrown]


def mark_new(workflow: BpmnWorkflow) -> None:
    """A workflow of a case being created has no rows yet."""
    _written[workflow] = []


_DROP_WAITS = "DELETE FROM message_waits WHERE case_id = :case_id"
_ADD_WAIT = ("INSERT INTO message_waits (case_id, task_id, element_id, message, corr_key,"
             " corr_value) VALUES (:case_id, :task_id, :element_id, :message, :corr_key,"
             " :corr_value)")


def sync_waits(conn: Connection, case_id: int, workflow: BpmnWorkflow) -> None:
    """Write the case's message waits, in the transaction that saves the case."""
    rows = []
    for task in waiting_catches(workflow):
        base = {"case_id": case_id, "task_id": str(task.id), "element_id": task.task_spec.name,
                "message": task.task_spec.event_definition.name}
        values = correlation_values(task.workflow.correlations) or {"": ""}
        rows += [{**base, "corr_key": k, "corr_value": v} for k, v in sorted(values.items())]
    before = _written.get(workflow)
    if before == rows:
        return
    raw = RawSQL.of(conn)  # every step of every case passes here
    if before is None or before:
        raw.run(conn, _DROP_WAITS, {"case_id": case_id})
    raw.run_many(conn, _ADD_WAIT, rows)
    _written[workflow] = rows


def find_receivers(conn: Connection, message: Message, *, case_id: int | None = None,
                   scope: ColumnElement[bool] | None = None,
                   exclude: int | None = None) -> list[int]:
    """Up to two running cases waiting for `message` whose values match all it carries."""
    w = message_waits.c
    query = select(w.case_id, w.task_id).where(w.message == message.name)
    if message.correlation:
        query = query.where(or_(*(and_(w.corr_key == k, w.corr_value == v)
                                  for k, v in message.correlation.items()))
                            ).group_by(w.case_id, w.task_id).having(
            func.count() == len(message.correlation))
    if case_id is not None:
        query = query.where(w.case_id == case_id)
    if exclude is not None:
        query = query.where(w.case_id != exclude)
    waiting = query.subquery()
    running = select(cases.c.id).where(cases.c.status == "running")
    if scope is not None:
        running = running.where(scope)
    found = select(waiting.c.case_id).distinct().where(
        waiting.c.case_id.in_(running)).order_by(waiting.c.case_id).limit(2)
    return list(conn.execute(found).scalars())
