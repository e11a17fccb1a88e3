"""Department fields are checked against the directory for every process, at start and at
every completion."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from tests.workflows.conftest import complete, open_task
from tests.workflows.test_objection import MARK


def test_J4_a_transfer_names_an_active_department_never_a_role_or_unknown_group(gf) -> None:
    case = gf.start_case("objection", {
        "requester_name": "张三", "contact": "13800000000", "provider_dept": "dept_health",
        "dataset": "出生医学证明", "data_kind": "collected", "grounds": ["wrong"],
        "details": "出生日期登记为1990年1月2日，实为1月20日", "evidence": ["户口簿复印件"]})
    case = complete(gf, case, "UserTask_mark_objection", "dora", MARK)
    task = open_task(case, "UserTask_handle_objection")
    for group in ("administrators", "legal_review", "dept_nowhere"):
        with pytest.raises(InvalidTaskData) as refused:
            gf.complete_task(task.id, "dora", {"handling": "transfer",
                                               "responsible_dept": group})
        assert set(refused.value.errors) == {"responsible_dept"}, group
    assert gf.get_task(task.id).state == "open"


def test_J7_a_complaint_to_an_unknown_or_role_group_is_refused_with_nothing_created(
        gf: Govflow) -> None:
    complaint = {"requester_name": "李四", "contact": "13900000000", "subject": "数据泄露",
                 "details": "某单位违规公开个人信息"}
    for group in ("administrators", "dept_nowhere"):
        with pytest.raises(InvalidTaskData) as refused:
            gf.start_case("complaint", {**complaint, "handling_dept": group})
        assert set(refused.value.errors) == {"handling_dept"}
    assert gf.inbox("alice").total == 0
    case = gf.start_case("complaint", {**complaint, "handling_dept": "dept_health"})
    assert case.tasks[0].candidate_groups == ("dept_health",)
