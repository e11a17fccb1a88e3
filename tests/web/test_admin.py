"""The admin pages: people, the operations console, the calendar and versions, as root."""

from __future__ import annotations

import io
import json

import pytest

from tests.web.conftest import MODELS, start_share

YEAR = {"year": 2027, "holidays": {"2027-01-01": "元旦"}, "workdays": {"2027-02-20": "调休"}}


@pytest.fixture
def root(client, auth):
    auth.login("root")
    return client


def test_every_admin_page_renders_with_the_calendar_warning(root, wgf) -> None:
    start_share(wgf)
    v = wgf.deploy((MODELS / "share_probe.bpmn").read_bytes(), "share_probe.bpmn").version_id
    for path in ("/admin/", "/admin/users", "/admin/users/alice", "/admin/groups",
                 "/admin/calendar", "/admin/calendar?year=2026", "/admin/versions",
                 f"/admin/versions/diff?old={v}&new={v}", "/admin/cases/1", "/admin/modeler",
                 "/admin/modeler/share_probe", "/admin/decisions"):
        page = root.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "2026-12-31" in html and "horizon" in html, path   # fewer than 60 days left
        assert f"适用的辖区规则: 默认规则 ({wgf.profile.name})" in html, path
        assert "Traceback" not in html and "{{" not in html


def test_a_user_is_added_and_deactivated_and_their_session_ends(root, client, auth, wgf) -> None:
    done = root.post("/admin/users", data={"username": "bob", "display_name": "鲍勃",
                                           "password": "correct horse", "groups": ["dept_health"]})
    assert done.status_code == 302
    bad = root.post("/admin/users", data={"username": "Bob!", "display_name": "x",
                                          "password": "correct horse"})
    assert bad.status_code == 400 and "用户名“Bob!”不可用" in bad.get_data(as_text=True)
    auth.login("bob")
    assert client.get("/inbox").status_code == 200
    auth.login("root")
    root.post("/admin/users/bob/active", data={"active": "0"})
    auth.login("bob")
    assert client.get("/inbox").status_code == 302     # signed out at the next request
    with client.session_transaction() as session:
        assert "user" not in session


def test_groups_get_a_supervisor_and_members(root, wgf) -> None:
    root.post("/admin/groups", data={"name": "dept_stats", "title": "统计局",
                                     "kind": "department", "supervisor": "root"})
    root.post("/admin/members", data={"username": "carl", "group": "dept_stats"})
    html = root.get("/admin/groups").get_data(as_text=True)
    assert "统计局" in html and 'value="root" selected' in html
    root.post("/admin/groups/dept_stats", data={"title": "统计局", "supervisor": ""})
    assert 'value="root" selected' not in root.get("/admin/groups").get_data(as_text=True)


def test_a_case_is_suspended_resumed_cancelled_and_a_task_reassigned(root, wgf) -> None:
    case = start_share(wgf)
    task = case.tasks[0].id
    assert root.post(f"/admin/cases/{case.id}/suspend", data={"reason": ""}).status_code == 400
    root.post(f"/admin/cases/{case.id}/suspend", data={"reason": "核实"})
    assert wgf.get_case(case.id).status == "suspended"
    root.post(f"/admin/cases/{case.id}/resume", data={"reason": "好了"})
    root.post(f"/admin/tasks/{task}/reassign", data={"to": "user:dora", "reason": "支援"})
    assert wgf.get_task(task).assignee == "dora"
    html = root.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    assert "支援" in html and "task_reassigned" not in html
    root.post(f"/admin/cases/{case.id}/cancel", data={"reason": "撤回"})
    assert wgf.get_case(case.id).status == "cancelled"
    for page in (root.get("/cases"), root.get(f"/cases/{case.id}")):
        html = page.get_data(as_text=True)
        assert "已撤销" in html and ">cancelled<" not in html


def test_a_year_is_previewed_then_entered(root, wgf, clock) -> None:
    clock.set("2026-12-20T09:00:00+08:00")
    case = start_share(wgf)
    assert case.tasks[0].due_provisional
    text = json.dumps(YEAR, ensure_ascii=False)
    preview = root.post("/admin/calendar", data={"table": text, "action": "preview"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "GF%06d" % case.id in html and "2027" in html
    assert wgf.get_task(case.tasks[0].id).due_provisional
    bad = root.post("/admin/calendar", data={"table": "{\"year\": 2027}", "action": "enter"})
    assert bad.status_code == 400
    root.post("/admin/calendar", data={"file": (io.BytesIO(text.encode()), "2027.json"),
                                       "action": "enter"}, content_type="multipart/form-data")
    assert not wgf.get_task(case.tasks[0].id).due_provisional
    year = root.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "元旦" in year and "调休" in year and "root" in year


def test_versions_are_listed_compared_deployed_and_rolled_back(root, wgf) -> None:
    original = (MODELS / "share_probe.bpmn").read_bytes()
    changed = original.replace(b'limits[&quot;share_answer_days&quot;]', b'15', 1)
    assert changed != original
    first = root.post("/admin/versions/deploy", data={
        "file": (io.BytesIO(changed), "share_probe.bpmn")}, content_type="multipart/form-data")
    assert first.status_code == 302
    rows = root.application.extensions["versions"].of("share_probe")
    assert [r.version for r in rows] == [2, 1] and rows[0].deployed_by == "root"
    diff = root.get(f"/admin/versions/diff?old={rows[1].id}&new={rows[0].id}")
    assert "share_answer_days&#34;]</del>" in diff.get_data(as_text=True)
    assert "<ins>15</ins>" in diff.get_data(as_text=True)
    broken = root.post("/admin/versions/deploy", data={
        "file": (io.BytesIO(b"<not bpmn"), "x.bpmn")}, content_type="multipart/form-data")
    assert broken.status_code == 400
    root.post(f"/admin/versions/{rows[1].id}/rollback")
    rows = root.application.extensions["versions"].of("share_probe")
    assert rows[0].version == 3
    assert root.get(f"/admin/versions/{rows[0].id}.bpmn").data == \
        root.get(f"/admin/versions/{rows[2].id}.bpmn").data


def test_cases_are_moved_to_a_newer_version_after_a_dry_run(root, wgf) -> None:
    case = start_share(wgf)
    original = (MODELS / "share_probe.bpmn").read_bytes()
    wgf.deploy(original.replace(b'limits[&quot;share_answer_days&quot;]', b'15', 1),
               "share_probe.bpmn")
    dry = root.get(f"/admin/versions/{case.version_id}/migrate").get_data(as_text=True)
    assert "GF%06d" % case.id in dry and "dueWorkingDays" in dry
    assert wgf.get_case(case.id).version == 1
    root.post(f"/admin/versions/{case.version_id}/migrate", data={"reason": "新时限"})
    moved = wgf.get_case(case.id)
    assert moved.version == 2 and moved.tasks[-1].due_at == wgf.deadline(wgf.now(), 15).due


def test_the_admin_pages_speak_english_when_asked(root, wgf) -> None:
    with root.session_transaction() as session:
        session["lang"] = "en"
    html = root.get("/admin/").get_data(as_text=True)
    assert "Operations" in html and "Incidents" in html and "运行监控" not in html
    assert "The working-day calendar ends on 2026-12-31, in 41 days" in html
