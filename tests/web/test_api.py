"""The JSON API: bearer tokens, the routes, errors with stable codes, the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.web.conftest import CONDITIONAL, start_share


@pytest.fixture
def token(client, auth):
    def make(username: str) -> dict[str, str]:
        auth.login(username)
        html = client.post("/account/tokens", data={"name": "测试系统"}).get_data(as_text=True)
        auth.logout()
        value = re.search(r'id="new-token">([^<]+)<', html).group(1)
        return {"Authorization": f"Bearer {value}"}
    return make


def test_requests_without_a_valid_token_get_a_json_401(client) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = client.get("/api/v1/cases", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working(client, auth, token) -> None:
    headers = token("alice")
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    auth.login("alice")
    client.post("/account/tokens/1/revoke")
    assert client.get("/api/v1/cases", headers=headers).status_code == 401


def test_a_system_submits_lists_and_fetches_cases(client, token) -> None:
    headers = token("carl")
    created = client.post("/api/v1/cases", headers=headers,
                          json={"process_id": "share_probe", "data": CONDITIONAL})
    assert created.status_code == 201
    case = created.get_json()
    assert case["number"] == f"GF{case['id']:06d}" and case["status"] == "running"
    listed = client.get("/api/v1/cases", headers=headers).get_json()
    assert [c["id"] for c in listed["cases"]] == [case["id"]] and listed["total"] == 1
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()
    assert fetched["data"]["dataset"] == "出生医学证明"
    assert fetched["timers"][0]["rule"] == "S5"


def test_a_reviewer_system_lists_claims_and_completes_tasks(client, token, wgf) -> None:
    case = start_share(wgf)
    headers = token("alice")
    groups = client.get("/api/v1/tasks?view=groups", headers=headers).get_json()
    [task] = groups["tasks"]
    assert task["sla"] == {"state": "on_time", "remaining_working_days": 10,
                           "overdue_working_days": None}   # the day of receipt not counted
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).get_json()
    assert claimed["assignee"] == "alice"
    mine = client.get("/api/v1/tasks", headers=headers).get_json()
    assert [t["id"] for t in mine["tasks"]] == [task["id"]]
    bad = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                      json={"data": {"decision": "refuse"}})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["errors"]) == {"decision_reason", "legal_basis"}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                       json={"data": {"decision": "approve"}})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    status = client.get(f"/api/v1/cases/{case.id}/status", headers=headers).get_json()
    assert status["outcome"] == "granted" and status["open_tasks"] == []
    history = client.get(f"/api/v1/cases/{case.id}/history", headers=headers).get_json()
    assert [e["action"] for e in history["events"]][:3] == ["case_started", "task_claimed",
                                                           "task_completed"]


def test_errors_are_json_with_stable_codes(client, token, wgf) -> None:
    headers = token("alice")
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "amy")
    cases = [
        (client.get("/api/v1/cases/999", headers=headers), 404, "case_not_found"),
        (client.get("/api/v1/tasks/nope", headers=headers), 404, "task_not_found"),
        (client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 409,
         "task_already_claimed"),
        (client.post("/api/v1/cases", headers=headers, data="x"), 400, "invalid_parameter"),
        (client.post("/api/v1/cases", headers=headers,
                     json={"process_id": "nope", "data": {}}), 404, "process_not_found"),
        (client.get("/api/v1/nothing", headers=headers), 404, "not_found"),
        (client.delete("/api/v1/cases", headers=headers), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        body = response.get_json()
        assert (response.status_code, body["error"]["code"]) == (status, code)
        assert body["error"]["message"]


def test_a_nul_character_anywhere_is_a_422_naming_it_and_nothing_is_stored(
        client, token, auth) -> None:
    """PostgreSQL refuses NUL in text: a query with one was a 500 there."""
    headers = token("carl")
    answers = [
        client.get("/api/v1/cases?process_id=%00", headers=headers),
        client.get("/api/v1/tasks?q=a%00b", headers=headers),
        client.get("/api/v1/tasks/%00", headers=headers),
        client.post("/api/v1/cases", headers=headers, json={
            "process_id": "share_request", "data": {**CONDITIONAL, "purpose": "用于\x00核验"}}),
    ]
    for response in answers:
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "NUL" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/cases", headers=headers).get_json()["total"] == 0
    auth.login("carl")
    page = client.get("/cases?q=x%00")
    assert page.status_code == 422 and "文字中不能含有空字符" in page.get_data(as_text=True)


def test_the_openapi_document_is_valid_and_lists_every_route(client, app) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    listed = {(m.upper(), "/api/v1" + p.replace("{", "<").replace("}", ">"))
              for p, ops in document["paths"].items() for m in ops}
    routes = {(m, re.sub(r"<(?:int:)?(\w+)>", r"<\1>", r.rule))
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and r.endpoint != "api.openapi"
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert routes == listed
