"""Every request gets a proper answer: no open redirect, sign-out ends the session on the
server, out-of-range numbers are 404/400 and malformed API bodies a 400 naming the field.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.people import tokens
from engine.store.schema import api_tokens
from tests.web.conftest import CONDITIONAL, AuthActions, start_share

HUGE = "9" * 30


def test_the_reported_redirects_go_home(client) -> None:
    for url in ("/lang/en?next=/%09/evil.example", "/lang/en?next=/%0a/x",
                "/lang/zh?next=%2F%2Fevil.example", "/lang/zh?next=/%5Cevil.example"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/", url


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "//evil.example", "/\\evil.example",
    "https://evil.example/", "/\n/evil.example", "javascript:alert(1)",
    " //evil.example", "/\r\nSet-Cookie: x=1"])
def test_redirects_stay_on_this_site(client, auth, target) -> None:
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    from web.auth import safe_next
    assert safe_next(target, "/home") == "/home"
    assert safe_next("/inbox?view=mine", "/home") == "/inbox?view=mine"


def test_sign_in_refuses_to_send_the_browser_elsewhere(app, wgf) -> None:
    from engine.people import directory
    with wgf.db.write() as conn:
        directory.add_user(conn, "pat", "Pat", password="pat-secret-2026",
                           groups_=["dept_health"], now=wgf.now())
    client = app.test_client()
    for target in ("/%09/evil.example", "/%0a/evil.example", "%2F%2Fevil.example"):
        response = client.post(f"/auth/login?next={target}",
                               data={"username": "pat", "password": "pat-secret-2026"})
        assert response.status_code == 302 and response.headers["Location"] == "/inbox"


def test_signing_out_ends_the_session_even_for_a_saved_cookie(app, wgf) -> None:
    client = app.test_client()
    AuthActions(client).login("alice")
    saved = client.get_cookie("govflow_session").value
    assert client.get("/inbox").status_code == 200
    client.post("/auth/logout")
    thief = app.test_client()
    thief.set_cookie("govflow_session", saved)
    response = thief.get("/inbox")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_huge_ids_and_pages_are_not_found_or_refused(client, auth, wgf) -> None:
    case = start_share(wgf)
    auth.login("alice")
    for url in (f"/cases/{HUGE}", f"/cases/{HUGE}/diagram.json",
                f"/cases/attachments/{HUGE}", f"/cases/{2**63}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/cases/{HUGE}/attachments").status_code == 404
    for url in (f"/inbox?page={HUGE}", f"/cases?page={HUGE}", "/inbox?page=-1",
                "/cases?page=abc"):
        assert client.get(url).status_code == 400, url
    assert client.get(f"/cases/{case.id}").status_code == 200


@pytest.fixture
def bearer(wgf):
    def make(user: str) -> dict[str, str]:
        with wgf.db.write() as conn:
            token = tokens.create(conn, user, "test", now=wgf.now())
        return {"Authorization": f"Bearer {token}"}
    return make


def test_the_api_refuses_out_of_range_numbers_naming_them(client, bearer) -> None:
    headers = bearer("alice")
    for url in (f"/api/v1/cases/{HUGE}", f"/api/v1/cases/{HUGE}/status",
                f"/api/v1/cases/{HUGE}/history"):
        assert client.get(url, headers=headers).status_code == 404, url
    for url, field in ((f"/api/v1/cases?page={HUGE}", "page"),
                       (f"/api/v1/tasks?page={HUGE}", "page"),
                       ("/api/v1/cases?per_page=null", "per_page"),
                       ("/api/v1/tasks?per_page=0", "per_page"),
                       ("/api/v1/tasks?view=everything", "view"),
                       ("/api/v1/cases?color=red", "color")):
        response = client.get(url, headers=headers)
        assert response.status_code == 400, url
        assert response.get_json()["error"]["field"] == field


def test_malformed_bodies_are_refused_naming_the_field(client, bearer) -> None:
    headers = bearer("carl")
    deep = '{"a":' * 5000 + "{}" + "}" * 5000
    sent = [({"process_id": "share_probe", "data": []}, "data"),
            ({"process_id": "share_probe", "data": "x"}, "data"),
            ({"process_id": "share_probe", "data": 7}, "data"),
            ({"process_id": ["share_probe"], "data": {}}, "process_id"),
            ([1, 2], "")]
    for body, field in [*((json.dumps(b), f) for b, f in sent), (deep, ""),
                        ('{"process_id": "x", "data": ' + deep + "}", "")]:
        response = client.post("/api/v1/cases", headers=headers, data=body,
                               content_type="application/json")
        assert response.status_code == 400, body[:80]
        assert response.get_json()["error"]["field"] == field
    listed = client.post("/api/v1/cases", headers=headers, json={
        "process_id": "share_probe", "data": {**CONDITIONAL, "requester_dept": ["dept_civil"]}})
    assert listed.status_code == 422
    assert "requester_dept" in listed.get_json()["error"]["errors"]


def test_a_recently_used_token_is_not_written_again(client, bearer, wgf, clock) -> None:
    headers = bearer("alice")
    def last_used():
        with wgf.db.read() as conn:
            return conn.execute(select(api_tokens.c.last_used_at)).scalar()
    client.get("/api/v1/cases", headers=headers)
    first = last_used()
    assert first == wgf.now()
    clock.advance(seconds=59)
    with wgf.db.write() as blocker:   # a slow step holds the write lock...
        blocker.execute(select(1))
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert last_used() == first
    clock.advance(seconds=2)
    client.get("/api/v1/cases", headers=headers)
    assert last_used() == wgf.now()
