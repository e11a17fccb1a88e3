"""The portal for citizens: each procedure says what it is for, its limits from the profile
and what to have ready; the receipt prints and copies; the tracker names the procedure,
echoes the submission and dates each step; a refused share request leads to 申请协调 (S6)."""

from __future__ import annotations

import re

from tests.web.conftest import AuthActions
from tests.web.test_no_lost_work import SHARE
from tests.web.test_shipped import shipped  # noqa: F401


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_each_procedure_shows_purpose_limits_and_what_to_have_ready(shipped) -> None:  # noqa: F811
    gf, app = shipped
    client = app.test_client()
    page = text_of(client.get("/portal/apply/complaint").get_data(as_text=True))
    days = gf.profile.limits["complaint_days"]
    assert "办理事项说明" in page and "投诉举报" in page
    assert f"投诉举报核实处理并反馈时限： {days} 个工作日" in page
    assert "请准备以下信息" in page
    objection = text_of(client.get("/portal/apply/objection").get_data(as_text=True))
    assert f"标注异议状态时限： {gf.profile.limits['objection_mark_days']} 个工作日" in objection


def test_the_receipt_prints_copies_and_the_tracker_echoes_the_submission(shipped) -> None:  # noqa: F811
    gf, app = shipped
    client = app.test_client()
    form = client.get("/portal/apply/complaint").get_data(as_text=True)
    names = set(re.findall(r'name="([a-z_]+)"', form)) - {"csrf_token"}
    data = {n: "2026年11月在政务大厅办理业务时数据被错误公开" for n in names}
    for name in names:    # choices take their first option
        options = re.findall(rf'name="{name}" value="([^"]+)"', form) or re.findall(
            rf'<select[^>]*name="{name}"[^>]*>.*?<option value="([^"]+)"', form, re.S)
        if options:
            data[name] = options[0]
    sent = client.post("/portal/apply/complaint", data=data)
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200, text_of(html)[:600]
    assert "打印回执" in html and "复制案件编号和查询码" in html and "/static/receipt.js" in html
    number = re.search(r'id="case-number">([^<]+)<', html).group(1)
    code = re.search(r'id="tracking-code">([^<]+)<', html).group(1)
    tracked = text_of(client.post("/portal/track", data={"number": number, "code": code})
                      .get_data(as_text=True))
    assert "投诉" in tracked.split("您提交的内容")[0]          # the procedure is named
    assert "您提交的内容" in tracked and "数据被错误公开" in tracked
    assert re.search(r"办理过程 \d{4}-\d\d-\d\d \d\d:\d\d 收到", tracked)   # steps with dates


def test_a_refused_share_request_offers_coordination_prefilled_and_linked(shipped) -> None:  # noqa: F811
    gf, app = shipped
    case = gf.start_case("share_request", SHARE, user="carl")
    review = next(t for t in case.tasks if t.state == "open")
    gf.complete_task(review.id, "alice", {"decision": "refuse",
                                          "decision_reason": "申请数据项超出履职需要",
                                          "legal_basis": "第二十条"})
    carl, alice = app.test_client(), app.test_client()
    AuthActions(carl).login("carl")
    AuthActions(alice).login("alice")
    page = carl.get(f"/cases/{case.id}").get_data(as_text=True)
    assert ">申请协调</a>" in page and f"from={case.id}" in page
    assert ">申请协调</a>" not in alice.get(f"/cases/{case.id}").get_data(as_text=True)
    draft = carl.get(f"/cases/new/share_coordination?from={case.id}").get_data(as_text=True)
    assert f'value="{case.id}"' in draft and "核对社会救助对象家庭成员" in draft
    assert "申请数据项超出履职需要" in draft
    assert alice.get(f"/cases/new/share_coordination?from={case.id}").status_code in (403, 404)
    fields = {"share_case_id": f"GF{case.id:06d}", "requester_dept": "dept_civil",
              "provider_dept": "dept_health", "dataset": "出生医学证明",
              "purpose": SHARE["purpose"], "data_items": "姓名\n出生日期",
              "coordination_reason": "该数据为履行社会救助职责所必需"}
    accepted = carl.post("/cases/new/share_coordination", data=fields)
    assert accepted.status_code == 302, text_of(accepted.get_data(as_text=True))[:600]
    granted = gf.start_case("share_request", SHARE, user="carl")   # still under review
    refused_other = carl.post("/cases/new/share_coordination",
                              data={**fields, "share_case_id": str(granted.id)})
    assert refused_other.status_code == 422
    assert "不是本部门被拒绝的共享申请" in refused_other.get_data(as_text=True)


def test_the_tracker_marks_a_provisional_due_date(shipped, clock) -> None:  # noqa: F811
    gf, app = shipped
    clock.set("2026-12-28T10:00:00+08:00")   # five working days reach 2027, not yet entered
    desk = app.extensions["desk"]
    schema = gf.forms.schema(desk.process("complaint").start_form)
    case, code = desk.submit_public("complaint", {
        k: "dept_health" if k == "handling_dept" else "在政务大厅办理业务时数据被错误公开"
        for k in schema.get("required", [])})
    html = app.test_client().post("/portal/track", data={
        "number": f"GF{case.id:06d}", "code": code}).get_data(as_text=True)
    assert re.search(r"2027-01-\d\d \d\d:\d\d[^<]*<span class=\"badge sla-provisional\">暂定</span>",
                     html)
