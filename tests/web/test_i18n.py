"""Simplified Chinese by default, English on request; times in Asia/Shanghai."""

from __future__ import annotations

from tests.web.conftest import start_share


def test_pages_are_in_chinese_by_default_and_english_on_request(client, auth, wgf) -> None:
    start_share(wgf)
    auth.login("alice")
    chinese = client.get("/inbox").get_data(as_text=True)
    assert "待办" in chinese and 'lang="zh-CN"' in chinese and "正常" in chinese
    response = client.get("/lang/en?next=/inbox")
    assert response.headers["Location"] == "/inbox"
    english = client.get("/inbox").get_data(as_text=True)
    assert 'lang="en"' in english and "Inbox" in english and "On time" in english
    assert "10 working days left" in english
    assert "Share request" in english                     # the English half of the name
    client.get("/lang/zh")
    assert "待办" in client.get("/inbox").get_data(as_text=True)


def test_times_are_shown_in_shanghai_time_whatever_the_stored_zone(client, auth, wgf,
                                                                      clock) -> None:
    clock.set("2026-11-20T23:30:00+08:00")               # 15:30 UTC
    case = start_share(wgf)
    auth.login("alice")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "2026-11-20 23:30" in html and "15:30" not in html


def test_the_language_switch_only_returns_to_this_site(client) -> None:
    assert client.get("/lang/en?next=https://evil.example").headers["Location"] == "/"
