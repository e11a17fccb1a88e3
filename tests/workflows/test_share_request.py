"""share_request, rule by rule (S1–S11), through the engine services."""

from __future__ import annotations

import pytest

from engine.errors import InvalidTaskData
from engine.services import Govflow
from tests.workflows.conftest import (
    at,
    complete,
    end_of,
    fired,
    open_elements,
    open_task,
    runs_out,
    with_limits,
    with_profile,
)

REQUEST = {"requester_dept": "dept_civil", "provider_dept": "dept_health",
           "requester_name": "民政厅社会救助处", "dataset": "出生医学证明",
           "share_class": "conditional", "purpose": "核对社会救助对象家庭成员",
           "data_items": ["姓名", "出生日期", "母亲身份证号"], "scenario": "社会救助资格核对",
           "scope": "民政厅社会救助处", "term": "2027-12-31"}
REFUSAL = {"decision": "refuse", "decision_reason": "申请数据项超出履职需要",
           "legal_basis": "《湖北省政务数据资源应用与管理办法》第二十条"}


def test_S1_unconditional_data_is_granted_at_once_by_the_system(gf: Govflow) -> None:
    case = gf.start_case("share_request", {**REQUEST, "share_class": "unconditional"}, user="carl")
    assert case.status == "completed" and case.tasks == ()
    assert (case.data["outcome"], case.data["decided_by"], case.data["decision_rule"]) == (
        "granted", "system", "S1")
    started = case.events[0]
    assert started.action == "case_started"
    assert started.details["changes"]["decision_rule"] == [None, "S1"]


