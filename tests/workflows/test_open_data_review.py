"""open_data_review: O2 (what the law says) and O3 (only the reviews whose trigger applies)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from engine.rules.profile import shipped_profiles
from engine.store.schema import cases
from tests.workflows.conftest import complete, open_elements, open_task, with_profile

NO_TRIGGERS = {"legal_question": False, "specialist_question": False, "state_secret": False,
               "trade_secret": False, "personal_privacy": False, "public_concern": False}
REQUEST = {"provider_dept": "dept_health", "dataset": "医疗机构执业信息",
           "description": "向社会开放医疗机构名称、地址和执业范围"}
DECISION = {"decision": "approve", "security_assessment": "不涉及国家安全",
            "risk_assessment": "风险可控", "benefit_assessment": "便利群众就医"}
REVIEWS = {
    "UserTask_legality_review": ("lena", {"legality_conclusion": "lawful",
                                          "legality_opinion": "符合相关法律规定"}),
    "UserTask_expert_panel": ("evan", {"expert_conclusion": "support",
                                       "expert_opinion": "数据质量满足开放要求"}),
    "UserTask_confidentiality_review": ("sara", {"confidentiality_conclusion": "no_secret",
                                                 "confidentiality_opinion": "不涉及国家秘密"}),
    "UserTask_privacy_review": ("cara", {"privacy_conclusion": "after_processing",
                                         "privacy_opinion": "删除个人信息后可开放"}),
    "UserTask_public_consultation": ("hugo", {"consultation_conclusion": "support",
                                              "consultation_method": "public_comment",
                                              "consultation_opinion": "公众普遍支持开放"}),
}


def test_O2_data_a_law_requires_open_is_opened_after_notifying_the_authority(gf) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "law_requires",
                                              "legal_basis": "《政府信息公开条例》第二十条"})
    notice = open_task(case, "UserTask_acknowledge_notice")    # a real task, not a flag
    assert notice.candidate_groups == ("data_authority",) and case.status == "running"
    assert case.data["authority_notified"] is True and "outcome" not in case.data
    case = gf.complete_task(notice.id, "dora", {"notice_response": "acknowledged"})
    assert (case.data["outcome"], case.data["decided_by"], case.data["decision_rule"]) == (
        "opened", "system", "O2")


@pytest.mark.parametrize("basis", ["法律", "《法》第一条", "统计法第二十五条",
                                   "《中华人民共和国统计法》", "  《》第3条 "])
def test_O2_the_legal_basis_must_cite_a_law_by_name_and_article(gf: Govflow, basis) -> None:
    with pytest.raises(InvalidTaskData) as refused:
        gf.start_case("open_data_review", {**REQUEST, "open_basis": "law_requires",
                                           "legal_basis": basis})
    assert set(refused.value.errors) == {"legal_basis"}
    assert "第…条" in refused.value.errors["legal_basis"]
    with gf.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar_one() == 0


def test_O2_the_authority_may_send_a_notice_to_review_with_reasons(gf: Govflow) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "law_requires",
                                              "legal_basis": "《政府信息公开条例》第二十条"})
    notice = open_task(case, "UserTask_acknowledge_notice")
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(notice.id, "dora", {"notice_response": "review_needed"})
    assert set(bare.value.errors) == {"notice_note"}
    case = gf.complete_task(notice.id, "dora", {"notice_response": "review_needed",
                                                "notice_note": "所引条款只要求主动公开政府信息"})
    assert open_elements(case) == ["UserTask_legality_review"]


def test_O2_data_a_law_forbids_is_not_opened(gf: Govflow) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "law_forbids",
                                              "legal_basis": "《保守国家秘密法》第二十八条"})
    assert (case.data["outcome"], case.data["decision_rule"]) == ("not_opened", "O2")


def test_O2_other_data_needs_the_authoritys_approval(gf: Govflow) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "other", **NO_TRIGGERS})
    assert open_elements(case) == ["UserTask_authority_decision"]
    assert case.data["reviews"] == []
    with pytest.raises(InvalidTaskData) as bare:
        complete(gf, case, "UserTask_authority_decision", "dora", {"decision": "refuse"})
    assert set(bare.value.errors) == {"security_assessment", "risk_assessment",
                                      "benefit_assessment", "decision_reason"}
    done = complete(gf, case, "UserTask_authority_decision", "dora", {
        **DECISION, "decision": "refuse", "decision_reason": "社会效益不足以抵消风险"})
    assert (done.data["outcome"], done.data["decided_by"]) == ("not_opened", "data_authority")


@pytest.mark.parametrize(("triggers", "reviews"), [
    ({"legal_question": True}, ["UserTask_legality_review"]),
    ({"specialist_question": True, "public_concern": True},
     ["UserTask_expert_panel", "UserTask_public_consultation"]),
    ({"state_secret": True, "personal_privacy": True, "trade_secret": True},
     ["UserTask_confidentiality_review", "UserTask_privacy_review"]),
    ({k: True for k in NO_TRIGGERS}, sorted(REVIEWS)),
])
def test_O3_only_the_reviews_whose_trigger_applies_run_in_parallel(gf, triggers, reviews) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "other",
                                              **NO_TRIGGERS, **triggers})
    assert open_elements(case) == sorted(reviews)
    for element in reviews:
        assert open_elements(gf.get_case(case.id)).count("UserTask_authority_decision") == 0
        user, data = REVIEWS[element]
        case = complete(gf, case, element, user, data)
    assert open_elements(case) == ["UserTask_authority_decision"]
    decision = DECISION if "UserTask_privacy_review" not in reviews else {
        **DECISION, "decision": "approve_desensitised", "processing_note": "删除个人身份信息"}
    done = complete(gf, case, "UserTask_authority_decision", "dora", decision)
    assert (done.status, done.data["outcome"]) == ("completed", "opened")
    for element in reviews:  # every opinion reaches the decision
        assert all(done.data[k] == v for k, v in REVIEWS[element][1].items())


def test_O3_the_routing_table_is_the_deployed_dmn(gf: Govflow) -> None:
    xml = gf.process_xml("open_data_review")
    assert b'<decision id="open_data_review_routing"' in xml and b'hitPolicy="COLLECT"' in xml


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "other", **NO_TRIGGERS,
                                              "legal_question": True})
    fresh = Govflow(gf.db, clock=clock, verify_state=True)
    case = complete(fresh, case, "UserTask_legality_review", *REVIEWS["UserTask_legality_review"])
    done = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_authority_decision", "dora", DECISION)
    assert done.data["outcome"] == "opened"


PROFILES = shipped_profiles()
REFUSE = {**DECISION, "decision": "refuse", "decision_reason": "保密审查认定涉及国家秘密"}
DESENSITISED = {**DECISION, "decision": "approve_desensitised",
                "processing_note": "删除患者姓名和身份证号"}
CONDITIONAL = {**DECISION, "decision": "approve_conditional",
               "processing_note": "签订数据利用协议后按需提供"}


def reviewed(gf: Govflow, clock, triggers: dict, findings: dict[str, dict]):
    """Start a case with `triggers` and give each review its finding."""
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "other",
                                              **NO_TRIGGERS, **triggers})
    for element, data in findings.items():
        case = complete(gf, case, element, REVIEWS[element][0], data)
    return case


@pytest.mark.parametrize("name", PROFILES)
def test_O3_a_state_secret_finding_makes_open_impossible(gf, clock, name) -> None:
    gf = with_profile(gf, clock, name)
    case = reviewed(gf, clock, {"state_secret": True}, {"UserTask_confidentiality_review": {
        "confidentiality_conclusion": "secret", "confidentiality_opinion": "含涉密坐标数据"}})
    task = open_task(case, "UserTask_authority_decision")
    assert case.data["allowed_decisions"] == ["refuse"]
    [row] = case.data["findings"]
    assert (row["title"], row["conclusion_label"], row["reviewer"], row["bars_opening"]) == (
        "保密审查", "涉及国家秘密", "sara", True)
    assert row["reviewed_at"].startswith("2026-11-20T09:00")
    # A fresh engine (new process-level cache) takes the decision: every opening is refused.
    fresh = with_profile(gf, clock, name)
    for attempt in (DECISION, DESENSITISED, CONDITIONAL):
        with pytest.raises(InvalidTaskData) as barred:
            fresh.complete_task(task.id, "dora", attempt)
        assert set(barred.value.errors) == {"decision"}
    assert fresh.get_task(task.id).state == "open"
    done = fresh.complete_task(task.id, "dora", REFUSE)
    assert (done.data["outcome"], done.data["decided_by"]) == ("not_opened", "data_authority")


def test_O3_a_finding_that_the_law_forbids_opening_leaves_only_refusal(gf, clock) -> None:
    case = reviewed(gf, clock, {"legal_question": True}, {"UserTask_legality_review": {
        "legality_conclusion": "unlawful", "legality_opinion": "统计法禁止公开单个调查对象资料"}})
    assert case.data["allowed_decisions"] == ["refuse"]
    with pytest.raises(InvalidTaskData):
        complete(gf, case, "UserTask_authority_decision", "dora", DESENSITISED)


@pytest.mark.parametrize("name", PROFILES)
def test_O3_a_privacy_finding_allows_only_a_desensitised_or_conditional_version(gf, clock,
                                                                                name) -> None:
    gf = with_profile(gf, clock, name)
    case = reviewed(gf, clock, {"personal_privacy": True}, {"UserTask_privacy_review": {
        "privacy_conclusion": "infringement", "privacy_opinion": "包含可识别的患者信息"}})
    conditional = gf.profile.switches["conditional_open"]   # HB 27, JL 28
    assert conditional == (name in ("hubei", "jilin"))
    with pytest.raises(InvalidTaskData):
        complete(gf, case, "UserTask_authority_decision", "dora", DECISION)
    if not conditional:
        with pytest.raises(InvalidTaskData):
            complete(gf, case, "UserTask_authority_decision", "dora", CONDITIONAL)
    done = complete(gf, case, "UserTask_authority_decision", "dora",
                    CONDITIONAL if conditional else DESENSITISED)
    assert done.data["outcome"] == "opened"
    assert done.data["open_form"] == ("conditional" if conditional else "desensitised")


def test_O3_deciding_against_a_finding_needs_reasons_and_is_recorded(gf, clock) -> None:
    case = reviewed(gf, clock, {"specialist_question": True}, {"UserTask_expert_panel": {
        "expert_conclusion": "oppose", "expert_opinion": "数据质量不满足开放要求"}})
    with pytest.raises(InvalidTaskData) as bare:
        complete(gf, case, "UserTask_authority_decision", "dora", DECISION)
    assert set(bare.value.errors) == {"override_reason"}
    with pytest.raises(InvalidTaskData):
        complete(gf, case, "UserTask_authority_decision", "dora",
                 {**DECISION, "override_reason": "   。。 "})
    done = complete(gf, case, "UserTask_authority_decision", "dora", {
        **DECISION, "override_reason": "数据质量问题已由提供部门整改并复核"})
    assert done.data["findings_overridden"] == ["expert_panel"]
    [decided] = [e for e in done.events if e.action == "system_decision" and "O3" in e.rule]
    assert decided.details["decision"]["findings_overridden"] == ["expert_panel"]
    assert decided.details["decision"]["override_reason"] == "数据质量问题已由提供部门整改并复核"
