"""open_data_review: O2 (what the law says) and O3 (only the reviews whose trigger applies)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidTaskData
from engine.services import Govflow
from tests.workflows.conftest import complete, open_elements

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
    assert case.status == "completed" and case.tasks == ()
    assert case.data["authority_notified"] is True
    assert (case.data["outcome"], case.data["decided_by"], case.data["decision_rule"]) == (
        "opened", "system", "O2")


def test_O2_data_a_law_forbids_is_not_opened(gf: Govflow) -> None:
    case = gf.start_case("open_data_review", {**REQUEST, "open_basis": "law_forbids",
                                              "legal_basis": "《保守国家秘密法》"})
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
    done = complete(gf, case, "UserTask_authority_decision", "dora", DECISION)
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
