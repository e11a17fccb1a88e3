"""撤回, 退回 and 委派 from the pages (with CSRF) and the JSON API."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.conftest import csrf_token, start_share
from tests.web.test_api import token  # noqa: F401 - the fixture

TWO_REVIEWS = Path(__file__).resolve().parent.parent / "engine" / "approvals" / "two_reviews.bpmn"


def test_the_applicant_withdraws_from_the_case_page_with_csrf(csrf_app, auth, wgf) -> None:
    client = csrf_app.test_client()
    auth.client = client
    case = start_share(wgf)
    auth.login("alice")
    assert "撤回本案" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    auth.login("carl")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "撤回本案" in html
    refused = client.post(f"/cases/{case.id}/withdraw", data={"reason": "不再需要"})
    assert refused.status_code == 400 and wgf.get_case(case.id).status == "running"
    done = client.post(f"/cases/{case.id}/withdraw",
                       data={"reason": "不再需要", "csrf_token": csrf_token(html)})
    assert done.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "已撤回" in page and "撤回本案" not in page and "案件撤回" in page


def test_delegate_and_hand_back_from_the_task_page(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("alice")
    assert "委派（办理后交回）" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    client.post(f"/tasks/{task.id}/delegate", data={"to_user": "dora", "reason": "请把关"})
    auth.login("dora")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "由 alice 委派" in html and 'name="decision"' not in html and 'name="note"' in html
    client.post(f"/tasks/{task.id}/resolve", data={"note": "可以共享"})
    assert wgf.get_task(task.id).assignee == "alice"
    auth.login("alice")
    assert 'name="decision"' in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_return_and_withdraw_through_the_api(client, token, wgf) -> None:  # noqa: F811
    wgf.deploy(TWO_REVIEWS.read_bytes(), TWO_REVIEWS.name)
    case = wgf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    case = wgf.complete_task(case.tasks[0].id, "alice", {})
    second = next(t for t in case.tasks if t.element_id == "UserTask_second")
    dora = token("dora")
    missing = client.post(f"/api/v1/tasks/{second.id}/return", headers=dora,
                          json={"to": "UserTask_first"})
    assert missing.status_code == 422
    back = client.post(f"/api/v1/tasks/{second.id}/return", headers=dora,
                       json={"to": "UserTask_first", "reason": "材料不全"})
    assert back.status_code == 200
    reopened = [t for t in back.get_json()["tasks"]
                if t["element_id"] == "UserTask_first" and t["state"] == "open"]
    assert reopened and reopened[0]["candidate_groups"] == ["dept_health"]
    refused = client.post(f"/api/v1/cases/{case.id}/withdraw", headers=dora,
                          json={"reason": "x"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"]
    done = client.post(f"/api/v1/cases/{case.id}/withdraw", headers=token("carl"),
                       json={"reason": "不再需要"})
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    history = client.get(f"/api/v1/cases/{case.id}/history", headers=token("carl")).get_json()
    assert re.search("case_withdrawn", str(history)) and "task_returned" in str(history)


def test_a_copied_case_is_listed_under_copied_to_me_and_readable(client, auth, wgf,
                                                                 token) -> None:  # noqa: F811
    case = start_share(wgf)
    auth.login("carl")
    client.post(f"/cases/{case.id}/copy", data={"users": "rita", "groups": "", "note": "知悉"})
    auth.login("rita")
    assert "抄送我的" in client.get("/inbox").get_data(as_text=True)
    listed = client.get("/inbox/copies").get_data(as_text=True)
    assert f"/cases/{case.id}" in listed and "知悉" in listed
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "抄送知悉" in page.get_data(as_text=True)
    headers = token("pete")
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 404
    done = client.post(f"/api/v1/cases/{case.id}/copy", headers=token("carl"),
                       json={"to": ["group:dept_public_security"]})
    assert done.status_code == 200 and done.get_json()["copied_to"] == [
        "group:dept_public_security"]
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 200
    items = client.get("/api/v1/copies", headers=headers).get_json()["items"]
    assert [i["case_id"] for i in items] == [case.id]


def test_a_signer_is_added_from_the_task_page_and_the_api(client, auth, wgf,
                                                          token) -> None:  # noqa: F811
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("alice")
    assert "加签" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    client.post(f"/tasks/{task.id}/add-signer",
                data={"to_user": "amy", "position": "before", "note": "请会签"})
    assert wgf.get_task(task.id).assignee == "amy"
    wgf.resolve_delegation(task.id, "amy", "同意")
    done = client.post(f"/api/v1/tasks/{task.id}/add-signer", headers=token("alice"),
                       json={"to_user": "hank", "position": "after", "note": "请主任签发"})
    assert done.status_code == 200 and done.get_json()["assignee"] == "hank"
