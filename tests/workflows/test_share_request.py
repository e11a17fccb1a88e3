"""share_request, rule by rule (S1–S11), through the engine services."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
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

# HEALTH-BIRTH is conditional and provided by dept_health in the demo catalog.
REQUEST = {"requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
           "dataset_id": "HEALTH-BIRTH", "purpose": "核对社会救助对象家庭成员",
           "data_items": ["姓名", "出生日期", "母亲身份证号"], "scenario": "社会救助资格核对",
           "scope": "民政厅社会救助处", "term": "2027-12-31"}
UNCONDITIONAL = {**REQUEST, "dataset_id": "HEALTH-INSTITUTIONS", "data_items": ["机构名称"]}
NOT_SHARED = {**REQUEST, "dataset_id": "HEALTH-RECORDS", "data_items": ["姓名", "诊断结果"]}
UNCATALOGUED = {**{k: v for k, v in REQUEST.items() if k != "dataset_id"},
                "dataset": "新生儿疾病筛查结果"}
REFUSAL = {"decision": "refuse", "decision_reason": "申请数据项超出履职需要",
           "legal_basis": "《湖北省政务数据资源应用与管理办法》第二十条"}


def confirmed(gf: Govflow, case, provider: str = "dept_health"):
    """S8: the data authority names the provider of data the catalog does not list."""
    return complete(gf, case, "UserTask_confirm_provider", "dora", {"provider_dept": provider})


def test_S1_unconditional_data_is_granted_at_once_by_the_system(gf: Govflow) -> None:
    case = gf.start_case("share_request", UNCONDITIONAL, user="carl")
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
                                           "dataset_id": "HEALTH-BIRTH",
                                           "data_items": ["姓名"]}, user="carl")
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
    case = gf.start_case("share_request", NOT_SHARED, user="carl")
    task = open_task(case, "UserTask_not_shared_answer")
    assert task.candidate_groups == ("dept_health",)
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "alice", {"decision": "desensitise"})
    assert set(bare.value.errors) == {"desensitisation"}
    done = gf.complete_task(task.id, "alice", {"decision": "desensitise",
                                               "desensitisation": "身份证号只保留前六位"})
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "S7")
    assert done.data["grant"]["desensitised"] is True
    refused = gf.start_case("share_request", NOT_SHARED)
    refused = complete(gf, refused, "UserTask_not_shared_answer", "alice", REFUSAL)
    assert (refused.data["outcome"], refused.data["decision_rule"]) == ("refused", "S7")


def test_S7_an_overdue_answer_raises_the_sla_state_but_never_grants(gf, clock) -> None:
    case = gf.start_case("share_request", NOT_SHARED, user="carl")
    clock.set(at(2026, 12, 5))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_not_shared_overdue"),)
    late = gf.get_case(case.id)
    assert late.status == "running" and "outcome" not in late.data
    assert (late.data["sla_state"], late.data["sla_breach_rule"]) == ("overdue", "S3")
    assert open_elements(late) == ["UserTask_not_shared_answer"]


def test_S8_approving_uncatalogued_data_adds_it_to_the_catalog(gf: Govflow) -> None:
    case = confirmed(gf, gf.start_case("share_request", UNCATALOGUED, user="carl"))
    task = open_task(case, "UserTask_catalog_answer")
    assert task.due_at == end_of(2026, 12, 4)
    with pytest.raises(InvalidTaskData) as no_class:
        gf.complete_task(task.id, "alice", {"decision": "approve"})
    assert set(no_class.value.errors) == {"catalog_share_class"}
    done = gf.complete_task(task.id, "alice", {"decision": "approve",
                                               "catalog_share_class": "conditional"})
    assert done.data["catalog_addition"] == {
        "dataset": "新生儿疾病筛查结果", "provider_dept": "dept_health",
        "share_class": "conditional", "data_items": REQUEST["data_items"]}
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "S8")
    listed = gf.dataset(f"S8-GF{case.id:06d}")          # HB 22: 列入政务数据资源目录
    assert (listed.name, listed.provider_dept, listed.share_class, listed.open_class,
            listed.data_items) == ("新生儿疾病筛查结果", "dept_health", "conditional",
                                   "not_open", tuple(REQUEST["data_items"]))
    changed = [e for e in done.events if e.action == "catalog_changed"]
    assert [e.details["catalog_version"] for e in changed] == [listed.version]
    refused = confirmed(gf, gf.start_case("share_request", UNCATALOGUED, user="carl"))
    refused = complete(gf, refused, "UserTask_catalog_answer", "alice", REFUSAL)
    assert (refused.data["outcome"], refused.data["decision_rule"]) == ("refused", "S8")
    with pytest.raises(InvalidTaskData) as incomplete:  # the start form, as the web checks it
        gf.forms.validate("share_request.start.json", {"requester_dept": "dept_civil"})
    assert set(incomplete.value.errors) == {"dataset", "purpose", "data_items"}


def test_S8_silence_only_raises_the_sla_state_by_default(gf: Govflow, clock) -> None:
    case = confirmed(gf, gf.start_case("share_request", UNCATALOGUED, user="carl"))
    clock.set(at(2026, 12, 5))
    gf.fire_due_timers()
    late = gf.get_case(case.id)
    assert fired(late) == [("BoundaryEvent_catalog_overdue", "S8")]
    assert late.status == "running" and late.data["sla_breach_rule"] == "S8"
    assert open_elements(late) == ["UserTask_catalog_answer"]


def test_S8_silence_approves_where_the_profile_says_so_across_the_spring_festival(gf, clock):
    silent = with_limits(gf, clock, catalog_silence_approves=1)
    clock.set(at(2026, 2, 13, 10))
    case = confirmed(silent, silent.start_case("share_request", UNCATALOGUED, user="carl"))
    task = open_task(case, "UserTask_catalog_answer_silence")
    # 02-14 is a make-up Saturday, 02-15..02-23 the holiday, 02-28 another make-up Saturday.
    assert task.due_at == end_of(2026, 3, 5)
    clock.set(at(2026, 3, 6))
    assert silent.fire_due_timers().fired == ((case.id, "BoundaryEvent_catalog_deemed"),)
    done = silent.get_case(case.id)
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "granted", "system", "S8")
    assert done.data["catalog_addition"]["dataset"] == "新生儿疾病筛查结果"
    assert gf.dataset(f"S8-GF{case.id:06d}").share_class == "conditional"


def test_S9_a_request_matching_an_approved_scenario_is_granted_directly(gf: Govflow) -> None:
    matching = {**REQUEST, "requester_dept": "dept_public_security", "scenario_id": "JL26-001",
                "data_items": ["姓名", "出生日期"]}
    case = gf.start_case("share_request", matching, user="pete")
    assert case.status == "completed" and case.tasks == ()
    assert (case.data["decision_rule"], case.data["scenario_title"]) == ("S9", "新生儿出生一件事")
    wrong_dept = gf.start_case("share_request", {**REQUEST, "scenario_id": "JL26-001"})
    assert open_elements(wrong_dept) == ["UserTask_provider_review"]
    assert wrong_dept.data["scenario_approved"] is False
    # The scenario allows named items only: asking for the mother's id number is reviewed.
    more = gf.start_case("share_request", {**matching, "data_items": ["姓名", "母亲身份证号"]},
                         user="pete")
    assert open_elements(more) == ["UserTask_provider_review"]
    assert more.data["scenario_items"] and "母亲身份证号" not in more.data["scenario_items"]


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
    unconditional = gf.start_case("share_request", {**UNCONDITIONAL, "use_mode": "copy"})
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


BAD_START = {"requester_dept": "dept_civil", "dataset_id": "HEALTH-BIRTH", "colour": "red"}


def test_the_start_form_checks_each_field(gf: Govflow) -> None:
    with pytest.raises(InvalidTaskData) as bad:
        gf.forms.validate("share_request.start.json", BAD_START)
    assert set(bad.value.errors) == {"data_items", "colour"}


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


# -- routed from the catalog and the directory, never from the applicant -----------------

def counts(gf: Govflow) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from engine.store.schema import audit_events, cases, human_tasks
    with gf.db.read() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (cases, human_tasks, audit_events))


def refused_at_start(gf: Govflow, data: dict, user: str = "carl") -> dict[str, str]:
    before = counts(gf)
    with pytest.raises(InvalidTaskData) as refused:
        gf.start_case("share_request", data, user=user)
    assert counts(gf) == before                   # nothing created
    return refused.value.errors


def test_S1_a_declared_share_class_is_refused_and_nothing_is_created(gf: Govflow) -> None:
    errors = refused_at_start(gf, {**REQUEST, "share_class": "unconditional"})
    assert set(errors) == {"share_class"}


def test_S2_a_declared_provider_is_refused_the_catalog_names_it(gf: Govflow) -> None:
    assert set(refused_at_start(gf, {**REQUEST, "provider_dept": "dept_civil"})) == {
        "provider_dept"}
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert (case.data["provider_dept"], case.data["share_class"], case.data["dataset"]) == (
        "dept_health", "conditional", "出生医学证明")
    assert case.data["catalog_version"] == gf.catalog_versions()[0].version


def test_S2_a_department_cannot_request_data_it_provides_itself(gf: Govflow) -> None:
    errors = refused_at_start(gf, {**REQUEST, "requester_dept": "dept_health"}, user="alice")
    assert set(errors) == {"dataset_id"} and "own department" in errors["dataset_id"]


def test_S2_an_unknown_a_role_or_a_member_less_group_cannot_request(gf: Govflow) -> None:
    from engine.people import directory
    with gf.db.write() as conn:
        directory.add_group(conn, "dept_closed", "已撤销的部门")   # no active member
    for group in ("dept_nowhere", "administrators", "data_authority", "dept_closed"):
        errors = refused_at_start(gf, {**REQUEST, "requester_dept": group})
        assert set(errors) == {"requester_dept"}, group
        assert "directory" in errors["requester_dept"]


def test_S2_a_dataset_not_in_the_catalog_is_refused_by_id(gf: Govflow) -> None:
    assert set(refused_at_start(gf, {**REQUEST, "dataset_id": "HEALTH-NONE"})) == {"dataset_id"}


def test_S11_items_outside_the_dataset_are_refused_and_nothing_is_created(gf: Govflow) -> None:
    errors = refused_at_start(gf, {**REQUEST, "data_items": ["姓名", "银行账号"]})
    assert set(errors) == {"data_items"} and "银行账号" in errors["data_items"]


def test_S11_a_completed_request_asks_only_for_items_of_its_dataset(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    case = complete(gf, case, "UserTask_provider_review", "alice",
                    {"decision": "return", "decision_reason": "请说明使用范围",
                     "missing_items": ["使用范围"]})
    task = open_task(case, "UserTask_requester_complete")
    completion = {k: REQUEST[k] for k in ("purpose", "scenario", "scope", "term")}
    with pytest.raises(InvalidTaskData) as refused:
        gf.complete_task(task.id, "carl", {**completion, "data_items": ["姓名", "病历"]})
    assert set(refused.value.errors) == {"data_items"}
    assert gf.get_task(task.id).state == "open"
    done = gf.complete_task(task.id, "carl", {**completion, "data_items": ["姓名"]})
    assert open_elements(done) == ["UserTask_provider_review"]


def test_S1_a_case_keeps_the_catalog_version_it_was_decided_on(gf: Govflow) -> None:
    old = gf.start_case("share_request", REQUEST, user="carl")
    gf.save_datasets([("edit", {**gf.dataset("HEALTH-BIRTH").record(),
                                "share_class": "unconditional"})], by="dora",
                     reason="出生医学证明调整为无条件共享")
    new = gf.start_case("share_request", REQUEST, user="carl")
    assert new.data["catalog_version"] == old.data["catalog_version"] + 1
    assert (new.status, new.data["decision_rule"]) == ("completed", "S1")
    assert gf.get_case(old.id).data["share_class"] == "conditional"
    assert open_elements(gf.get_case(old.id)) == ["UserTask_provider_review"]


def test_S8_the_data_authority_names_the_provider_from_the_directory(gf: Govflow) -> None:
    from engine.people import directory
    with gf.db.write() as conn:
        directory.add_group(conn, "dept_closed", "已撤销的部门")
    case = gf.start_case("share_request", UNCATALOGUED, user="carl")
    assert "provider_dept" not in case.data and case.data["in_catalog"] is False
    task = open_task(case, "UserTask_confirm_provider")
    assert task.candidate_groups == ("data_authority",)
    for group in ("dept_nowhere", "administrators", "legal_review", "data_authority",
                  "dept_closed", "dept_civil"):
        before = counts(gf)
        with pytest.raises(InvalidTaskData) as refused:
            gf.complete_task(task.id, "dora", {"provider_dept": group})
        assert set(refused.value.errors) == {"provider_dept"}, group
        assert counts(gf) == before and gf.get_task(task.id).state == "open"
    done = gf.complete_task(task.id, "dora", {"provider_dept": "dept_health"})
    assert open_task(done, "UserTask_catalog_answer").candidate_groups == ("dept_health",)


# -- reasons that say something; the time of receipt -----------------------------------

def test_S4_reasons_and_legal_basis_of_spaces_or_punctuation_are_refused(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    task = open_task(case, "UserTask_provider_review")
    for reason, basis in (("          ", "      "), ("。。。。，，，！！", "——《》——"),
                          ("\u3000\u3000……\u3000\u3000", "第 条")):
        with pytest.raises(InvalidTaskData) as refused:
            gf.complete_task(task.id, "alice", {"decision": "refuse", "decision_reason": reason,
                                                "legal_basis": basis})
        assert set(refused.value.errors) == {"decision_reason", "legal_basis"}, reason
    done = gf.complete_task(task.id, "alice", {
        "decision": "refuse", "decision_reason": "  " + REFUSAL["decision_reason"] + "\n",
        "legal_basis": REFUSAL["legal_basis"] + "  "})
    assert (done.data["decision_reason"], done.data["legal_basis"]) == (
        REFUSAL["decision_reason"], REFUSAL["legal_basis"])


def test_S3_the_time_of_receipt_is_set_by_govflow_never_by_the_caller(gf: Govflow) -> None:
    errors = refused_at_start(gf, {**REQUEST, "received_at": "2026-11-01T09:00:00+08:00"})
    assert set(errors) == {"received_at"}
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert case.data["received_at"] == "2026-11-20T09:00:00+08:00"


def test_S3_an_administrator_records_a_paper_letters_receipt_with_a_reason(gf) -> None:
    from engine.errors import NotAllowed
    letter = at(2026, 11, 16, 15)
    before = counts(gf)
    with pytest.raises(NotAllowed):
        gf.start_case("share_request", REQUEST, user="carl", received_at=letter,
                      received_reason="纸质来函于11月16日收到")
    with pytest.raises(InvalidTaskData) as no_reason:
        gf.start_case("share_request", REQUEST, user="root", received_at=letter,
                      received_reason="  。 ")
    assert set(no_reason.value.errors) == {"received_reason"}
    with pytest.raises(InvalidTaskData):
        gf.start_case("share_request", REQUEST, user="root", received_at=at(2026, 11, 23),
                      received_reason="纸质来函于11月23日收到")     # in the future
    assert counts(gf) == before
    case = gf.start_case("share_request", REQUEST, user="root", received_at=letter,
                         received_reason="纸质来函于11月16日收到，今日录入")
    assert case.data["received_at"] == "2026-11-16T15:00:00+08:00"
    # S3: ten working days from the letter's receipt, not from today.
    assert open_task(case, "UserTask_provider_review").due_at == end_of(2026, 11, 30)
    recorded = [e for e in gf.get_case(case.id).events if e.action == "receipt_time_recorded"]
    assert [(e.actor, e.details["reason"]) for e in recorded] == [
        ("root", "纸质来函于11月16日收到，今日录入")]


def test_S2_nobody_requests_in_another_departments_name(gf: Govflow) -> None:
    errors = refused_at_start(gf, {**REQUEST, "requester_dept": "dept_public_security"})
    assert set(errors) == {"requester_dept"}
    on_behalf = gf.start_case("share_request", {**REQUEST, "requester_dept":
                                                "dept_public_security"}, user="root")
    assert on_behalf.data["requester_dept"] == "dept_public_security"
