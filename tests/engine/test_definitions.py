"""Deploying process versions: new versions on change, no-ops on identical XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError, ProcessNotFound

SHARE = Path(__file__).resolve().parents[2] / "workflows" / "share_request.bpmn"
CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名"]}


def test_redeploying_identical_xml_changes_nothing(gf: Govflow) -> None:
    again = gf.deploy(SHARE.read_bytes(), "share_request.bpmn")
    assert (again.version, again.created) == (1, False)


def test_a_changed_model_is_a_new_version_and_running_cases_keep_theirs(gf: Govflow) -> None:
    old_case = gf.start_case("share_request", CONDITIONAL)
    changed = SHARE.read_bytes().replace("审核共享申请".encode(), "审核共享申请（新版）".encode())
    deployed = gf.deploy(changed, "share_request.bpmn", by="root")
    assert (deployed.version, deployed.created) == (2, True)
    new_case = gf.start_case("share_request", CONDITIONAL)
    assert (old_case.version, new_case.version) == (1, 2)
    assert new_case.tasks[0].title.endswith("（新版）")
    restarted = Govflow(gf.db, clock=gf.clock, verify_state=True)
    finished = restarted.complete_task(old_case.tasks[0].id, "alice", {"decision": "approve"})
    assert finished.status == "completed" and finished.version == 1


def test_a_broken_model_is_refused_with_file_element_and_line(gf: Govflow) -> None:
    broken = SHARE.read_bytes().replace(b'targetRef="Gateway_decision"',
                                        b'targetRef="Gateway_nowhere"')
    with pytest.raises(BpmnValidationError) as refused:
        gf.deploy(broken, "share_request.bpmn")
    assert refused.value.file == "share_request.bpmn"
    assert refused.value.element == "Flow_to_decision"
    assert refused.value.line and refused.value.line > 1


def test_starting_an_unknown_process_is_a_clear_error(gf: Govflow) -> None:
    with pytest.raises(ProcessNotFound, match="not deployed"):
        gf.start_case("no_such_process", {})
