"""objection: J1–J5, with the working-day limits on a frozen clock."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from tests.workflows.conftest import at, complete, end_of, fired, open_elements, open_task

OBJECTION = {"requester_name": "张三", "contact": "13800000000", "provider_dept": "dept_health",
             "dataset": "出生医学证明", "data_kind": "collected", "grounds": ["wrong"],
             "details": "我的出生日期登记为1990年1月2日，实为1990年1月20日",
             "evidence": ["户口簿复印件"]}
MARK = {"objection_marked": True}


def test_J1_an_objection_needs_grounds_and_supporting_material(gf: Govflow) -> None:
    with pytest.raises(InvalidTaskData) as bare:
        gf.forms.validate("objection.start.json", {**OBJECTION, "grounds": [], "evidence": []})
    assert set(bare.value.errors) == {"grounds", "evidence"}
    case = gf.start_case("objection", OBJECTION)
    assert case.requester == "张三" and case.started_by is None
    task = open_task(case, "UserTask_mark_objection")
    assert task.candidate_groups == ("data_authority",)


def test_J2_marking_is_due_one_working_day_after_receipt_across_national_day(gf, clock):
    clock.set(at(2026, 9, 30, 15))
    case = gf.start_case("objection", OBJECTION)
    task = open_task(case, "UserTask_mark_objection")
    assert task.due_at == end_of(2026, 10, 8)  # 10-01..10-07 are the holiday
    clock.set(at(2026, 10, 9))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_mark_objection_overdue"),)
    late = gf.get_case(case.id)
    assert (late.status, late.data["sla_state"], late.data["sla_breach_rule"]) == (
        "running", "overdue", "J2")
    assert open_elements(late) == ["UserTask_mark_objection"] and "outcome" not in late.data
    with pytest.raises(InvalidTaskData) as unmarked:
        gf.complete_task(task.id, "dora", {"objection_marked": False})
    assert set(unmarked.value.errors) == {"objection_marked"}
    assert open_elements(gf.complete_task(task.id, "dora", MARK)) == [
        "UserTask_handle_objection"]


def test_J3_the_authority_decides_within_two_working_days_and_tells_the_objector(gf, clock):
    case = gf.start_case("objection", OBJECTION)  # Friday 11-20
    case = complete(gf, case, "UserTask_mark_objection", "dora", MARK)
    task = open_task(case, "UserTask_handle_objection")
    assert task.due_at == end_of(2026, 11, 24)
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "dora", {"handling": "correct"})
    assert set(bare.value.errors) == {"decision_reason", "correction_note"}
    done = gf.complete_task(task.id, "dora", {"handling": "correct", "decision_reason": "核实属实",
                                              "correction_note": "出生日期改为1990-01-20"})
    assert (done.status, done.data["outcome"], done.data["decided_by"],
            done.data["decision_rule"]) == ("completed", "corrected", "data_authority", "J3")
    assert done.data["objector_notified"] is True and done.data["reply"]["outcome"] == "corrected"


def test_J3_an_overdue_decision_raises_the_sla_state_only(gf: Govflow, clock) -> None:
    case = gf.start_case("objection", OBJECTION)
    case = complete(gf, case, "UserTask_mark_objection", "dora", MARK)
    clock.set(at(2026, 11, 25))
    gf.fire_due_timers()
    late = gf.get_case(case.id)
    assert fired(late) == [("BoundaryEvent_handle_objection_overdue", "J3,J4")]
    assert late.data["sla_breach_rule"] == "J3" and late.status == "running"


def test_J4_transfer_then_five_working_days_from_the_transfer_across_the_spring_festival(
        gf: Govflow, clock) -> None:
    clock.set(at(2026, 2, 11, 10))
    case = gf.start_case("objection", OBJECTION)
    case = complete(gf, case, "UserTask_mark_objection", "dora", MARK)
    assert open_task(case, "UserTask_handle_objection").due_at == end_of(2026, 2, 13)
    with pytest.raises(InvalidTaskData) as nowhere:
        complete(gf, case, "UserTask_handle_objection", "dora", {"handling": "transfer"})
    assert set(nowhere.value.errors) == {"responsible_dept"}
    clock.set(at(2026, 2, 13, 16))
    case = complete(gf, case, "UserTask_handle_objection", "dora",
                    {"handling": "transfer", "responsible_dept": "dept_civil"})
    task = open_task(case, "UserTask_dept_verify")
    # Received 02-13: 02-14 (make-up Saturday), then the holiday to 02-23, then 02-24..02-27.
    assert (task.candidate_groups, task.due_at) == (("dept_civil",), end_of(2026, 2, 27))
    clock.set(at(2026, 2, 28))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_dept_verify_overdue"),)
    assert gf.get_case(case.id).data["sla_breach_rule"] == "J4"
    done = gf.complete_task(task.id, "carl", {"provider_checked": True,
                                              "decision": "no_correction",
                                              "decision_reason": "经核实原登记无误"})
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "not_corrected", "dept_civil", "J4")
    assert done.data["objector_notified"] is True and done.status == "completed"


def test_J5_opened_data_may_be_suspended_at_once_then_withdrawn_restored_or_reopened(gf):
    case = gf.start_case("objection", {**OBJECTION, "data_kind": "opened",
                                       "grounds": ["privacy"]})
    case = complete(gf, case, "UserTask_mark_objection", "dora", MARK)
    assert open_elements(case) == ["UserTask_handle_objection", "UserTask_suspend_opening"]
    case = complete(gf, case, "UserTask_suspend_opening", "alice", {"suspend_opening": True})
    assert case.data["suspend_opening"] is True
    case = complete(gf, case, "UserTask_handle_objection", "dora", {
        "handling": "correct", "decision_reason": "含个人隐私", "correction_note": "删除身份证号"})
    task = open_task(case, "UserTask_open_data_measure")
    with pytest.raises(InvalidTaskData):
        gf.complete_task(task.id, "alice", {"open_data_measure": "delete"})
    done = gf.complete_task(task.id, "alice", {"open_data_measure": "reopen_after_processing"})
    assert (done.status, done.data["open_data_measure"], done.data["outcome"]) == (
        "completed", "reopen_after_processing", "corrected")


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("objection", OBJECTION)
    case = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_mark_objection", "dora", MARK)
    done = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_handle_objection", "dora",
                    {"handling": "no_correction", "decision_reason": "登记信息与档案一致"})
    assert done.data["outcome"] == "not_corrected"