def test_S2_a_conditional_request_is_reviewed_by_the_provider_department(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    task = open_task(case, "UserTask_provider_review")
    assert (task.candidate_groups, task.lane, task.form) == (
        ("dept_health",), "数据提供部门", "share_request.provider_review.json")
    assert "用途" in gf.forms.schema(task.form)["description"] or task.title == "审核共享申请"


def test_S2_an_incomplete_request_is_returned_and_the_completion_form_checks_each_field(
        gf: Govflow, clock) -> None:
    case = gf.start_case("share_request", {"requester_dept": "dept_civil",
                                           "provider_dept": "dept_health",
                                           "share_class": "conditional"}, user="carl")
    with pytest.raises(InvalidTaskData) as no_reason:
        complete(gf, case, "UserTask_provider_review", "alice", {"decision": "return"})
    assert set(no_reason.value.errors) == {"decision_reason", "missing_items"}
    clock.set(at(2026, 11, 24))
    case = complete(gf, case, "UserTask_provider_review", "alice",
                    {"decision": "return", "decision_reason": "未说明用途和应用场景",
                     "missing_items": ["共享用途", "应用场景"]})
    task = open_task(case, "UserTask_requester_complete")
    assert task.candidate_groups == ("dept_civil",)
    with pytest.raises(InvalidTaskData) as missing:
        gf.complete_task(task.id, "carl", {"purpose": "核对", "data_items": []})
    assert set(missing.value.errors) == {"data_items", "scenario", "scope", "term"}
    assert gf.get_task(task.id).state == "open"
    clock.set(at(2026, 11, 26))
    case = gf.complete_task(task.id, "carl", {k: REQUEST[k] for k in (
        "purpose", "data_items", "scenario", "scope", "term")})
    review = open_task(case, "UserTask_provider_review")
    # S3: the completed request is received anew on 11-26: ten working days end on 12-10.
    assert review.due_at == end_of(2026, 12, 10)
    assert [t.fire_at for t in case.timers] == [runs_out(2026, 12, 10)]
    assert case.data["returned_reason"] == "未说明用途和应用场景"
    done = gf.complete_task(review.id, "alice", {"decision": "approve"})
    assert done.data["grant"]["purpose"] == REQUEST["purpose"]


def test_S2_where_the_profile_says_so_the_data_authority_reviews_together(gf, clock) -> None:
    joint = with_limits(gf, clock, share_joint_review=1)
    case = joint.start_case("share_request", REQUEST, user="carl")
    case = complete(joint, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    task = open_task(case, "UserTask_authority_joint_review")
    assert (task.candidate_groups, task.due_at) == (("data_authority",), end_of(2026, 12, 4))
    with pytest.raises(InvalidTaskData):
        joint.complete_task(task.id, "dora", {"decision": "refuse"})
    done = joint.complete_task(task.id, "dora", REFUSAL)
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "refused", "data_authority", "S4")
    other = joint.start_case("share_request", REQUEST, user="carl")
    other = complete(joint, other, "UserTask_provider_review", "alice", {"decision": "approve"})
    other = complete(joint, other, "UserTask_authority_joint_review", "dora",
                     {"decision": "approve"})
    assert other.status == "completed" and other.data["outcome"] == "granted"


def test_S2_without_the_switch_the_provider_answers_alone(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    done = complete(gf, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    assert done.status == "completed"
    assert "UserTask_authority_joint_review" not in [t.element_id for t in done.tasks]


def test_S3_the_answer_is_due_in_the_profiles_working_days(gf: Govflow, clock) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert open_task(case, "UserTask_provider_review").due_at == end_of(2026, 12, 4)
    gd_2008 = with_limits(gf, clock, share_answer_days=15)
    slower = gd_2008.start_case("share_request", REQUEST, user="carl")
    assert open_task(slower, "UserTask_provider_review").due_at == end_of(2026, 12, 11)
    assert slower.timers[0].fire_at == runs_out(2026, 12, 11)


def test_S3_an_answer_straight_away_closes_the_case_the_same_day(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    done = complete(gf, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    assert (done.data["decided_by"], done.data["decision_rule"]) == ("dept_health", "S3")
    assert done.completed_at == done.started_at


def test_S4_a_refusal_without_reasons_and_legal_basis_is_rejected(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    task = open_task(case, "UserTask_provider_review")
    with pytest.raises(InvalidTaskData) as refused:
        gf.complete_task(task.id, "alice", {"decision": "refuse", "decision_reason": "不行"})
    assert set(refused.value.errors) == {"decision_reason", "legal_basis"}
    assert gf.get_task(task.id).state == "open"
    done = gf.complete_task(task.id, "alice", REFUSAL)
    assert (done.data["outcome"], done.data["decision_rule"], done.data["legal_basis"]) == (
        "refused", "S4", REFUSAL["legal_basis"])
    assert done.data["may_request_coordination"] is True
    completed = [e for e in done.events if e.action == "task_completed"][0]
    assert completed.rule == "S2,S3,S4" and completed.details["changes"]["outcome"] == [
        None, "refused"]


def test_S5_silence_across_national_day_is_deemed_approval_by_the_system(gf, clock) -> None:
    gf = with_profile(gf, clock, "hubei")
    clock.set(at(2026, 9, 28, 16))
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert case.timers[0].fire_at == runs_out(2026, 10, 16)
    clock.set(at(2026, 10, 16, 23, 59))
    assert gf.fire_due_timers().fired == ()
    clock.set(at(2026, 10, 17, 0, 1))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    done = gf.get_case(case.id)
    assert (done.status, done.data["outcome"], done.data["decided_by"],
            done.data["decision_rule"]) == ("completed", "granted", "system", "S5")
    assert fired(done) == [("BoundaryEvent_answer_deadline", "S5")]
    assert done.data["grant"]["decision_rule"] == "S5"


def test_S7_not_shared_data_is_refused_with_reasons_or_provided_desensitised(gf: Govflow) -> None:
    case = gf.start_case("share_request", {**REQUEST, "share_class": "not_shared"}, user="carl")
    task = open_task(case, "UserTask_not_shared_answer")
    assert task.candidate_groups == ("dept_health",)
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "alice", {"decision": "desensitise"})
    assert set(bare.value.errors) == {"desensitisation"}
    done = gf.complete_task(task.id, "alice", {"decision": "desensitise",
                                               "desensitisation": "身份证号只保留前六位"})
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "S7")
    assert done.data["grant"]["desensitised"] is True
    refused = gf.start_case("share_request", {**REQUEST, "share_class": "not_shared"})
    refused = complete(gf, refused, "UserTask_not_shared_answer", "alice", REFUSAL)
    assert (refused.data["outcome"], refused.data["decision_rule"]) == ("refused", "S7")


def test_S7_an_overdue_answer_raises_the_sla_state_but_never_grants(gf, clock) -> None:
    case = gf.start_case("share_request", {**REQUEST, "share_class": "not_shared"}, user="carl")
    clock.set(at(2026, 12, 5))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_not_shared_overdue"),)
    late = gf.get_case(case.id)
    assert late.status == "running" and "outcome" not in late.data
    assert (late.data["sla_state"], late.data["sla_breach_rule"]) == ("overdue", "S3")
    assert open_elements(late) == ["UserTask_not_shared_answer"]


def test_S8_approving_uncatalogued_data_adds_it_to_the_catalog(gf: Govflow) -> None:
    request = {**REQUEST, "in_catalog": False}
    del request["share_class"]
    case = gf.start_case("share_request", request, user="carl")
    task = open_task(case, "UserTask_catalog_answer")
    assert task.due_at == end_of(2026, 12, 4)
    with pytest.raises(InvalidTaskData) as no_class:
        gf.complete_task(task.id, "alice", {"decision": "approve"})
    assert set(no_class.value.errors) == {"catalog_share_class"}
    done = gf.complete_task(task.id, "alice", {"decision": "approve",
                                               "catalog_share_class": "conditional"})
    assert done.data["catalog_addition"] == {
        "dataset": "出生医学证明", "provider_dept": "dept_health", "share_class": "conditional",
        "data_items": REQUEST["data_items"]}
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "S8")
    refused = gf.start_case("share_request", request, user="carl")
    refused = complete(gf, refused, "UserTask_catalog_answer", "alice", REFUSAL)
    assert (refused.data["outcome"], refused.data["decision_rule"]) == ("refused", "S8")
    with pytest.raises(InvalidTaskData) as incomplete:  # the start form, as the web checks it
        gf.forms.validate("share_request.start.json", {
            "requester_dept": "dept_civil", "provider_dept": "dept_health", "in_catalog": False})
    assert set(incomplete.value.errors) == {"dataset", "purpose", "data_items"}


def test_S8_silence_only_raises_the_sla_state_by_default(gf: Govflow, clock) -> None:
    request = {k: v for k, v in REQUEST.items() if k != "share_class"} | {"in_catalog": False}
    case = gf.start_case("share_request", request, user="carl")
    clock.set(at(2026, 12, 5))
    gf.fire_due_timers()
    late = gf.get_case(case.id)
    assert fired(late) == [("BoundaryEvent_catalog_overdue", "S8")]
    assert late.status == "running" and late.data["sla_breach_rule"] == "S8"
    assert open_elements(late) == ["UserTask_catalog_answer"]


def test_S8_silence_approves_where_the_profile_says_so_across_the_spring_festival(gf, clock):
    silent = with_limits(gf, clock, catalog_silence_approves=1)
    clock.set(at(2026, 2, 13, 10))
    request = {k: v for k, v in REQUEST.items() if k != "share_class"} | {"in_catalog": False}
    case = silent.start_case("share_request", request, user="carl")
    task = open_task(case, "UserTask_catalog_answer_silence")
    # 02-14 is a make-up Saturday, 02-15..02-23 the holiday, 02-28 another make-up Saturday.
    assert task.due_at == end_of(2026, 3, 5)
    clock.set(at(2026, 3, 6))
    assert silent.fire_due_timers().fired == ((case.id, "BoundaryEvent_catalog_deemed"),)
    done = silent.get_case(case.id)
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "granted", "system", "S8")
    assert done.data["catalog_addition"]["dataset"] == "出生医学证明"


def test_S9_a_request_matching_an_approved_scenario_is_granted_directly(gf: Govflow) -> None:
    matching = {**REQUEST, "requester_dept": "dept_public_security", "scenario_id": "JL26-001"}
    case = gf.start_case("share_request", matching, user="pete")
    assert case.status == "completed" and case.tasks == ()
    assert (case.data["decision_rule"], case.data["scenario_title"]) == ("S9", "新生儿出生一件事")
    wrong_dept = gf.start_case("share_request", {**REQUEST, "scenario_id": "JL26-001"})
    assert open_elements(wrong_dept) == ["UserTask_provider_review"]
    assert wrong_dept.data["scenario_approved"] is False


def test_S10_copying_needs_the_data_authoritys_consent(gf: Govflow) -> None:
    case = gf.start_case("share_request", {**REQUEST, "use_mode": "copy"}, user="carl")
    case = complete(gf, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    task = open_task(case, "UserTask_copy_consent")
    assert task.candidate_groups == ("data_authority",)
    with pytest.raises(InvalidTaskData) as no_reason:
        gf.complete_task(task.id, "dora", {"copy_consent": False})
    assert set(no_reason.value.errors) == {"copy_consent_reason"}
    done = gf.complete_task(task.id, "dora", {"copy_consent": False,
                                              "copy_consent_reason": "接口调用即可满足需要"})
    assert done.data["grant"]["use_mode"] == "api"
    unconditional = gf.start_case("share_request", {**REQUEST, "share_class": "unconditional",
                                                    "use_mode": "copy"})
    ok = complete(gf, unconditional, "UserTask_copy_consent", "dora", {"copy_consent": True})
    assert (ok.data["grant"]["use_mode"], ok.data["decision_rule"]) == ("copy", "S1")


def test_S11_every_grant_records_purpose_scope_term_and_the_granted_items(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    done = complete(gf, case, "UserTask_provider_review", "alice", {
        "decision": "approve", "granted_items": ["姓名", "出生日期"], "granted_term": "2027-06-30"})
    assert done.data["grant"] == {
        "dataset": "出生医学证明", "requester_dept": "dept_civil", "provider_dept": "dept_health",
        "purpose": REQUEST["purpose"], "scope": REQUEST["scope"], "term": "2027-06-30",
        "data_items": ["姓名", "出生日期"], "use_mode": "api", "desensitised": False,
        "decision_rule": "S3"}
    recorded = [e for e in done.events if e.action == "task_completed"][0]
    assert recorded.details["changes"]["grant"][1]["purpose"] == REQUEST["purpose"]


BAD_START = {"requester_dept": "dept_civil", "share_class": "other", "colour": "red"}


def test_the_start_form_checks_each_field(gf: Govflow) -> None:
    with pytest.raises(InvalidTaskData) as bad:
        gf.forms.validate("share_request.start.json", BAD_START)
    assert set(bad.value.errors) == {"provider_dept", "share_class", "colour"}


def test_start_case_rejects_start_data_the_start_form_refuses(gf: Govflow) -> None:
    with pytest.raises(InvalidTaskData):
        gf.start_case("share_request", BAD_START)


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("share_request", {**REQUEST, "use_mode": "copy"}, user="carl")
    fresh = Govflow(gf.db, clock=clock, verify_state=True)
    case = complete(fresh, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    again = Govflow(gf.db, clock=clock, verify_state=True)
    done = complete(again, case, "UserTask_copy_consent", "dora", {"copy_consent": True})
    assert done.status == "completed" and done.data["grant"]["use_mode"] == "copy"
