"""With the shipped models and the demo catalog: the catalog pages and API, the share
request form, and the result citizens and applicants are told."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.web.test_shipped import app_for, shipped_engine
from tests.workflows.conftest import at, with_profile

REQUEST = {"requester_dept": "dept_civil", "dataset_id": "HEALTH-BIRTH",
           "data_items": ["姓名", "出生日期"], "purpose": "核对社会救助对象"}
OBJECTION = {"requester_name": "张三", "contact": "13800000000", "provider_dept": "dept_health",
             "dataset": "出生医学证明", "data_kind": "collected", "grounds": ["wrong"],
             "details": "出生日期登记为1990年1月2日，实为1月20日", "evidence": ["户口簿复印件"]}


@pytest.fixture
def shipped(database_url, clock, tmp_path):
    gf = shipped_engine(database_url, clock)
    yield gf, app_for(gf, tmp_path, RATELIMIT_ENABLED=False)
    gf.db.dispose()


def client_as(app, user: str | None, lang: str = "zh"):
    client = app.test_client()
    with client.session_transaction() as session:
        if user:
            session["sid"] = app.extensions["desk"].open_session(user, dt.timedelta(hours=8))
        session["lang"] = lang
    return client


def bearer(app, user: str) -> dict[str, str]:
    html = client_as(app, user).post("/account/tokens", data={"name": "系统"}).get_data(
        as_text=True)
    return {"Authorization": "Bearer " + re.search(r'id="new-token">([^<]+)<', html).group(1)}


# -- the catalog --------------------------------------------------------------------------

def test_S2_departments_search_and_read_the_catalog_but_cannot_change_it(shipped) -> None:
    gf, app = shipped
    alice = client_as(app, "alice")
    html = alice.get("/catalog?q=出生").get_data(as_text=True)
    assert "HEALTH-BIRTH" in html and "有条件共享" in html and "卫生健康委" in html
    assert "HEALTH-DEATH" not in html and "/catalog/new" not in html
    typed = alice.get("/catalog?q=health-birth").get_data(as_text=True)  # any letter case
    assert "HEALTH-BIRTH" in typed and "HEALTH-DEATH" not in typed
    page = alice.get("/catalog/HEALTH-BIRTH").get_data(as_text=True)
    assert "个人信息保护法" in page and "/edit" not in page
    assert alice.get("/catalog/new").status_code == 403
    assert alice.post("/catalog/HEALTH-BIRTH/edit", data={"name": "x"}).status_code == 403
    assert client_as(app, None).get("/catalog").status_code in (302, 401)


def test_S8_the_data_authority_edits_a_dataset_and_every_save_is_a_version(shipped) -> None:
    gf, app = shipped
    dora = client_as(app, "dora")
    record = gf.dataset("CIVIL-ORGS").record()
    form = {**record, "data_items": "\n".join(record["data_items"]), "restriction_basis": ""}
    refused = dora.post("/catalog/CIVIL-ORGS/edit", data={**form, "provider_dept":
                                                         "administrators", "reason": "调整"})
    assert refused.status_code == 422 and 'id="err-provider_dept"' in refused.get_data(
        as_text=True)
    assert dora.post("/catalog/CIVIL-ORGS/edit", data={**form, "share_class": "conditional",
                                                       "reason": " "}).status_code == 422
    assert gf.dataset("CIVIL-ORGS").record() == record
    saved = dora.post("/catalog/CIVIL-ORGS/edit", data={
        **form, "share_class": "conditional", "restriction_basis":
        "《社会组织登记管理条例》第三十条：负责人身份信息限于履职使用", "reason": "含负责人信息"})
    assert saved.status_code == 302
    page = dora.get("/catalog/CIVIL-ORGS").get_data(as_text=True)
    assert "有条件共享" in page and "含负责人信息" in page
    assert gf.dataset("CIVIL-ORGS").version == 2


def test_S8_the_api_reads_the_catalog_and_only_the_data_authority_changes_it(shipped) -> None:
    gf, app = shipped
    client = app.test_client()
    listed = client.get("/api/v1/catalog?q=HEALTH", headers=bearer(app, "carl")).get_json()
    assert listed["total"] == 4 and listed["datasets"][0]["provider_dept"] == "dept_health"
    change = {"reason": "新增", "dataset": {
        "name": "养老机构名录", "provider_dept": "dept_civil", "share_class": "unconditional",
        "open_class": "open_unconditional", "data_items": ["机构名称", "地址"]}}
    denied = client.put("/api/v1/catalog/CIVIL-ELDER", json=change,
                        headers=bearer(app, "carl"))
    assert denied.status_code == 403
    added = client.put("/api/v1/catalog/CIVIL-ELDER", json=change, headers=bearer(app, "dora"))
    assert added.status_code == 200 and added.get_json()["catalog_version"] == 2
    bad = client.put("/api/v1/catalog/CIVIL-ELDER", headers=bearer(app, "dora"),
                     json={**change, "dataset": {**change["dataset"], "share_class": "x"}})
    assert bad.status_code == 422 and "share_class" in bad.get_json()["error"]["errors"]
    fetched = client.get("/api/v1/catalog/CIVIL-ELDER", headers=bearer(app, "carl")).get_json()
    assert [c["reason"] for c in fetched["changes"]] == ["新增"]


def test_S2_the_request_form_offers_catalog_datasets_and_active_departments_only(
        shipped) -> None:
    gf, app = shipped
    carl = client_as(app, "carl")
    html = carl.get("/cases/new/share_request").get_data(as_text=True)
    assert '<option value="HEALTH-BIRTH"' in html and "出生医学证明 · 卫生健康委" in html
    assert 'name="provider_dept"' not in html and 'name="share_class"' not in html
    assert '<option value="administrators"' not in html
    cases_before = len(gf.catalog_versions())
    sent = carl.post("/cases/new/share_request", data={**REQUEST, "data_items": "姓名\n银行账号"})
    assert sent.status_code == 422 and "银行账号" in sent.get_data(as_text=True)
    assert carl.post("/cases/new/share_request", data={
        **REQUEST, "data_items": "姓名"}).status_code == 302
    assert len(gf.catalog_versions()) == cases_before


# -- what applicants and citizens are told ------------------------------------------------

def test_J3_the_tracker_tells_the_correction_and_who_decided_in_words(shipped) -> None:
    gf, app = shipped
    case, code = app.extensions["desk"].submit_public("objection", OBJECTION)
    task = gf.get_case(case.id).tasks[0]
    gf.complete_task(task.id, "dora", {"objection_marked": True})
    task = [t for t in gf.get_case(case.id).tasks if t.state == "open"][0]
    gf.complete_task(task.id, "dora", {"handling": "correct", "decision_reason": "核实属实",
                                       "correction_note": "出生日期已改为1990-01-20"})
    number = f"GF{case.id:06d}"
    zh = client_as(app, None).post("/portal/track", data={"number": number, "code": code})
    html = zh.get_data(as_text=True)
    assert "已更正" in html and "出生日期已改为1990-01-20" in html and "核实属实" in html
    assert "数据主管部门（大数据中心）" in html
    # The tracking code and the form's CSRF token are random letters and digits ("…SJ3Y").
    shown = re.sub(r'name="csrf_token" value="[^"]*"', "", html.replace(code, ""))
    for raw in ("corrected", "data_authority", "{&#39;", "{'", "J3"):
        assert raw not in shown, raw
    en = client_as(app, None, "en").post("/portal/track", data={"number": number, "code": code})
    assert "Corrected" in en.get_data(as_text=True) and "Correction made" in en.get_data(
        as_text=True)


def test_J7_the_complainant_is_told_the_finding_the_action_and_the_feedback(shipped) -> None:
    gf, app = shipped
    case, code = app.extensions["desk"].submit_public("complaint", {
        "requester_name": "李四", "contact": "13900000000", "handling_dept": "dept_health",
        "subject": "个人信息被公开", "details": "某医院公开了患者名单"})
    task = gf.get_case(case.id).tasks[0]
    gf.complete_task(task.id, "alice", {"finding": "substantiated",
                                        "handling_result": "已责令该医院撤下名单并整改",
                                        "feedback": "经核实属实，已处理"})
    html = client_as(app, None).post("/portal/track", data={
        "number": f"GF{case.id:06d}", "code": code}).get_data(as_text=True)
    assert "投诉举报属实" in html and "已责令该医院撤下名单并整改" in html
    assert "经核实属实，已处理" in html and "卫生健康委" in html
    assert "substantiated" not in html and "dept_health" not in html


def test_S4_the_api_tells_the_applicant_the_refusal_its_reasons_and_the_department(
        shipped) -> None:
    gf, app = shipped
    case = gf.start_case("share_request", REQUEST, user="carl")
    gf.complete_task(case.tasks[0].id, "alice", {
        "decision": "refuse", "decision_reason": "申请数据项超出履职需要",
        "legal_basis": "《湖北省政务数据资源应用与管理办法》第二十条"})
    result = app.test_client().get(f"/api/v1/cases/{case.id}",
                                   headers=bearer(app, "carl")).get_json()["result"]
    assert (result["outcome"], result["outcome_text"], result["decided_by"]) == (
        "refused", "不予同意", "卫生健康委")
    assert result["reasons"] == "申请数据项超出履职需要" and "第二十条" in result["legal_basis"]
    page = client_as(app, "carl").get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-result"' in page and "不予同意" in page


def test_S5_a_deemed_approval_says_why_govflow_decided(shipped, clock) -> None:
    gf, app = shipped
    hubei = with_profile(gf, clock, "hubei")  # S5: only Hubei deems silence an approval
    case = hubei.start_case("share_request", REQUEST, user="carl")
    clock.set(at(2026, 12, 5))
    hubei.fire_due_timers()
    result = app.test_client().get(f"/api/v1/cases/{case.id}/status",
                                   headers=bearer(app, "carl")).get_json()["result"]
    assert result["outcome_text"] == "已同意" and "S5 (HB 20)" in result["decided_by"]
    assert "视为同意" in result["decided_by"] and result["granted_items"] == ["姓名", "出生日期"]


def test_S2_the_provider_reads_the_catalog_facts_in_words_not_keys(shipped) -> None:
    gf, app = shipped
    case = gf.start_case("share_request", REQUEST, user="carl")
    html = client_as(app, "alice").get(f"/tasks/{case.tasks[0].id}").get_data(as_text=True)
    assert "有条件共享" in html and "资源目录版本" in html and "目录所列数据项" in html
    for key in ("dataset_items", "catalog_version", "share_class", ">conditional<", "in_catalog"):
        assert key not in html.replace('name="share_class"', ""), key


def test_S2_the_api_refuses_a_declared_provider_or_class_and_creates_nothing(shipped) -> None:
    gf, app = shipped
    client, headers = app.test_client(), bearer(app, "carl")
    for extra in ({"provider_dept": "dept_health"}, {"share_class": "unconditional"},
                  {"data_items": ["姓名", "银行账号"]}):
        sent = client.post("/api/v1/cases", headers=headers, json={
            "process_id": "share_request", "data": {**REQUEST, **extra}})
        assert sent.status_code == 422
        assert set(sent.get_json()["error"]["errors"]) == set(extra)
    assert client.get("/api/v1/cases", headers=headers).get_json()["total"] == 0
    made = client.post("/api/v1/cases", headers=headers,
                       json={"process_id": "share_request", "data": REQUEST})
    assert made.status_code == 201 and made.get_json()["data"]["provider_dept"] == "dept_health"
