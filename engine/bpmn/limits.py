"""Bounds on the work a model makes SpiffWorkflow and the engine do outside its scripts.

A script's own time is limited by the sandbox, but the values it hands back make
SpiffWorkflow work too: a timer of `P99999999Y` counts a billion months one by one, a
multi-instance cardinality of 10**4 (or an input list of 10**4 items) builds ten thousand
task branches, a cycle of
`R/PT0S` fires on every sweep, and a script -> gateway -> script loop stops silently at
SpiffWorkflow's task-tree depth limit. Each of these is checked here before SpiffWorkflow
acts on it, and a step as a whole has a time limit; whatever is refused becomes the
case's incident.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sized
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.errors import ScriptError

MAX_INSTANCES = 200            # instances of one multi-instance activity (会签 of 200 signers)
MAX_TIMER_DAYS = 366 * 20      # a timer duration or cycle interval: twenty years at most
MIN_CYCLE_SECONDS = 60         # a repeating timer fires at most once a minute
MAX_WORKING_DAYS = 3_650       # deadline(working_days=N): far beyond any legal limit
_TIMER_TEXT = 100              # characters of a timer value
_DAYS_PER = {"years": 366, "months": 31, "weeks": 7, "days": 1,
             "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400}


def _refuse(message: str, task: Any = None) -> ScriptError:
    error = ScriptError(message)
    error.task = task  # the incident names the element that was running
    return error


def check_duration(text: str) -> None:
    """An ISO 8601 duration SpiffWorkflow can add without counting a billion months."""
    parsed = TimerEventDefinition.parse_iso_duration(text)
    days = sum(_DAYS_PER[unit] * value for unit, value in parsed.items())
    if days > MAX_TIMER_DAYS:
        raise _refuse(f"timer duration {text} is too long: at most {MAX_TIMER_DAYS} days")


def check_timer_value(kind: type, value: Any) -> None:
    """Refuse a timer value (already evaluated) that SpiffWorkflow would choke on."""
    if not isinstance(value, str) or len(value) > _TIMER_TEXT:
        return  # SpiffWorkflow reports a value of the wrong kind itself
    if issubclass(kind, DurationTimerEventDefinition):
        check_duration(value)
    elif issubclass(kind, CycleTimerEventDefinition):
        parts = value.upper().replace("--", "/").strip("R").split("/")
        for part in parts[1:]:
            if part.startswith("P"):
                check_duration(part)
        _, _, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
        if interval.total_seconds() < MIN_CYCLE_SECONDS:
            raise _refuse(f"timer cycle {value} repeats too often: "
                          f"at most once every {MIN_CYCLE_SECONDS} seconds")
    elif value.upper().startswith("P"):
        check_duration(value)


def check_cardinality(value: Any) -> None:
    if isinstance(value, int) and value > MAX_INSTANCES:
        raise _refuse(f"a multi-instance activity may have at most {MAX_INSTANCES} "
                      f"instances, not {value}")


class BoundedInput:
    """A multi-instance activity's input collection (loopDataInputRef), refused when it
    would make more than MAX_INSTANCES instances, as a cardinality would be."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def get(self, task: Any) -> Any:
        value = self._collection.get(task)
        if isinstance(value, Sized) and len(value) > MAX_INSTANCES:
            raise _refuse(f"a multi-instance activity may have at most {MAX_INSTANCES} "
                          f"instances, not {len(value)}", task)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


def check_working_days(working_days: int) -> None:
    if abs(working_days) > MAX_WORKING_DAYS:
        raise _refuse(f"a deadline may be at most {MAX_WORKING_DAYS} working days away, "
                      f"not {working_days}")


def check_constant(kind: str, source: str | None) -> str | None:
    """Why a constant timer or cardinality expression would be refused at run time."""
    kind = kind.removeprefix("timer ")
    if kind not in ("loopCardinality", "timeDuration", "timeCycle", "timeDate"):
        return None
    try:
        value = ast.literal_eval((source or "").strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None  # not a constant: checked when it runs
    kinds = {"timeDuration": DurationTimerEventDefinition,
             "timeCycle": CycleTimerEventDefinition, "timeDate": TimerEventDefinition}
    try:
        if kind == "loopCardinality":
            check_cardinality(value)
        elif kind in kinds:
            check_timer_value(kinds[kind], value)
    except ScriptError as exc:
        return exc.message
    except Exception:  # noqa: BLE001 - a malformed value is reported by SpiffWorkflow
        return None
    return None


class ModelScriptEngine(PythonScriptEngine):
    """Checks the values SpiffWorkflow asks for to plan timers and multi-instances."""

    def evaluate(self, task, expression, external_context=None):
        value = super().evaluate(task, expression, external_context)
        spec = task.task_spec
        event = getattr(spec, "event_definition", None)
        try:
            if isinstance(event, TimerEventDefinition) and expression == event.expression:
                check_timer_value(type(event), value)
            elif expression == getattr(spec, "cardinality", None):
                check_cardinality(value)
        except ScriptError as exc:
            exc.task = task
            raise
        return value


def run_engine_steps(workflow: Any, *, time_limit: float, will_complete_task=None,
                     did_complete_task=None) -> None:
    """`workflow.do_engine_steps()` within `time_limit` seconds, and never stopping
    silently at SpiffWorkflow's depth limit: both are raised as ScriptError."""
    deadline = time.monotonic() + time_limit

    def in_time(task: Any) -> None:
        if time.monotonic() > deadline:
            raise _refuse(f"the step exceeded its time limit of {time_limit:g} s "
                          f"(stopped before {task.task_spec.bpmn_name or task.task_spec.name})",
                          task)
        if will_complete_task is not None:
            will_complete_task(task)

    workflow.do_engine_steps(will_complete_task=in_time, did_complete_task=did_complete_task)
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            if task.state == TaskState.READY and not task.task_spec.manual:
                raise _refuse(
                    "the process looped until it reached SpiffWorkflow's limit on the depth "
                    f"of a case's task tree; {task.task_spec.bpmn_name or task.task_spec.name}"
                    " was never run", task)
