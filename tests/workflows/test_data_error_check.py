"""data_error_check: J6, three working days by default, five where the profile says so (ZH)."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from tests.workflows.conftest import at, complete, end_of, fired, open_task, with_limits

REPORT = {"requester_dept": "dept_civil", "provider_dept": "dept_health",
          "dataset": "出生医学证明", "problem": "wrong", "details": "出生日期早于母亲出生日期"}


def test_J6_the_provider_answers_in_three_working_days_by_correcting(gf: Govflow) -> None:
    case = gf.start_case("data_error_check", REPORT, user="carl")  # Friday 11-20
    task = open_task(case, "UserTask_answer_data_error")
    assert (task.candidate_groups, task.due_at) == (("dept_health",), end_of(2026, 11, 25))
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "alice", {"answer": "corrected", "explanation": "录入错误"})
    assert set(bare.value.errors) == {"explanation", "correction_note"}
    done = gf.complete_task(task.id, "alice", {"answer": "corrected",
                                               "explanation": "系统录入时年份错误",
                                               "correction_note": "出生日期改为2020-05-01"})
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "corrected", "dept_health", "J6")


def test_J6_the_zhenhai_profile_gives_five_days_and_lateness_only_raises_the_sla(gf, clock):
    zh = with_limits(gf, clock, data_error_answer_days=5)
    clock.set(at(2026, 9, 29, 10))
    case = zh.start_case("data_error_check", REPORT, user="carl")
    # 09-30, then National Day 10-01..10-07, then 10-08, 10-09, 10-10 (make-up Saturday), 10-12.
    assert open_task(case, "UserTask_answer_data_error").due_at == end_of(2026, 10, 12)
    clock.set(at(2026, 10, 13))
    zh.fire_due_timers()
    late = zh.get_case(case.id)
    assert fired(late) == [("BoundaryEvent_answer_data_error_overdue", "J6")]
    assert late.status == "running" and late.data["sla_breach_rule"] == "J6"
    done = complete(zh, late, "UserTask_answer_data_error", "alice",
                    {"answer": "explained", "explanation": "该数据经核实无误"})
    assert done.data["outcome"] == "explained"


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("data_error_check", REPORT, user="carl")
    done = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_answer_data_error", "amy",
                    {"answer": "explained", "explanation": "该数据经核实无误"})
    assert done.status == "completed"
