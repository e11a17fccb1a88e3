"""POST /api/v1/messages: a message reaches the one case waiting for it that the token's
user may see, or starts a case on a message start event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cases.govflow import Govflow

MESSAGES = sorted((Path(__file__).parents[1] / "engine" / "bpmn").glob("msg_*.bpmn"))


@pytest.fixture
def token(client, auth, wgf: Govflow):
    wgf.deploy_paths(MESSAGES)

    def make(username: str) -> dict[str, str]:
        auth.login(username)
        html = client.post("/account/tokens", data={"name": "对接系统"}).get_data(as_text=True)
        auth.logout()
        value = re.search(r'id="new-token">([^<]+)<', html).group(1)
        return {"Authorization": f"Bearer {value}"}
    return make


def waiting(wgf: Govflow, request_no: str) -> int:
    return wgf.start_case("msg_receiver", {"request_no": request_no,
                                           "requester_dept": "dept_civil"}, user="carl").id


def test_a_message_wakes_the_case_its_correlation_names_and_only_that_one(
        client, auth, token, wgf: Govflow) -> None:
    one, two = waiting(wgf, "R-1"), waiting(wgf, "R-2")
    sent = client.post("/api/v1/messages", headers=token("carl"), json={
        "name": "answer", "data": {"decision": "granted"}, "correlation": {"request_no": "R-2"}})
    assert sent.status_code == 200
    body = sent.get_json()
    assert (body["case_id"], body["element_id"], body["status"], body["started"]) == (
        two, "Receive_answer", "completed", False)
    assert wgf.get_case(two).data["outcome"] == "granted"
    assert wgf.get_case(one).status == "running"
    assert [e.actor for e in wgf.get_case(two).events if e.action == "message_received"] == [
        "carl"]
    auth.login("carl")
    page = client.get(f"/cases/{two}").get_data(as_text=True)
    assert "收到消息" in page and "message_received" not in page


def test_cases_the_sender_may_not_see_are_as_if_nobody_waited(client, token,
                                                               wgf: Govflow) -> None:
    case = waiting(wgf, "R-1")
    for payload in ({"correlation": {"request_no": "R-1"}}, {"case_id": case}):
        refused = client.post("/api/v1/messages", headers=token("alice"),
                              json={"name": "answer", "data": {"decision": "x"}, **payload})
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "message_not_delivered"
    assert wgf.get_case(case).status == "running"


def test_a_message_start_event_creates_a_case(client, token, wgf: Govflow) -> None:
    sent = client.post("/api/v1/messages", headers=token("alice"),
                       json={"name": "report_filed", "data": {"reporter": "市民"}})
    assert sent.status_code == 201 and sent.get_json()["started"] is True
    case = wgf.get_case(sent.get_json()["case_id"])
    assert case.process_id == "msg_start" and case.started_by == "alice"


def test_malformed_messages_get_a_422(client, token) -> None:
    headers = token("carl")
    for payload in ({"data": {}}, {"name": "answer", "correlation": "R-1"},
                    {"name": "answer", "case_id": 1, "correlation": {"request_no": "R-1"}},
                    {"name": "answer", "case_id": "not a number"},
                    {"name": "answer", "case_id": 1.5}, {"name": 7}):
        response = client.post("/api/v1/messages", headers=headers, json=payload)
        assert response.status_code == 422, payload
        assert response.get_json()["error"]["code"] == "invalid_message"


def test_the_openapi_document_describes_the_messages_route(client) -> None:
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/messages"]["post"]
    assert operation["operationId"] == "sendMessage" and "201" in operation["responses"]
