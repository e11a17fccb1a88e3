"""open_data_application: O4 (use, term, security; agreement) and O5 (cooperation)."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from tests.workflows.conftest import complete, open_elements, open_task

APPLICATION = {"requester_name": "某某数据科技有限公司", "applicant_type": "organisation",
               "contact": "010-12345678", "provider_dept": "dept_health",
               "dataset": "医疗机构执业信息", "purpose": "开发就医导航应用", "term": "2027-12-31",
               "security_measures": "等保三级系统，专人管理"}
AGREEMENT = {"agreement_no": "XY-2026-001", "signed_on": "2026-11-25"}


def test_O4_an_application_states_use_term_and_security_measures(gf: Govflow) -> None:
    with pytest.raises(InvalidTaskData) as bare:
        gf.forms.validate("open_data_application.start.json",
                          {k: v for k, v in APPLICATION.items()
                           if k not in ("purpose", "term", "security_measures")})
    assert set(bare.value.errors) == {"purpose", "term", "security_measures"}
    case = gf.start_case("open_data_application", APPLICATION)
    task = open_task(case, "UserTask_provider_review")
    assert task.candidate_groups == ("dept_health",)


def test_O4_the_provider_grants_access_under_a_signed_data_use_agreement(gf: Govflow) -> None:
    case = gf.start_case("open_data_application", APPLICATION)
    with pytest.raises(InvalidTaskData) as unsaid:
        complete(gf, case, "UserTask_provider_review", "alice", {"decision": "approve"})
    assert set(unsaid.value.errors) == {"agreement_required"}
    case = complete(gf, case, "UserTask_provider_review", "alice",
                    {"decision": "approve", "agreement_required": True})
    assert open_elements(case) == ["UserTask_record_agreement"] and case.status == "running"
    done = complete(gf, case, "UserTask_record_agreement", "alice", AGREEMENT)
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "O4")
    assert done.data["grant"]["agreement_no"] == "XY-2026-001"
    assert done.data["grant"]["security_measures"] == APPLICATION["security_measures"]


def test_O4_access_without_agreement_and_refusal_with_reasons(gf: Govflow) -> None:
    case = gf.start_case("open_data_application", APPLICATION)
    done = complete(gf, case, "UserTask_provider_review", "alice",
                    {"decision": "approve", "agreement_required": False})
    assert done.data["outcome"] == "granted" and done.data["grant"]["agreement_no"] is None
    other = gf.start_case("open_data_application", APPLICATION)
    with pytest.raises(InvalidTaskData):
        complete(gf, other, "UserTask_provider_review", "alice", {"decision": "refuse"})
    refused = complete(gf, other, "UserTask_provider_review", "alice",
                       {"decision": "refuse", "decision_reason": "安全保障措施不足"})
    assert (refused.data["outcome"], refused.data["decision_rule"]) == ("refused", "O4")


def test_O5_cooperation_needs_the_authoritys_consent_and_a_written_agreement(gf: Govflow):
    application = {**APPLICATION, "cooperation": True, "cooperation_plan": "联合开发医疗资源地图"}
    case = gf.start_case("open_data_application", application)
    case = complete(gf, case, "UserTask_provider_review", "alice",
                    {"decision": "approve", "agreement_required": False})
    task = open_task(case, "UserTask_authority_consent")
    assert task.candidate_groups == ("data_authority",)
    case = gf.complete_task(task.id, "dora", {"cooperation_consent": True})
    with pytest.raises(InvalidTaskData) as unsigned:
        complete(gf, case, "UserTask_record_agreement", "alice", {"agreement_no": "HZ-1"})
    assert set(unsigned.value.errors) == {"signed_on"}
    done = complete(gf, case, "UserTask_record_agreement", "alice", AGREEMENT)
    assert (done.data["outcome"], done.data["decision_rule"]) == ("granted", "O5")
    refused = gf.start_case("open_data_application", application)
    refused = complete(gf, refused, "UserTask_provider_review", "alice",
                       {"decision": "approve", "agreement_required": False})
    refused = complete(gf, refused, "UserTask_authority_consent", "dora", {
        "cooperation_consent": False, "consent_reason": "合作方案不明确"})
    assert (refused.data["outcome"], refused.data["decided_by"]) == ("refused", "data_authority")


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    case = gf.start_case("open_data_application", APPLICATION)
    case = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_provider_review", "alice",
                    {"decision": "approve", "agreement_required": True})
    done = complete(Govflow(gf.db, clock=clock, verify_state=True), case,
                    "UserTask_record_agreement", "amy", AGREEMENT)
    assert done.status == "completed"
