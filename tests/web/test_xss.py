"""Text typed by people is always escaped: comments, reasons, names, file names, searches."""

from __future__ import annotations

import io

from engine.people import directory
from tests.web.conftest import OBJECTION, start_share

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert ESCAPED in html


def test_user_text_is_escaped_on_every_page_it_reaches(client, auth, wgf) -> None:
    with wgf.db.write() as conn:
        directory.add_user(conn, "amy", PAYLOAD, password=None, groups_=["dept_health"],
                           now=wgf.now())
    case = start_share(wgf, requester_name=PAYLOAD, dataset=PAYLOAD)
    task = case.tasks[0]
    auth.login("alice")
    client.post(f"/cases/{case.id}/comments", data={"body": PAYLOAD})
    client.post(f"/cases/{case.id}/attachments", data={
        "file": (io.BytesIO(b"hello"), PAYLOAD + ".txt")}, content_type="multipart/form-data")
    wgf.claim_task(task.id, "alice")
    client.post(f"/tasks/{task.id}/transfer", data={"to_user": "amy", "reason": PAYLOAD})
    for path in ("/inbox", f"/tasks/{task.id}", f"/cases/{case.id}", "/cases",
                 "/inbox?q=" + PAYLOAD):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert_escaped(client.get(f"/cases/{case.id}").get_data(as_text=True))
    auth.login("amy")
    assert_escaped(client.get("/inbox").get_data(as_text=True))      # the display name


def test_portal_input_is_escaped_when_shown_back(client) -> None:
    html = client.post("/portal/apply/public_probe",
                       data={**OBJECTION, "contact": "x", "requester_name": PAYLOAD}
                       ).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    html = client.post("/portal/track", data={"number": PAYLOAD, "code": "x"}
                       ).get_data(as_text=True)
    assert "<script>alert" not in html


def test_token_names_and_form_errors_are_escaped(client, auth) -> None:
    auth.login("alice")
    assert_escaped(client.post("/account/tokens", data={"name": PAYLOAD}).get_data(as_text=True))


def test_pages_forbid_inline_scripts_as_a_second_line_of_defence(client) -> None:
    policy = client.get("/portal").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(
        "script-src")[1].split(";")[0]
