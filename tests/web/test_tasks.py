"""The task page: form from JSON Schema, errors by field, files, comments, history."""

from __future__ import annotations

import io

import pytest

from engine.cases import attachments
from engine.errors import AttachmentRejected
from tests.web.conftest import start_share


def test_the_task_page_renders_the_form_instructions_and_case_data(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'type="radio" name="decision" value="approve"' in html and "同意共享" in html
    assert 'name="decision_reason"' in html and "<textarea" in html
    assert "核对用途、数据项和应用场景" in html          # the BPMN documentation
    assert "出生医学证明" in html                       # case data
    assert "为什么是这个日期？" in html and "2026-12-04" in html
    assert "收到申请" in html                           # history


def test_invalid_input_shows_errors_next_to_fields_and_keeps_what_was_typed(
        client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    response = client.post(f"/tasks/{task.id}", data={"decision": "refuse",
                                                      "decision_reason": "不行"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="refuse" checked' in html
    assert ">不行</textarea>" in html
    assert html.count('class="field-error"') == 2      # reason too short, basis missing
    assert "必填" in html
    assert wgf.get_task(task.id).state == "open"


def test_completing_the_form_moves_the_case_on(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    response = client.post(f"/tasks/{task.id}", data={"decision": "approve"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    case = wgf.get_case(task.case_id)
    assert case.status == "completed" and case.data["outcome"] == "granted"
    done = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    alice = client.application.extensions["desk"].user_names()["alice"]
    assert f"{alice} 于 2026-11-20 09:00 办结" in done and 'name="decision"' not in done


def test_attachments_are_checked_stored_outside_the_database_and_downloadable(
        client, auth, wgf, tmp_path) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    pdf = b"%PDF-1.4 test document"
    response = client.post(f"/cases/{task.case_id}/attachments", data={
        "file": (io.BytesIO(pdf), "证明材料.pdf"), "task_id": task.id,
        "next": f"/tasks/{task.id}"}, content_type="multipart/form-data")
    assert response.status_code == 302
    stored = list((tmp_path / "files").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == pdf for p in stored)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "证明材料.pdf" in html
    with client.get("/cases/attachments/1") as download:
        assert download.data == pdf
        assert "attachment" in download.headers["Content-Disposition"]


def test_attachments_of_the_wrong_type_or_content_are_refused(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    for name, content in (("run.exe", b"MZ..."), ("fake.pdf", b"<html>"), ("empty.txt", b"")):
        response = client.post(f"/cases/{task.case_id}/attachments", data={
            "file": (io.BytesIO(content), name), "next": f"/tasks/{task.id}"},
            content_type="multipart/form-data", follow_redirects=True)
        assert "附件" in response.get_data(as_text=True)
        assert 'class="flash error"' in response.get_data(as_text=True)
    assert "暂无附件" in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_attachments_larger_than_the_limits_are_refused(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    with pytest.raises(AttachmentRejected, match="larger than 10 MB"):
        attachments.check("big.pdf", b"%PDF-" + b"0" * attachments.MAX_BYTES)
    client.application.config["MAX_CONTENT_LENGTH"] = 2000   # the request limit, before parsing
    auth.login("alice")
    response = client.post(f"/cases/{task.case_id}/attachments", data={
        "file": (io.BytesIO(b"%PDF-" + b"0" * 4000), "big.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 413


def test_comments_are_added_and_listed(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    auth.login("alice")
    client.post(f"/cases/{task.case_id}/comments",
                data={"body": "请核对数据项", "task_id": task.id, "next": f"/tasks/{task.id}"})
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    alice = client.application.extensions["desk"].user_names()["alice"]
    assert "请核对数据项" in html and f"{alice} · 2026-11-20 09:00" in html


def test_a_task_held_by_a_colleague_is_shown_without_its_form(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("amy")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    alice = client.application.extensions["desk"].user_names()["alice"]
    assert f"该任务已由 {alice} 签收" in html and 'name="decision"' not in html
