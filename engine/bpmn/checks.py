"""What deploy refuses because govflow or SpiffWorkflow could not run it, and the two
places where govflow reads a model more generously than SpiffWorkflow does.

Refused, each naming the element (engine/bpmn/parse.py adds the file and the line):

* a service task: govflow runs no external operators;
* an ad hoc subprocess: SpiffWorkflow runs them only with its own script engine;
* a start event on an error, escalation or compensation: SpiffWorkflow would read it
  as a plain start and run the event subprocess at once;
* an interrupting event subprocess: SpiffWorkflow 3.2 never interrupts the process for
  one, so it must say `isInterrupting="false"` (use an interrupting boundary event on
  a subprocess to interrupt);
* an event-based gateway with more than one timer: its timers would share one fire time;
* a reference that names nothing: `attachedToRef` (an activity of the same process or
  subprocess), a gateway's or activity's `default` (one of its outgoing flows), a
  lane's `flowNodeRef`, and `messageRef`, `signalRef`, `errorRef`, `escalationRef`;
* a script or expression that calls a name no script has: case data is JSON and is
  never callable, so a called name must be a builtin, a helper (`SCRIPT_HELPERS`) or a
  function the script defines; and a module used by attribute (`datetime.now()`,
  `time.time()`) that the script did not assign, since scripts cannot import;
* a timer whose value is a literal that is not an ISO 8601 date, duration or cycle.

Read generously:

* a timer given as a bare ISO 8601 literal (`PT30S`, `2026-12-01T09:00:00+08:00`,
  `R3/PT1H`) is taken as that string, as if quoted;
* a human task with neither `candidateGroups` nor `candidateGroupsExpression` takes the
  `candidateGroups` property of its lane (`spiffworkflow:properties` on the lane).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)

from engine.scripts.builtins import make_builtins

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

#: Names govflow gives every script besides the builtins (see Govflow.script_engine).
SCRIPT_HELPERS = frozenset({"deadline", "limits", "switches", "now", "actor",
                            "notify_party"})
_CALLABLE = frozenset(make_builtins()) | SCRIPT_HELPERS
# Modules a model author may reach for; a field of case data is unlikely to bear one of
# these names and be used by attribute (`email.strip()` must stay possible, so not all of
# the standard library is listed).
_MODULES = frozenset({
    "datetime", "time", "math", "json", "re", "os", "sys", "random", "decimal", "pathlib",
    "subprocess", "shutil", "socket", "collections", "itertools", "functools", "statistics",
    "zoneinfo", "dateutil", "pytz", "requests", "urllib", "builtins", "importlib",
})
_LONGEST_DAYS = 100 * 366  # a timer further away than this is a mistake

# What a bare timer value that means ISO 8601 starts with: a cycle (R3/...), a duration
# (P2D, PT30S) or a date (2026-...). Never a Python expression, nor a name of case data.
_ISO_TIMER = re.compile(r"^(R\d*/\S+|P(\d|T\d)\S*|\d{4}-\S+)$")
_START_EVENTS = ("messageEventDefinition", "signalEventDefinition", "timerEventDefinition",
                 "conditionalEventDefinition")
_ACTIVITIES = ("task", "userTask", "manualTask", "scriptTask", "businessRuleTask",
               "serviceTask", "sendTask", "receiveTask", "subProcess", "transaction",
               "callActivity", "adHocSubProcess")
_NAMED_REFS = {"messageRef": "message", "signalRef": "signal", "errorRef": "error",
               "escalationRef": "escalation"}


class Problem(Exception):
    """A check failed on `node`; `engine.bpmn.parse.parse_bpmn` adds the file name and the line."""

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.message, self.node = message, node


def check_element(node: Any, process: Any) -> None:
    """Refuse what cannot run, for one BPMN element of the executable process."""
    name = etree.QName(node).localname
    if name == "serviceTask":
        raise Problem("govflow does not run service tasks; use a script task or a message",
                      node)
    if name == "adHocSubProcess":
        raise Problem("govflow does not run ad hoc subprocesses (SpiffWorkflow's need its "
                      "own script engine); use a parallel or inclusive gateway", node)
    if name == "startEvent":
        _check_start(node)
    elif name == "eventBasedGateway":
        timers = [f for f in _outgoing(node, process)
                  if _target(f, process) is not None
                  and _target(f, process).find("bpmn:timerEventDefinition", NSMAP) is not None]
        if len(timers) > 1:
            raise Problem("an event-based gateway may wait for one timer only "
                          "(SpiffWorkflow gives all its timers one fire time)", node)
    _check_refs(node, process)


def _check_start(node: Any) -> None:
    definitions = [etree.QName(d).localname for d in node
                   if etree.QName(d).localname.endswith("EventDefinition")]
    unsupported = [d for d in definitions if d not in _START_EVENTS]
    if unsupported:
        raise Problem(f"a start event cannot wait for a {unsupported[0]} (SpiffWorkflow would "
                      "start at once); use a message, signal or timer start", node)
    parent = node.getparent()
    if (parent.get("triggeredByEvent") == "true"
            and node.get("isInterrupting", "true") == "true"):
        raise Problem('SpiffWorkflow does not interrupt a process for an event subprocess; '
                      'set isInterrupting="false" on its start event, or attach an '
                      'interrupting boundary event to a subprocess', node)


def _check_refs(node: Any, process: Any) -> None:
    root = process.getroottree()
    attached = node.get("attachedToRef")
    if attached is not None:
        target = _sibling(node, attached)
        if target is None or etree.QName(target).localname not in _ACTIVITIES:
            raise Problem(f"attachedToRef {attached!r} names no activity of the same "
                          "process or subprocess", node)
    default = node.get("default")
    if default is not None and default not in {f.get("id") for f in _outgoing(node, process)}:
        raise Problem(f"default flow {default!r} is not one of this element's outgoing "
                      "sequence flows", node)
    if etree.QName(node).localname == "lane":
        ids = {e.get("id") for e in process.iter(etree.Element) if e.get("id")}
        for ref in node.iterfind("bpmn:flowNodeRef", NSMAP):
            if (ref.text or "").strip() not in ids:
                raise Problem(f"flowNodeRef {ref.text!r} names no element of the process", node)
    for attr, tag in _NAMED_REFS.items():
        ref = node.get(attr)
        if ref is not None and not root.xpath(f"//bpmn:{tag}[@id=$id]", namespaces=NSMAP,
                                              id=ref):
            raise Problem(f"{attr} {ref!r} names no bpmn:{tag} of this file",
                          node.getparent() if node.get("id") is None else node)


def _sibling(node: Any, element_id: str) -> Any:
    for candidate in node.getparent():
        if candidate.get("id") == element_id:
            return candidate
    return None


def _outgoing(node: Any, process: Any) -> list[Any]:
    container = node.getparent()
    return [f for f in container.iterfind("bpmn:sequenceFlow", NSMAP)
            if f.get("sourceRef") == node.get("id")]


def _target(flow: Any, process: Any) -> Any:
    return _sibling(flow, flow.get("targetRef"))


# -- scripts --------------------------------------------------------------------------
def undefined_names(source: str, mode: str) -> str | None:
    """Why a script that compiles would still fail on a name, or None."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return None  # the sandbox reports syntax
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store | ast.Del)}
    assigned |= {n.name for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                 for a in (*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg) if a}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = node.value.id
            if base in _MODULES and base not in assigned:
                return (f"uses module {base!r}, which scripts do not have (no imports); "
                        "use deadline(), received_at or case data")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = node.func.id
            if called not in assigned and called not in _CALLABLE:
                return (f"calls {called!r}, which is neither a builtin nor a helper "
                        f"({', '.join(sorted(SCRIPT_HELPERS))}); case data cannot be called")
    return None


