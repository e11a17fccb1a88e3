"""The case page: status, diagram with the path taken, timers and why their dates."""

from __future__ import annotations

from tests.web.conftest import AuthActions, start_share


def test_the_case_page_shows_status_tasks_timers_and_the_audit_trail(client, auth, wgf) -> None:
    case = start_share(wgf)
    auth.login("alice")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"GF{case.id:06d}" in html and "办理中" in html
    assert "审核共享申请" in html and "答复期限届满" in html            # task and S5 timer
    assert "2026-12-04 23:59:59" in html                  # the S5 timer
    assert "自 2026-11-20 收到之日起 10 个工作日内" in html   # the calendar's explanation
    assert "收到申请" in html


def test_the_diagram_data_marks_the_completed_path_and_the_waiting_task(
        client, auth, wgf) -> None:
    case = start_share(wgf)
    auth.login("alice")
    found = client.get(f"/cases/{case.id}/diagram.json").get_json()
    assert "<bpmn:definitions" in found["xml"]
    assert found["active"] == ["UserTask_provider_review"]   # the watching timer is no position
    assert {"StartEvent_received", "Gateway_share_class", "Flow_conditional"} <= set(
        found["completed"])
    assert "ScriptTask_grant_at_once" not in found["completed"]
    wgf.complete_task(case.tasks[0].id, "alice", {"decision": "approve"})
    found = client.get(f"/cases/{case.id}/diagram.json").get_json()
    assert found["active"] == []
    assert {"UserTask_provider_review", "ScriptTask_record_answer", "EndEvent_closed"} <= set(
        found["completed"])
    assert "ScriptTask_deemed_approved" not in found["completed"]


def test_the_bpmn_viewer_is_served_by_govflow_or_the_page_says_how_to_install_it(
        wgf, tmp_path, auth) -> None:
    from tests.web.conftest import make_app
    case = start_share(wgf)
    app = make_app(wgf, tmp_path)
    client = app.test_client()
    AuthActions(client).login("alice")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    if 'id="diagram"' in html:   # `npm ci` was run
        with client.get("/assets/bpmn-js/bpmn-viewer.js") as script:
            assert script.status_code == 200 and b"BpmnJS" in script.data
        assert "/assets/bpmn-js/bpmn-viewer.js" in html
    missing = make_app(wgf, tmp_path, BPMN_JS_DIR=str(tmp_path / "nowhere")).test_client()
    AuthActions(missing).login("alice")
    html = missing.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "npm ci" in html and 'id="diagram"' not in html
    assert missing.get("/assets/bpmn-js/bpmn-viewer.js").status_code == 404


def test_the_case_list_shows_only_cases_in_scope_and_filters(client, auth, wgf) -> None:
    mine = start_share(wgf, requester_name="民政厅 Social Aid")
    other = start_share(wgf, provider_dept="dept_civil", requester_dept="dept_public_security")
    auth.login("alice")
    html = client.get("/cases").get_data(as_text=True)
    assert f"GF{mine.id:06d}" in html and f"GF{other.id:06d}" not in html
    assert "共 1 件" in client.get(f"/cases?q=GF{mine.id:06d}").get_data(as_text=True)
    assert "共 1 件" in client.get("/cases?q=social aid").get_data(as_text=True)  # any case
    assert "共 0 件" in client.get("/cases?status=completed").get_data(as_text=True)
