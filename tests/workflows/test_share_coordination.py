"""share_coordination: S6, the data authority's final word on a refused share request."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from engine.rules.profile import shipped_profiles
from tests.workflows.conftest import complete, open_task, with_profile
from tests.workflows.test_share_request import REFUSAL, REQUEST


def refused_and_coordinating(gf: Govflow) -> tuple[object, object]:
    refused = gf.start_case("share_request", REQUEST, user="carl")
    refused = complete(gf, refused, "UserTask_provider_review", "alice", REFUSAL)
    assert refused.data["may_request_coordination"] is True
    data = {k: refused.data[k] for k in ("requester_dept", "provider_dept", "dataset", "purpose",
                                         "data_items", "scope", "term", "use_mode")}
    case = gf.start_case("share_coordination", {
        **data, "share_case_id": refused.id, "refusal_reason": refused.data["decision_reason"],
        "coordination_reason": "救助对象核查为法定职责，确需出生信息"}, user="carl")
    return refused, case


def test_S6_a_refused_requester_asks_the_authority_whose_grant_is_final(gf: Govflow) -> None:
    _, case = refused_and_coordinating(gf)
    task = open_task(case, "UserTask_coordinate")
    assert (task.candidate_groups, task.lane) == (("data_authority",), "数据主管部门")
    with pytest.raises(InvalidTaskData) as bare:
        gf.complete_task(task.id, "dora", {"decision": "grant"})
    assert set(bare.value.errors) == {"decision_reason"}
    done = gf.complete_task(task.id, "dora", {"decision": "grant",
                                              "decision_reason": "属履职必需，限定数据项",
                                              "granted_items": ["姓名", "出生日期"]})
    assert (done.status, done.data["outcome"], done.data["decided_by"],
            done.data["decision_rule"], done.data["final"]) == (
        "completed", "granted", "data_authority", "S6", True)
    assert done.data["grant"]["data_items"] == ["姓名", "出生日期"]  # S11


def test_S6_the_authority_may_uphold_the_refusal(gf: Govflow) -> None:
    refused, case = refused_and_coordinating(gf)
    done = complete(gf, case, "UserTask_coordinate", "dora", {
        "decision": "uphold_refusal", "decision_reason": "超出最小够用原则"})
    assert (done.data["outcome"], done.data["decision_rule"]) == ("refused", "S6")
    assert done.data["share_case_id"] == refused.id


def test_a_case_reloaded_in_a_fresh_engine_continues(gf: Govflow, clock) -> None:
    _, case = refused_and_coordinating(gf)
    fresh = Govflow(gf.db, clock=clock, verify_state=True)
    done = complete(fresh, case, "UserTask_coordinate", "dora", {
        "decision": "grant", "decision_reason": "协调后同意共享", "copy_consent": True})
    assert done.data["grant"]["use_mode"] == "api"  # the request asked for calls, not copies


@pytest.mark.parametrize("name", shipped_profiles())
def test_S6_only_guangdong_refers_a_coordination_to_the_leading_group(gf, clock, name) -> None:
    gf = with_profile(gf, clock, name)
    _, case = refused_and_coordinating(gf)
    task = open_task(case, "UserTask_coordinate")
    refer = {"decision": "refer_to_leading_group", "decision_reason": "涉及多部门职责，报请决定"}
    if gf.profile.switches["coordination_body"] != "leading_group":
        assert name != "guangdong"
        with pytest.raises(InvalidTaskData) as refused:
            gf.complete_task(task.id, "dora", refer)
        assert set(refused.value.errors) == {"decision"}
        return
    assert name == "guangdong"
    case = gf.complete_task(task.id, "dora", refer)
    record = open_task(case, "UserTask_leading_group")
    assert record.candidate_groups == ("data_authority",)
    fresh = with_profile(gf, clock, name)   # a new engine: new process-level cache
    done = fresh.complete_task(record.id, "dora", {
        "leading_group_decision": "grant", "leading_group_reference": "粤信领〔2026〕3号",
        "decision_reason": "属履职必需，限定数据项共享"})
    assert (done.data["outcome"], done.data["decided_by"], done.data["final"]) == (
        "granted", "leading_group", True)
