"""The lint behind the modeler: every problem, each on its element; clean models pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpmn.lint import ModelRefused, lint
from engine.bpmn.modeler import Modeler
from engine.cases.govflow import WORKFLOWS, Govflow

PROBE = (Path(__file__).parent / "models" / "probe.bpmn").read_text(encoding="utf-8")
FORM = '<spiffworkflow:property name="form" value="probe.review.json" />'
CLEAN = PROBE.replace('<spiffworkflow:property name="dueWorkingDays"',
                      FORM + '<spiffworkflow:property name="dueWorkingDays"')


def problems(gf: Govflow, text: str) -> set[tuple[str | None, str]]:
    return {(p.element, p.message.split(":")[0]) for p in lint(text.encode(), "probe.bpmn", gf)}


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.bpmn")), ids=lambda p: p.stem)
def test_the_shipped_models_are_clean(gf: Govflow, path: Path) -> None:
    assert lint(path.read_bytes(), path.name, gf) == []


@pytest.mark.parametrize("change, found", [
    (('<spiffworkflow:property name="candidateGroups" value="dept_health" />', ""),
     ("UserTask_review", "human task has no group")),
    ((FORM, ""), ("UserTask_review", "human task has no form")),
    (("ratio &gt; threshold", "ratio &gt;"), ("Flow_big", "conditionExpression does not compile")),
    (("working_days=limit_days", "working_days='x'"),
     ("BoundaryEvent_remind", "timer timeDate does not evaluate")),
    (('attachedToRef="UserTask_review"', 'attachedToRef="UserTask_gone"'),
     ("BoundaryEvent_remind", "attachedToRef names 'UserTask_gone', which does not exist")),
    (('default="Flow_small"', 'default="Flow_gone"'),
     ("Gateway_big", "default names 'Flow_gone', which does not exist")),
    (('<bpmn:sequenceFlow id="Flow_late_end" sourceRef="ScriptTask_mark_late" '
      'targetRef="EndEvent_late" />', ""),
     ("EndEvent_late", "no path reaches this end event")),
])
def test_each_rule_names_its_element(gf: Govflow, change, found) -> None:
    assert problems(gf, CLEAN) == set()
    assert found in problems(gf, CLEAN.replace(*change))


def test_a_lane_naming_a_missing_element_is_found(gf: Govflow) -> None:
    laned = CLEAN.replace('<bpmn:startEvent id="StartEvent_probe">', (
        '<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="L">'
        '<bpmn:flowNodeRef>UserTask_nowhere</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
        '<bpmn:startEvent id="StartEvent_probe">'))
    assert ("Lane_1", "the lane lists 'UserTask_nowhere', which does not exist") in \
        problems(gf, laned)


def test_a_draft_with_problems_is_kept_but_never_deployed(gf: Govflow) -> None:
    modeler = Modeler(gf)
    broken = CLEAN.replace(FORM, "").encode()
    assert modeler.save_draft(broken, "root")[0] == "probe"
    with pytest.raises(ModelRefused) as refused:
        modeler.deploy_draft("probe", "root")
    assert refused.value.problems[0].element == "UserTask_review"
    modeler.save_draft(CLEAN.encode(), "root")
    assert modeler.deploy_draft("probe", "root").version == 1
    assert modeler.draft("probe") is None


def test_a_model_calling_a_decision_table_goes_back_unchanged_through_the_modeler(
        gf: Govflow) -> None:
    """The modeler gets the embedded table under its own prefixes (bpmn-js cannot write a
    default DMN namespace back) and deploying that XML keeps the table and its rows."""
    gf.deploy_directory()
    modeler = Modeler(gf)
    served = modeler.xml("share_request")
    assert b"<dmn:definitions" in served and b'xmlns="https://www.omg.org/spec/DMN' not in served
    assert modeler.save_draft(served, "root", expected="share_request")[1] == []
    assert modeler.deploy_draft("share_request", "root").version == 2
    case = gf.start_case("share_request", {"requester_dept": "dept_civil",
                                           "dataset_id": "HEALTH-BIRTH",
                                           "data_items": ["姓名"], "purpose": "核对"})
    assert case.tasks
