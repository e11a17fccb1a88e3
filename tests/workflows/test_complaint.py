"""complaint: J7, verified and handled within five working days, with feedback."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from engine.rules.profile import shipped_profiles
from notifications.render import render
from tests.workflows.conftest import (
    at,
    complete,
    end_of,
    fired,
    open_task,
    runs_out,
    with_profile,
)

COMPLAINT = {"requester_name": "李四", "contact": "lisi@example.com",
             "handling_dept": "dept_civil", "subject": "办事要求重复提交证明",
             "details": "办理低保时被要求再次提交已共享的出生证明"}
HANDLED = {"finding": "substantiated", "handling_result": "已责令窗口改正并通报",
           "feedback": "经核实属实，已改正，感谢监督"}


def test_J7_a_complaint_is_handled_in_five_working_days_with_feedback(gf: Govflow) -> None:
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    assert (task.candidate_groups, task.due_at) == (("dept_civil",), end_of(2026, 11, 27))
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "carl", {"finding": "substantiated"})
    assert set(bare.value.errors) == {"handling_result", "feedback"}
    done = gf.complete_task(task.id, "carl", HANDLED)
    assert (done.data["outcome"], done.data["decision_rule"],
            done.data["complainant_notified"]) == ("substantiated", "J7", True)


def test_J7_lateness_across_the_spring_festival_raises_the_sla_state_only(gf, clock) -> None:
    clock.set(at(2026, 2, 12, 11))
    case = gf.start_case("complaint", COMPLAINT)
    # 02-13, 02-14 (make-up Saturday), holiday 02-15..02-23, then 02-24, 02-25, 02-26.
    assert open_task(case, "UserTask_handle_complaint").due_at == end_of(2026, 2, 26)
    clock.set(at(2026, 2, 27))
    gf.fire_due_timers()
    late = gf.get_case(case.id)
    assert fired(late) == [("BoundaryEvent_handle_complaint_overdue", "J7")]
    assert late.status == "running" and late.data["sla_state"] == "overdue"
    assert complete(gf, late, "UserTask_handle_complaint", "carl", HANDLED).status == "completed"


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("complaint", COMPLAINT)
    done = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_handle_complaint", "carl", HANDLED)
    assert done.status == "completed"


@pytest.mark.parametrize("name", shipped_profiles())
def test_J7_the_limit_runs_from_acceptance_in_jilin_and_from_receipt_elsewhere(gf, clock,
                                                                             name) -> None:
    gf = with_profile(gf, clock, name)
    case = gf.start_case("complaint", COMPLAINT)                      # Fri 11-20 09:00
    if name != "jilin":
        assert open_task(case, "UserTask_handle_complaint").due_at == end_of(2026, 11, 27)
        return
    accept = open_task(case, "UserTask_accept_complaint")
    assert accept.candidate_groups == ("dept_civil",) and accept.due_at is None
    clock.set(at(2026, 11, 24, 10))                                   # accepted Tue 11-24
    fresh = with_profile(gf, clock, name)   # a new engine: new process-level cache
    case = fresh.complete_task(accept.id, "carl", {"acceptance": "accepted"})
    handle = open_task(case, "UserTask_handle_complaint")
    assert handle.due_at == end_of(2026, 12, 1)                       # 5 days from 11-24
    assert case.data["accepted_at"].startswith("2026-11-24T10:00")
    assert [t.fire_at for t in case.timers] == [runs_out(2026, 12, 1)]


def test_J7_a_complaint_not_accepted_is_closed_with_reasons(gf, clock) -> None:
    gf = with_profile(gf, clock, "jilin")
    case = gf.start_case("complaint", COMPLAINT)
    with pytest.raises(InvalidTaskData):
        complete(gf, case, "UserTask_accept_complaint", "carl", {"acceptance": "not_accepted"})
    done = complete(gf, case, "UserTask_accept_complaint", "carl", {
        "acceptance": "not_accepted", "acceptance_reason": "不属于本机构职责范围"})
    assert (done.status, done.data["outcome"], done.data["complainant_notified"]) == (
        "completed", "not_accepted", True)


def test_J7_the_complainant_not_accepted_is_told_so_in_plain_words(gf, clock) -> None:
    gf = with_profile(gf, clock, "jilin")  # JL 50: acceptance is a step of its own
    case = gf.start_case("complaint", COMPLAINT)
    done = complete(gf, case, "UserTask_accept_complaint", "carl", {
        "acceptance": "not_accepted", "acceptance_reason": "不属于本机构职责范围"})
    [notice] = [m for m in gf.outbox_messages(case_id=done.id) if m.kind == "party_outcome"]
    assert notice.recipient == "email:lisi@example.com"
    zh, en = (render("party_outcome", lang, notice.payload)[1] for lang in ("zh", "en"))
    assert "已办结：不予受理" in zh and "理由：不属于本机构职责范围" in zh
    assert "decided: The complaint was not accepted" in en and "not_accepted" not in en
