"""Check a model before it is saved or deployed, and list every problem with its element.

First the validation `govflow deploy` runs (it stops at the first problem); then
govflow's lint, which keeps going so an editor can mark every element at once:

- every human task has a group (candidateGroups, an expression or a lane) and a form;
- every expression and script compiles in the sandbox;
- every timer evaluates (on a case received now) to a moment or duration;
- no reference dangles: flows' ends, a boundary event's `attachedToRef`, a gateway's
  `default`, a lane's `flowNodeRef`;
- every end event can be reached from a start event.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .bpmn import BPMN_NS, NSMAP, SPIFF_NS, embed_decisions, parse_bpmn
from .clock import SHANGHAI
from .errors import BpmnValidationError, EngineError, InvalidInput
from .sandbox import check_script

HUMAN = ("userTask", "manualTask")
EXPRESSION_PROPERTIES = ("candidateGroupsExpression", "dueWorkingDays", "dueFrom")
MAX_MODEL_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    element: str | None
    message: str


class ModelRefused(InvalidInput):
    """A model with problems was not deployed; `problems` lists them by element."""

    code = "model_refused"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the model has {len(problems)} problem(s); fix them before deploying",
                         problems=[vars(p) for p in problems])
        self.problems = problems


def lint(xml: bytes, file_name: str, gf: Any) -> list[Problem]:
    """Every problem of a model: deploy's validation first, then the lint rules."""
    if len(xml) > MAX_MODEL_BYTES:
        return [Problem(None, f"the model is larger than {MAX_MODEL_BYTES // 1024} KB")]
    problems: list[Problem] = []
    try:
        parse_bpmn(embed_decisions(xml, file_name, gf.definitions._decision_file), file_name)
    except BpmnValidationError as exc:
        problems.append(Problem(exc.element, exc.reason))
    except EngineError as exc:
        problems.append(Problem(None, exc.message))
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return problems or [Problem(None, "the file is not well-formed XML")]
    seen = {(p.element, p.message) for p in problems}
    for found in _rules(root, gf):
        if (found.element, found.message) not in seen:
            seen.add((found.element, found.message))
            problems.append(found)
    return problems


def _rules(root: Any, gf: Any) -> list[Problem]:
    problems: list[Problem] = []
    ids = {node.get("id") for node in root.iter(etree.Element) if node.get("id")}
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        name, ident = etree.QName(node).localname, node.get("id")
        if name in HUMAN:
            problems += _human_task(node)
        elif name == "timerEventDefinition":
            problems += _timer(node, gf)
        elif name in ("conditionExpression", "script", "completionCondition",
                      "loopCardinality"):
            problems += _compiles(node.text, "exec" if name == "script" else "eval",
                                  _owner(node), name)
        for attr in ("sourceRef", "targetRef", "attachedToRef", "default"):
            ref = node.get(attr)
            if ref is not None and ref not in ids:
                problems.append(Problem(ident, f"{attr} names {ref!r}, which does not exist"))
        if name == "flowNodeRef" and (node.text or "").strip() not in ids:
            problems.append(Problem(_owner(node), f"the lane lists {node.text!r}, "
                                                  "which does not exist"))
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") in EXPRESSION_PROPERTIES:
            problems += _compiles(prop.get("value"), "eval", _owner(prop), prop.get("name"))
    for script in (*root.iter(f"{{{SPIFF_NS}}}preScript"), *root.iter(f"{{{SPIFF_NS}}}postScript")):
        if (script.text or "").strip():
            problems += _compiles(script.text, "exec", _owner(script), "script")
    return problems + _unreachable_ends(root)


def _human_task(node: Any) -> list[Problem]:
    """A lane is not enough: tasks are offered to candidate groups only."""
    props = {p.get("name"): p.get("value") for p in node.iterfind(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NSMAP)}
    found = []
    if not (props.get("candidateGroups") or props.get("candidateGroupsExpression")):
        found.append(Problem(node.get("id"), "human task has no group: set candidateGroups "
                                             "or candidateGroupsExpression"))
    if not props.get("form"):
        found.append(Problem(node.get("id"), "human task has no form"))
    return found


def _timer(definition: Any, gf: Any) -> list[Problem]:
    owner = _owner(definition.getparent())   # the event: that is what the diagram shows
    for kind in ("timeDate", "timeDuration", "timeCycle"):
        expression = definition.find(f"bpmn:{kind}", NSMAP)
        if expression is None:
            continue
        problems = _compiles(expression.text, "eval", owner, f"timer {kind}")
        if problems:
            return problems
        sample = {"received_at": gf.now().astimezone(SHANGHAI).isoformat()}
        try:
            value = gf.script_engine.environment.evaluate(expression.text, sample)
        except NameError:
            return []      # depends on case data we do not have here
        except Exception as exc:  # noqa: BLE001 - any failure is the lint's finding
            return [Problem(owner, f"timer {kind} does not evaluate: {' '.join(str(exc).split())}")]
        if kind == "timeDate":
            try:
                dt.datetime.fromisoformat(str(value))
            except ValueError:
                return [Problem(owner, f"timer timeDate gives {value!r}, not a moment")]
        return []
    return [Problem(owner, "timer has no timeDate, timeDuration or timeCycle")]


def _compiles(source: str | None, mode: str, owner: str | None, what: str) -> list[Problem]:
    if not (source or "").strip():
        return [Problem(owner, f"empty {what}")]
    error = check_script(source or "", mode)
    return [Problem(owner, f"{what} does not compile: {error}")] if error else []


def _owner(node: Any) -> str | None:
    return next((n.get("id") for n in (node, *node.iterancestors()) if n.get("id")), None)


def _unreachable_ends(root: Any) -> list[Problem]:
    """End events no path reaches from a start event (flows, boundary events, subprocesses)."""
    following: dict[str, set[str]] = defaultdict(set)
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        following[flow.get("sourceRef")].add(flow.get("targetRef"))
    for event in root.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        following[event.get("attachedToRef")].add(event.get("id"))
    for container in root.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction"):
        for start in container.iterfind("bpmn:startEvent", NSMAP):
            following[container.get("id")].add(start.get("id"))
    process = root.find(".//bpmn:process", NSMAP)
    if process is None:
        return []
    todo = [s.get("id") for s in process.iterfind("bpmn:startEvent", NSMAP)]
    todo += [s.get("id") for sub in process.iter(f"{{{BPMN_NS}}}subProcess")
             if sub.get("triggeredByEvent") == "true"
             for s in sub.iterfind("bpmn:startEvent", NSMAP)]
    reached = set(todo)
    while todo:
        for nxt in following[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    return [Problem(end.get("id"), "no path reaches this end event")
            for end in root.iter(f"{{{BPMN_NS}}}endEvent") if end.get("id") not in reached]
