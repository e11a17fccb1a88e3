"""Where a case has been and where it waits: the path to highlight on its diagram.

The completed elements come from the workflow state itself (every BPMN element whose
task completed, script tasks and gateways included), the active ones from the open
tasks and waiting timers. A sequence flow counts as taken when its source completed
and its target was reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection

from engine.bpmn.definitions import Definitions
from engine.cases.runtime import CaseStore, element_id

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@dataclass(frozen=True)
class CasePath:
    completed: tuple[str, ...]   # element ids, flows included
    active: tuple[str, ...]      # element ids of open tasks and waiting timers
    names: dict[str, str]        # element id -> its name in the diagram, where it has one

    def steps_done(self) -> list[str]:
        """Names of the completed steps (flows and unnamed elements left out)."""
        return [self.names[e] for e in self.completed if e in self.names]


def case_path(conn: Connection, store: CaseStore, definitions: Definitions,
              case_id: int) -> CasePath:
    workflow, deployed = store.read_workflow(conn, case_id, definitions)
    version_id = deployed.id
    done, active = set(), set()
    for task in workflow.get_tasks():
        name = element_id(task.task_spec)  # instances of a multi-instance task included
        if task.state == TaskState.COMPLETED:
            done.add(name)
        elif _waits_here(task):
            active.add(name)
    xml = definitions.xml(conn, version_id)
    flows = _flows(xml)
    elements = _element_ids(xml)
    reached = done | active
    taken = {fid for fid, (src, dst) in flows.items() if src in done and dst in reached}
    return CasePath(tuple(sorted((done & elements) | taken)),
                    tuple(sorted((active - done) & elements)), element_names(xml))


def _waits_here(task: Any) -> bool:
    """Where the case stands: a human task to do, or an event the flow has reached.

    Not a join gateway waiting for its other branches, nor a boundary timer (or an event
    subprocess's start) that has not fired: those are watches, not positions."""
    spec = task.task_spec
    if task.state == TaskState.READY and getattr(spec, "manual", False):
        return True
    return (task.state == TaskState.WAITING and isinstance(spec, CatchingEvent)
            and not isinstance(spec, BoundaryEvent | StartEvent | EventBasedGateway))


def _tree(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(xml, parser)


def _flows(xml: bytes) -> dict[str, tuple[str, str]]:
    return {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in _tree(xml).iter(f"{BPMN}sequenceFlow")}


ENGLISH = "{https://govflow.example/bpmn/english}nameEn"   # a name's English variant


def element_names(xml: bytes, lang: str = "zh") -> dict[str, str]:
    """Element id -> name in `lang`, for every named flow node of the diagram (not flows,
    lanes). English uses the element's `govflow:nameEn` where the model gives one."""
    skip = {f"{BPMN}{t}" for t in ("sequenceFlow", "lane", "participant", "process",
                                   "collaboration", "laneSet")}
    return {node.get("id"): " ".join(_name(node, lang).split())
            for node in _tree(xml).iter()
            if isinstance(node.tag, str) and node.tag.startswith(BPMN) and node.tag not in skip
            and node.get("id") and node.get("name")}


def _name(node: etree._Element, lang: str) -> str:
    return (lang == "en" and node.get(ENGLISH)) or node.get("name")


def english_names(xml: bytes) -> dict[str, str]:
    """Chinese name -> English variant, over every named element (flows and lanes too)."""
    return {" ".join(node.get("name").split()): node.get(ENGLISH)
            for node in _tree(xml).iter()
            if isinstance(node.tag, str) and node.get("name") and node.get(ENGLISH)}


def in_language(xml: bytes, lang: str) -> bytes:
    """The diagram with every element labelled in `lang`, for the viewer."""
    if lang != "en":
        return xml
    tree = _tree(xml)
    for node in tree.iter():
        if isinstance(node.tag, str) and node.get(ENGLISH):
            node.set("name", node.get(ENGLISH))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _element_ids(xml: bytes) -> set[str]:
    found = set()
    for node in _tree(xml).iter():
        if isinstance(node.tag, str) and node.tag.startswith(BPMN) and node.get("id"):
            found.add(node.get("id"))
    return found
