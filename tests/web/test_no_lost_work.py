"""Nothing typed is lost: a conflict keeps the input and says who finished first; a returned
request opens prefilled under its return reason; conditionally required fields are marked;
a term that would already have ended is refused."""

from __future__ import annotations

import re

from tests.web.conftest import AuthActions, start_share
from tests.web.test_shipped import shipped  # noqa: F401  (the shipped models' app)

# HEALTH-BIRTH (出生医学证明) is conditional and provided by dept_health in the demo catalog.
SHARE = {"requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
         "dataset_id": "HEALTH-BIRTH", "purpose": "核对社会救助对象家庭成员",
         "data_items": ["姓名", "出生日期"], "scenario": "社会救助资格核对",
         "scope": "民政厅社会救助处", "term": "2027-12-31"}


def test_a_second_reviewer_keeps_what_they_typed_and_learns_who_finished(app, wgf) -> None:
    task = start_share(wgf).tasks[0]
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login("alice")
    AuthActions(second).login("amy")
    assert first.post(f"/tasks/{task.id}", data={"decision": "approve"}).status_code == 302
    late = second.post(f"/tasks/{task.id}", data={
        "decision": "refuse", "decision_reason": "申请数据项超出履职需要，请另行说明",
        "legal_basis": "第二十条"})
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "申请数据项超出履职需要，请另行说明" in html and "第二十条" in html
    assert re.search(r'value="refuse"\s+checked', html)
    text = re.sub(r"<[^>]+>", " ", html)
    alice = app.extensions["desk"].user_names()["alice"]
    assert f"该任务已由 {alice} 于" in text and "办结" in text
    assert "alice" not in text and task.id not in text


def test_a_returned_request_opens_prefilled_under_its_reason(shipped) -> None:  # noqa: F811
    gf, app = shipped
    case = gf.start_case("share_request", SHARE, user="carl")
    review = next(t for t in case.tasks if t.element_id == "UserTask_provider_review")
    case = gf.complete_task(review.id, "alice", {"decision": "return",
                                                 "decision_reason": "未说明使用范围的具体科室",
                                                 "missing_items": ["使用范围的具体科室"]})
    back = next(t for t in case.tasks if t.element_id == "UserTask_requester_complete"
                and t.state == "open")
    client = app.test_client()
    AuthActions(client).login("carl")
    html = client.get(f"/tasks/{back.id}").get_data(as_text=True)
    reason_at = html.index("未说明使用范围的具体科室")
    assert reason_at < html.index('name="purpose"')
    assert "核对社会救助对象家庭成员" in html and "姓名\n出生日期" in html
    assert 'value="2027-12-31"' in html


def test_fields_required_by_a_choice_are_marked_for_the_browser(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    marked = re.findall(r'data-required-when="([^"]+)"', html)
    assert marked and all("refuse" in m for m in marked)
    assert "/static/forms.js" in html
    with client.get("/static/forms.js") as script:
        assert script.status_code == 200


def test_a_term_already_over_is_refused(shipped, clock) -> None:  # noqa: F811
    gf, app = shipped
    client = app.test_client()
    AuthActions(client).login("carl")
    form = {**SHARE, "data_items": "姓名\n出生日期", "term": "2020-01-01"}
    response = client.post("/cases/new/share_request", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:400]
    assert re.search(r'id="f-term"[^>]*aria-invalid="true"', html)
    assert re.search(r'min="\d{4}-\d\d-\d\d"', html)
