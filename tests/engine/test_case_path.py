"""The diagram's "current step" markers: waiting tasks and reached events only."""

from __future__ import annotations

from engine.cases.govflow import Govflow
from engine.cases.history import case_path

TASK = ('<bpmn:userTask id="{id}" name="{id}"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="candidateGroups" value="dept_health" />'
        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
PARALLEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="parallel_probe" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:parallelGateway id="Split" />
    {TASK.format(id="Task_a")}
    {TASK.format(id="Task_b")}
    <bpmn:parallelGateway id="Join" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Split" />
    <bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Task_a" />
    <bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Task_b" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_a" targetRef="Join" />
    <bpmn:sequenceFlow id="F5" sourceRef="Task_b" targetRef="Join" />
    <bpmn:sequenceFlow id="F6" sourceRef="Join" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_join_waiting_for_its_other_branch_is_not_a_current_step(gf: Govflow) -> None:
    gf.deploy(PARALLEL, "parallel_probe.bpmn")
    case = gf.start_case("parallel_probe", {})
    first = next(t for t in case.tasks if t.element_id == "Task_a")
    gf.complete_task(first.id, "alice", {})
    with gf.db.read() as conn:
        path = case_path(conn, gf.store, gf.definitions, case.id)
    assert path.active == ("Task_b",)
    assert "Task_a" in path.completed and "Join" not in path.completed
