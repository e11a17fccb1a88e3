"""Decision tables deploy with the process that calls them, and version with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.bpmn.definitions import Definitions
from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def test_the_dmn_is_embedded_in_the_stored_version(gf: Govflow) -> None:
    xml = gf.process_xml("share_request")
    assert b'<decision id="share_scenarios"' in xml
    again = gf.deploy((WORKFLOWS / "share_request.bpmn").read_bytes(), "share_request.bpmn")
    assert again.created is False


def test_editing_a_table_makes_a_new_version_and_old_cases_keep_theirs(gf, tmp_path) -> None:
    for name in ("share_request.bpmn", "share_scenarios.dmn"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    dmn = tmp_path / "share_scenarios.dmn"
    dmn.write_text(dmn.read_text(encoding="utf-8").replace('"JL26-003"', '"JL26-099"'),
                   encoding="utf-8")
    request = {"requester_dept": "dept_health", "dataset_id": "CIVIL-DIBAO",
               "data_items": ["姓名"], "scenario_id": "JL26-099"}
    old = gf.start_case("share_request", request)
    gf.definitions = Definitions(tmp_path, cache=gf.cache)
    deployed = gf.deploy((tmp_path / "share_request.bpmn").read_bytes(), "share_request.bpmn")
    assert (deployed.version, deployed.created) == (2, True)
    new = gf.start_case("share_request", request)
    assert old.version == 1 and old.status == "running"
    assert new.version == 2 and new.status == "completed" and new.data["decision_rule"] == "S9"


def test_a_missing_table_is_a_clear_deploy_error(gf, tmp_path) -> None:
    gf.definitions = Definitions(tmp_path, cache=gf.cache)
    with pytest.raises(BpmnValidationError) as refused:
        gf.deploy((WORKFLOWS / "open_data_review.bpmn").read_bytes(), "open_data_review.bpmn")
    assert refused.value.element == "BusinessRuleTask_route_reviews"
    assert "open_data_review_routing.dmn" in refused.value.reason


def test_a_table_expression_the_sandbox_refuses_is_a_deploy_error(gf, tmp_path) -> None:
    shutil.copy(WORKFLOWS / "open_data_review.bpmn", tmp_path)
    table = (WORKFLOWS / "open_data_review_routing.dmn").read_text(encoding="utf-8")
    (tmp_path / "open_data_review_routing.dmn").write_text(
        table.replace('<text>"legality"</text>', "<text>__import__('os')</text>"),
        encoding="utf-8")
    gf.definitions = Definitions(tmp_path, cache=gf.cache)
    with pytest.raises(BpmnValidationError) as refused:
        gf.deploy((tmp_path / "open_data_review.bpmn").read_bytes(), "open_data_review.bpmn")
    assert "DMN outputEntry" in refused.value.reason
