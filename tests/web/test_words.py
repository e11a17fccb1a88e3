"""Government usage on the staff pages: 签收 / 取消签收, 退回 kept for sending a case back,
办理意见 for the decision and 备注 for notes between colleagues; provisional dates marked."""

from __future__ import annotations

import re

from tests.web.conftest import start_share


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_claim_and_release_use_qianshou_and_quxiao_qianshou(client, auth, wgf) -> None:
    case = start_share(wgf)
    task = case.tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("alice")
    inbox = text_of(client.get("/inbox").get_data(as_text=True))
    page = text_of(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    for shown in (inbox, page):
        assert "取消签收" in shown and "退回" not in shown
    assert "提交办理意见" in page and "备注" in page and "办理意见" not in page.replace(
        "提交办理意见", "")
    client.post(f"/tasks/{task.id}/unclaim")
    history = text_of(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "取消签收" in history and "退回" not in history


def test_a_provisional_due_date_is_marked_zanding_where_it_is_shown(
        client, auth, wgf, clock) -> None:
    clock.set("2026-12-28T10:00:00+08:00")
    case = start_share(wgf)
    auth.login("alice")
    for url in ("/inbox", f"/tasks/{case.tasks[0].id}", f"/cases/{case.id}"):
        html = client.get(url).get_data(as_text=True)
        due = re.search(r"2027-01-\d\d \d\d:\d\d[^<]*<span class=\"badge sla-provisional\"",
                        html)
        assert due, url
    page = text_of(client.get(f"/tasks/{case.tasks[0].id}").get_data(as_text=True))
    assert "govflow" not in page and "add-year" not in page
