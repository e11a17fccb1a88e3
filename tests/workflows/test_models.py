"""Every shipped model: deploys, carries BPMNDI for every element, bilingual forms, limits by
name, and every rule id of regulations.md covered by a diagram and by a test that names it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from engine.cases.govflow import Govflow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
MODELS = sorted(WORKFLOWS.glob("*.bpmn"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
RULES = [f"S{i}" for i in range(1, 12)] + [f"O{i}" for i in range(2, 6)] + [
    f"J{i}" for i in range(1, 8)]
FLOW_NODES = ("startEvent", "endEvent", "boundaryEvent", "userTask", "scriptTask",
              "businessRuleTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway")


def tree(path: Path):
    return etree.parse(str(path)).getroot()


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_each_file_holds_one_process_named_like_the_file_and_deploys(gf: Govflow, path) -> None:
    [process] = tree(path).findall("bpmn:process", NS)
    assert process.get("id") == path.stem
    deployed = gf.deploy(path.read_bytes(), path.name)
    assert (deployed.process_id, deployed.created) == (path.stem, False)  # gf deployed it


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_element_has_a_shape_or_edge_so_the_diagram_renders(path) -> None:
    root = tree(path)
    drawn = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    nodes = {n.get("id") for kind in FLOW_NODES for n in process.iterfind(f"bpmn:{kind}", NS)}
    lanes = {n.get("id") for n in process.iterfind(".//bpmn:lane", NS)}
    flows = {n.get("id") for n in process.iterfind("bpmn:sequenceFlow", NS)}
    assert nodes | lanes <= drawn and flows == edges
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_human_tasks_say_in_chinese_what_to_decide_and_use_bilingual_forms(path) -> None:
    root = tree(path)
    for task in root.iterfind(".//bpmn:userTask", NS):
        assert re.search(r"[\u4e00-\u9fff]", task.get("name")), task.get("id")
        assert re.search(r"[\u4e00-\u9fff]", task.findtext("bpmn:documentation", "", NS))
        props = {p.get("name"): p.get("value")
                 for p in task.iterfind(".//spiffworkflow:property", NS)}
        assert props.get("rule") and props.get("form"), task.get("id")
        check_form(WORKFLOWS / "forms" / props["form"])
    start = root.find(".//bpmn:startEvent", NS)
    form = start.find(".//spiffworkflow:property[@name='form']", NS)
    assert form is not None and form.get("value") == f"{path.stem}.start.json"
    check_form(WORKFLOWS / "forms" / form.get("value"))


def check_form(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False, path.name
    for part in [schema, *schema["properties"].values()]:
        assert re.search(r"[\u4e00-\u9fff]", part["title"]) and part["x-title-en"], path.name
        if "enum" in part:
            assert set(part["x-enum-titles"]) == set(part["enum"]) == set(part["x-enum-titles-en"])
    assert schema["description"] and schema["x-description-en"]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_limits_come_from_the_profile_never_from_numbers_in_the_diagram(path) -> None:
    root = tree(path)
    for timer in root.iterfind(".//bpmn:timeDate", NS):
        assert 'limits["' in timer.text and not re.search(r"working_days=\d", timer.text)
    for prop in root.iterfind(".//spiffworkflow:property[@name='dueWorkingDays']", NS):
        assert 'limits["' in prop.get("value")
    for event in root.iterfind(".//bpmn:boundaryEvent", NS):
        assert event.find(".//spiffworkflow:property[@name='rule']", NS) is not None


def test_every_rule_id_is_in_a_diagram_and_named_by_a_test() -> None:
    diagrams = "".join(p.read_text(encoding="utf-8") for p in MODELS)
    tests = "".join(p.read_text(encoding="utf-8")
                    for p in Path(__file__).parent.glob("test_*.py"))
    for rule in RULES:
        assert re.search(rf"\b{rule}\b", diagrams), rule
        assert re.search(rf"def test_{rule}_", tests), rule


def test_the_readme_has_one_row_per_process_and_names_existing_files() -> None:
    readme = (WORKFLOWS / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| (\w+\.bpmn)", readme, flags=re.M)
    assert sorted(rows) == sorted((p.stem, p.name) for p in MODELS)
    for test_file in re.findall(r"tests/workflows/test_\w+\.py", readme):
        assert (ROOT / test_file).is_file(), test_file
    for path in MODELS:
        for task in tree(path).iterfind(".//bpmn:userTask", NS):
            assert task.get("id") in readme, task.get("id")
    for key in ("share_answer_days", "catalog_silence_approves", "share_joint_review"):
        assert key in readme
