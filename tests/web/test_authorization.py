"""Authorization as a matrix: every role × every page and API route × three kinds of object.

The objects: a share request the health department must answer (`own` for the provider
and the requesting department), one between two other departments (`other`), and a
citizen's objection sent through the portal (`citizen`). Every user gets, for every
route, exactly the answer the access rules give; an object out of scope is reported as
not found, the same answer as an id nobody has.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from tests.web.conftest import CONDITIONAL, OBJECTION, start_share

USERS = ("alice", "carl", "dora", "lena", "root", None)   # None: not signed in
OBJECTS = ("own", "other", "citizen")
# who may see each case, and who may work (claim, complete) its open task
# (the data authority oversees every department's work: it sees every case and task)
SEES_CASE = {"own": {"alice", "carl", "dora", "root"}, "other": {"dora", "root"},
             "citizen": {"dora", "root"}}
SEES_TASK = {"own": {"alice", "dora", "root"}, "other": {"dora", "root"},
             "citizen": {"dora", "root"}}
WORKS_TASK = {"own": {"alice"}, "other": set(), "citizen": {"dora"}}
DECISION = {"own": {"decision": "approve"},
            "citizen": {"decision": "keep", "decision_reason": "数据无误"},
            "other": {"decision": "approve"}}


@pytest.fixture
def objects(wgf, client) -> dict[str, Any]:
    own = start_share(wgf)
    other = wgf.start_case("share_probe", {
        **CONDITIONAL, "provider_dept": "dept_natural_resources",
        "requester_dept": "dept_public_security", "requester_name": "公安厅"}, user="root")
    client.post("/portal/apply/public_probe", data=OBJECTION)
    citizen = wgf.get_case(other.id + 1)
    found = {}
    for name, case in (("own", own), ("other", other), ("citizen", citizen)):
        desk = client.application.extensions["desk"]
        item = desk.attach(desk.viewer("root"), case.id, "a.txt", b"hello")
        found[name] = {"case": case.id, "task": case.tasks[0].id, "file": item.id}
    return found


def page_reads(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("case", "get", f"/cases/{o['case']}"),
            ("case", "get", f"/cases/{o['case']}/diagram.json"),
            ("case", "get", f"/cases/attachments/{o['file']}"),
            ("task", "get", f"/tasks/{o['task']}")]


def api_reads(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("case", "get", f"/api/v1/cases/{o['case']}"),
            ("case", "get", f"/api/v1/cases/{o['case']}/status"),
            ("case", "get", f"/api/v1/cases/{o['case']}/history"),
            ("task", "get", f"/api/v1/tasks/{o['task']}")]


def expected_read(kind: str, user: str | None, obj: str, api: bool) -> int:
    if user is None:
        return 401 if api else 302
    return 200 if user in (SEES_CASE if kind == "case" else SEES_TASK)[obj] else 404


def call(client, method: str, path: str, headers=None, **kwargs: Any) -> int:
    with getattr(client, method)(path, headers=headers or {}, **kwargs) as response:
        return response.status_code


def api_headers(client, user: str | None) -> dict[str, str]:
    if user is None:
        return {}
    desk = client.application.extensions["desk"]
    return {"Authorization": "Bearer " + desk.create_token(desk.viewer(user), "matrix")}


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("user", USERS)
def test_reads_match_the_access_rules(client, auth, objects, user, obj) -> None:
    o = objects[obj]
    headers = api_headers(client, user)
    if user:
        auth.login(user)
    got, want = {}, {}
    for kind, method, path in page_reads(o):
        got[path], want[path] = call(client, method, path), expected_read(kind, user, obj, False)
    for kind, method, path in api_reads(o):
        got[path] = call(client, method, path, headers)
        want[path] = expected_read(kind, user, obj, True)
    assert got == want


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("user", USERS)
def test_actions_match_the_access_rules(client, auth, objects, wgf, user, obj) -> None:
    o = objects[obj]
    headers = api_headers(client, user)
    if user:
        auth.login(user)
    sees_case, sees_task = user in SEES_CASE[obj], user in SEES_TASK[obj]
    works = user in WORKS_TASK[obj]
    denied = 302 if user is None else 404
    steps = [
        ("post", f"/cases/{o['case']}/comments", {"data": {"body": "意见"}},
         302 if sees_case else denied),
        ("post", f"/cases/{o['case']}/attachments",
         {"data": {"file": (io.BytesIO(b"x"), "b.txt")}, "content_type": "multipart/form-data"},
         302 if sees_case else denied),
        ("post", f"/tasks/{o['task']}/transfer", {"data": {"to_user": "lena", "reason": "r"}},
         403 if sees_task else denied),                      # lena is nobody's colleague
        ("post", f"/tasks/{o['task']}/unclaim", {}, 403 if sees_task else denied),
        ("post", f"/tasks/{o['task']}/claim", {},
         302 if works else 403 if sees_task else denied),
        ("post", f"/api/v1/tasks/{o['task']}/claim", {"headers": headers},
         200 if works else 401 if user is None else 403 if sees_task else 404),
        ("post", f"/api/v1/tasks/{o['task']}/complete",
         {"headers": headers, "json": {"data": DECISION[obj]}},
         200 if works else 401 if user is None else 403 if sees_task else 404),
        ("post", f"/tasks/{o['task']}", {"data": DECISION[obj]},
         409 if works else 403 if sees_task else denied),   # works: completed just above
    ]
    for method, path, kwargs, want in steps:
        assert (path, call(client, method, path, **kwargs)) == (path, want)
    task = wgf.get_task(o["task"])
    assert (task.state == "completed") == works
    if not works:
        assert task.assignee is None


@pytest.mark.parametrize("user", [u for u in USERS if u])
def test_lists_show_only_what_is_in_scope(client, auth, objects, user) -> None:
    auth.login(user)
    numbers = {name: f"GF{o['case']:06d}" for name, o in objects.items()}
    inbox = client.get("/inbox").get_data(as_text=True)
    cases = client.get("/cases").get_data(as_text=True)
    api = client.get("/api/v1/cases", headers=api_headers(client, user)).get_json()
    api_numbers = {c["number"] for c in api["cases"]}
    for name, number in numbers.items():
        assert (number in inbox) == (user in WORKS_TASK[name]), (name, "inbox")
        assert (number in cases) == (user in SEES_CASE[name]), (name, "cases")
        assert (number in api_numbers) == (user in SEES_CASE[name]), (name, "api")


def test_unknown_and_out_of_scope_ids_get_the_same_answer(client, auth, objects) -> None:
    auth.login("lena")
    headers = api_headers(client, "lena")
    hidden = objects["own"]
    for probe in (hidden["case"], 999_999):
        response = client.get(f"/api/v1/cases/{probe}", headers=headers).get_json()
        assert response["error"]["code"] == "case_not_found"
        assert re.fullmatch(r"case GF\d{6} does not exist", response["error"]["message"])
    assert client.get(f"/cases/{hidden['case']}").status_code == 404
    assert client.get("/cases/999999").status_code == 404


@pytest.mark.parametrize("user", ["carl", "lena", "dora"])
def test_bulk_claim_and_api_unclaim_never_reach_tasks_out_of_scope(
        client, auth, objects, wgf, user) -> None:
    own = objects["own"]["task"]
    wgf.claim_task(own, "alice")
    auth.login(user)
    client.post("/inbox/claim", data={"task": [own, objects["other"]["task"]]})
    assert wgf.get_task(own).assignee == "alice"
    assert wgf.get_task(objects["other"]["task"]).assignee is None
    response = client.post(f"/api/v1/tasks/{own}/unclaim", headers=api_headers(client, user))
    seen = user == "dora"  # the data authority sees the task but may not release it
    assert response.status_code == (403 if seen else 404)
    assert wgf.get_task(own).assignee == "alice"


def test_nobody_revokes_or_sees_another_users_tokens(client, auth) -> None:
    headers = api_headers(client, "alice")
    auth.login("carl")
    assert "matrix" not in client.get("/account/tokens").get_data(as_text=True)
    assert client.post("/account/tokens/1/revoke").status_code == 404
    assert client.get("/api/v1/cases", headers=headers).status_code == 200


def test_only_department_processes_are_started_by_staff_and_only_public_ones_by_anyone(
        client, auth) -> None:
    assert client.get("/cases/new/share_probe").status_code == 302      # sign in first
    assert client.get("/portal/apply/share_probe").status_code == 404
    auth.login("carl")
    assert client.get("/cases/new/public_probe").status_code == 404


ADMIN_ARGS = {"decision_id": "share_scenarios", "process_id": "share_probe", "username": "alice", "name": "dept_health", "case_id": 1, "task_id": "x",
              "action": "suspend", "version_id": 1}


def admin_routes(app) -> list[tuple[str, str]]:
    """Every route of every admin blueprint, with its methods, filled with sample values."""
    found = []
    with app.test_request_context():
        from flask import url_for
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin_"):
                continue
            path = url_for(rule.endpoint, **{k: ADMIN_ARGS[k] for k in rule.arguments})
            found += [(method.lower(), path) for method in sorted(rule.methods & {"GET", "POST"})]
    return found


@pytest.mark.parametrize("user", [u for u in USERS if u != "root"])
def test_only_administrators_reach_the_admin_pages(client, auth, wgf, user) -> None:
    start_share(wgf)
    routes = admin_routes(client.application)
    assert len(routes) >= 20
    if user:
        auth.login(user)
    for method, path in routes:
        response = getattr(client, method)(path, data={"reason": "r", "to": "user:carl"})
        if user is None:
            assert response.status_code == 302 and "/auth/login" in response.location, path
        else:
            assert response.status_code == 403, (method, path)
    assert wgf.get_case(1).status == "running" and wgf.get_task(
        wgf.get_case(1).tasks[0].id).assignee is None
    assert [u.username for u in client.application.extensions["people"].users()
            if not u.is_active] == []


def test_root_reaches_every_admin_page(client, auth, wgf) -> None:
    start_share(wgf)
    auth.login("root")
    for method, path in admin_routes(client.application):
        if method == "get" and "/diff" not in path:
            assert client.get(path).status_code == 200, path
