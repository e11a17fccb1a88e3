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

from engine.bpmn.parse import BPMN_NS, NSMAP, SPIFF_NS, embed_decisions, parse_bpmn
from engine.errors import BpmnValidationError, EngineError, InvalidInput
from engine.scripts.sandbox import check_script
from engine.time.clock import SHANGHAI

HUMAN = ("userTask", "manualTask")
EXPRESSION_PROPERTIES = ("candidateGroupsExpression", "dueWorkingDays", "dueFrom")
MAX_MODEL_BYTES = 2 * 1024 * 1024


#: What each problem code says, in English; the web layer says it in the UI's language.
MESSAGES = {
    "too_large": "the model is larger than %(kb)s KB",
    "invalid": "%(reason)s",
    "not_xml": "the file is not well-formed XML",
    "no_group": "human task has no group: set candidateGroups or candidateGroupsExpression",
    "no_form": "human task has no form",
    "dangling_ref": "%(attr)s names %(ref)s, which does not exist",
    "lane_ref": "the lane lists %(ref)s, which does not exist",
    "timer_fails": "timer %(kind)s does not evaluate: %(error)s",
    "timer_not_moment": "timer timeDate gives %(value)s, not a moment",
    "timer_missing": "timer has no timeDate, timeDuration or timeCycle",
    "empty": "empty %(what)s",
    "no_compile": "%(what)s does not compile: %(error)s",
    "unreachable_end": "no path reaches this end event",
}


@dataclass(frozen=True)
class Problem:
    element: str | None
    code: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        return MESSAGES[self.code] % dict(self.params)

    def as_dict(self) -> dict[str, Any]:
        return {"element": self.element, "code": self.code, "params": dict(self.params),
                "message": self.message}


def _problem(element: str | None, code: str, **params: Any) -> Problem:
    return Problem(element, code, tuple((k, str(v)) for k, v in params.items()))


class ModelRefused(InvalidInput):
    """A model with problems was not deployed; `problems` lists them by element."""

    code = "model_refused"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"the model has {len(problems)} problem(s); fix them before deploying",
                         problems=[p.as_dict() for p in problems])
        self.problems = problems


def lint(xml: bytes, file_name: str, gf: Any) -> list[Problem]:
    """Every problem of a model: deploy's validation first, then the lint rules."""
    if len(xml) > MAX_MODEL_BYTES:
        return [_problem(None, "too_large", kb=MAX_MODEL_BYTES // 1024)]
    problems: list[Problem] = []
    try:
        parse_bpmn(embed_decisions(xml, file_name, gf.definitions._decision_file), file_name)
    except BpmnValidationError as exc:
        problems.append(_problem(exc.element, "invalid", reason=exc.reason))
    except EngineError as exc:
        problems.append(_problem(None, "invalid", reason=exc.message))
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return problems or [_problem(None, "not_xml")]
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
                problems.append(_problem(ident, "dangling_ref", attr=attr, ref=repr(ref)))
        if name == "flowNodeRef" and (node.text or "").strip() not in ids:
            problems.append(_problem(_owner(node), "lane_ref", ref=repr(node.text)))
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
        found.append(_problem(node.get("id"), "no_group"))
    if not props.get("form"):
        found.append(_problem(node.get("id"), "no_form"))
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
            return [_problem(owner, "timer_fails", kind=kind, error=" ".join(str(exc).split()))]
        if kind == "timeDate":
            try:
                dt.datetime.fromisoformat(str(value))
            except ValueError:
                return [_problem(owner, "timer_not_moment", value=repr(value))]
        return []
    return [_problem(owner, "timer_missing")]


def _compiles(source: str | None, mode: str, owner: str | None, what: str) -> list[Problem]:
    if not (source or "").strip():
        return [_problem(owner, "empty", what=what)]
    error = check_script(source or "", mode)
    return [_problem(owner, "no_compile", what=what, error=error)] if error else []


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
    return [_problem(end.get("id"), "unreachable_end")
            for end in root.iter(f"{{{BPMN_NS}}}endEvent") if end.get("id") not in reached]