# -- timers ---------------------------------------------------------------------------
def timer_literal(text: str | None) -> str | None:
    """The ISO value of a timer given as a literal, bare or quoted; None for an expression."""
    value = (text or "").strip()
    if _ISO_TIMER.match(value.upper()):
        return value
    try:
        literal = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return literal if isinstance(literal, str) else None


def check_timer_literal(kind: str, value: str) -> str | None:
    """Why SpiffWorkflow could not read `value` as a timer of `kind`, or None.

    Lengths are checked before SpiffWorkflow parses: it counts a long duration month by month."""
    try:
        if kind == "timeCycle":
            components = value.upper().replace("--", "/").strip("R").split("/")
            durations = [c for c in components[1:] if c.startswith("P")]
            if any(_days(c) <= 0 for c in durations):
                return f"{value!r} repeats without waiting: a cycle needs a positive interval"
        elif kind == "timeDuration":
            durations = [value]
        else:
            durations = [value] if value.upper().startswith("P") else []
        if any(_days(d) > _LONGEST_DAYS for d in durations):
            return f"{value!r} is more than 100 years away"
        if kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exceptions here
        forms = {"timeCycle": "an ISO 8601 cycle such as R3/PT1H",
                 "timeDuration": "an ISO 8601 duration such as PT30M or P2D",
                 "timeDate": "an ISO 8601 date-time such as 2026-12-01T09:00:00+08:00"}
        return f"{value!r} is not {forms.get(kind, 'an ISO 8601 timer value')}"
    return None


def _days(duration: str) -> float:
    """About how many days an ISO 8601 duration spans (months and years at their longest)."""
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    per_day = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24,
               "minutes": 1 / 1440, "seconds": 1 / 86400}
    return sum(parsed.get(unit, 0) * factor for unit, factor in per_day.items())


def quote_bare_timers(specs: Iterable[Any]) -> None:
    """Take a bare ISO 8601 timer (PT30S) as the string it is, as if it were quoted."""
    for spec in specs:
        for task_spec in (spec.task_specs.values() if spec is not None else ()):
            event = getattr(task_spec, "event_definition", None)
            members = event.event_definitions if isinstance(event, MultipleEventDefinition) \
                else [event]
            for timer in members:
                if isinstance(timer, TimerEventDefinition | CycleTimerEventDefinition):
                    value = (timer.expression or "").strip()
                    if _ISO_TIMER.match(value.upper()):
                        timer.expression = repr(value)


# -- lanes ----------------------------------------------------------------------------
def lane_groups(root: Any) -> dict[str, str]:
    """Lane name -> its `candidateGroups` property, for lanes that have one."""
    found = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for prop in lane.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property",
                NSMAP):
            if prop.get("name") == "candidateGroups" and lane.get("name"):
                found[lane.get("name")] = prop.get("value") or ""
    return found


def apply_lane_groups(root: Any, specs: Iterable[Any]) -> None:
    """Give a human task without candidate groups of its own those of its lane."""
    groups = lane_groups(root)
    if not groups:
        return
    for spec in specs:
        for task_spec in (spec.task_specs.values() if spec is not None else ()):
            if not getattr(task_spec, "manual", False) or task_spec.lane not in groups:
                continue
            extensions = task_spec.extensions if getattr(task_spec, "extensions", None) \
                else {}
            properties = extensions.setdefault("properties", {})
            if not (properties.get("candidateGroups")
                    or properties.get("candidateGroupsExpression")):
                properties["candidateGroups"] = groups[task_spec.lane]
            task_spec.extensions = extensions
