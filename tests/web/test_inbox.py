"""The inbox: tabs, columns, SLA badges, filters, search, paging, claims and transfers."""

from __future__ import annotations

import re

from tests.web.conftest import start_share


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="row-[^"]+">.*?</tr>', html, re.S)


def test_the_inbox_shows_what_a_reviewer_needs_at_a_glance(client, auth, wgf) -> None:
    case = start_share(wgf)
    auth.login("alice")
    html = client.get("/inbox").get_data(as_text=True)
    [row] = rows(html)
    assert f"GF{case.id:06d}" in row and "审核共享申请" in row and "民政厅社会救助处" in row
    assert "政务数据共享申请" in row           # process, the reader's half of its name
    assert "2026-11-20" in row                 # received, Shanghai date
    assert "2026-12-04 23:59" in row           # due, Shanghai time
    assert "剩余 10 个工作日" in row      # ten working days; the day of receipt not counted
    assert "badge sla-on_time" in row and "正常" in row
    assert "签收" in row


def test_sla_states_follow_the_working_day_calendar(client, auth, wgf, clock) -> None:
    start_share(wgf)
    auth.login("alice")
    clock.set("2026-12-03T09:00:00+08:00")
    row = rows(client.get("/inbox").get_data(as_text=True))[0]
    assert "sla-due_soon" in row and "2 个工作日" in row
    clock.set("2026-12-05T09:00:00+08:00")
    html = client.get("/inbox").get_data(as_text=True)
    assert "sla-overdue" in rows(html)[0]
    assert "超期 1 个工作日" in rows(html)[0]
    overdue_tab = client.get("/inbox?view=overdue").get_data(as_text=True)
    assert len(rows(overdue_tab)) == 1


def test_a_deadline_in_a_year_without_a_holiday_schedule_is_marked_provisional(
        client, auth, wgf, clock) -> None:
    clock.set("2026-12-28T10:00:00+08:00")
    start_share(wgf)
    auth.login("alice")
    row = rows(client.get("/inbox").get_data(as_text=True))[0]
    assert "sla-provisional" in row and "暂定期限" in row
    page = client.get("/inbox?state=provisional").get_data(as_text=True)
    assert len(rows(page)) == 1


def test_tabs_separate_my_tasks_from_my_groups_unclaimed_ones(client, auth, wgf) -> None:
    first, second = start_share(wgf), start_share(wgf)
    wgf.claim_task(second.tasks[0].id, "alice")
    auth.login("alice")
    mine = client.get("/inbox?view=mine").get_data(as_text=True)
    assert [f"GF{second.id:06d}" in r for r in rows(mine)] == [True]
    groups = client.get("/inbox?view=groups").get_data(as_text=True)
    assert [f"GF{first.id:06d}" in r for r in rows(groups)] == [True]
    everything = client.get("/inbox").get_data(as_text=True)
    assert len(rows(everything)) == 2
    assert re.search(r'我签收的 <span class="count">1</span>', everything)


def test_sorting_filtering_searching_and_paging(client, auth, wgf, clock) -> None:
    early = start_share(wgf, requester_name="早的申请人")
    clock.advance(days=3)
    late = start_share(wgf, requester_name="晚的申请人 Late Ltd")
    auth.login("alice")
    html = client.get("/inbox").get_data(as_text=True)
    assert html.index(f"GF{early.id:06d}") < html.index(f"GF{late.id:06d}")
    by_name = client.get("/inbox", query_string={"q": "晚的"}).get_data(as_text=True)
    assert [f"GF{late.id:06d}" in r for r in rows(by_name)] == [True]
    by_letters = client.get("/inbox", query_string={"q": "late ltd"}).get_data(as_text=True)
    assert [f"GF{late.id:06d}" in r for r in rows(by_letters)] == [True]
    by_number = client.get("/inbox", query_string={"q": f"GF{early.id:06d}"}).get_data(as_text=True)
    assert [f"GF{early.id:06d}" in r for r in rows(by_number)] == [True]
    none = client.get("/inbox", query_string={"process": "public_probe"}).get_data(as_text=True)
    assert rows(none) == []
    client.application.config["INBOX_PER_PAGE"] = 1
    page2 = client.get("/inbox?page=2").get_data(as_text=True)
    assert [f"GF{late.id:06d}" in r for r in rows(page2)] == [True]
    assert "第 2 页，共 2 页" in page2


def test_claim_release_and_bulk_claim(client, auth, wgf) -> None:
    tasks = [start_share(wgf).tasks[0].id for _ in range(3)]
    auth.login("amy")
    client.post(f"/tasks/{tasks[0]}/claim", data={"next": "/inbox"})
    assert wgf.get_task(tasks[0]).assignee == "amy"
    client.post(f"/tasks/{tasks[0]}/unclaim", data={"next": "/inbox"})
    assert wgf.get_task(tasks[0]).assignee is None
    response = client.post("/inbox/claim", data={"task": tasks[1:], "next": "/inbox"})
    assert response.status_code == 302
    assert [wgf.get_task(t).assignee for t in tasks] == [None, "amy", "amy"]
    assert "已签收 2 项任务" in client.get("/inbox").get_data(as_text=True)


def test_claiming_a_task_someone_else_holds_explains_why(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("amy")
    response = client.post(f"/tasks/{task.id}/claim", data={"next": "/inbox"},
                           follow_redirects=True)
    alice = client.application.extensions["desk"].user_names()["alice"]
    assert f"{alice} 已签收该任务" in response.get_data(as_text=True)
    assert wgf.get_task(task.id).assignee == "alice"


def test_transfer_to_a_colleague_in_the_same_group_needs_a_reason(client, auth, wgf) -> None:
    task = start_share(wgf).tasks[0]
    wgf.claim_task(task.id, "alice")
    auth.login("alice")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'value="amy"' in page and 'value="carl"' not in page
    client.post(f"/tasks/{task.id}/transfer", data={"to_user": "amy", "reason": " ",
                                                    "next": f"/tasks/{task.id}"})
    assert wgf.get_task(task.id).assignee == "alice"
    refused = client.post(f"/tasks/{task.id}/transfer",
                          data={"to_user": "carl", "reason": "休假", "next": "/inbox"})
    assert refused.status_code == 302 and wgf.get_task(task.id).assignee == "alice"
    client.post(f"/tasks/{task.id}/transfer", data={"to_user": "amy", "reason": "休假"})
    assert wgf.get_task(task.id).assignee == "amy"
    events = wgf.get_case(task.case_id).events
    assert events[-1].action == "task_transferred" and events[-1].details["reason"] == "休假"


def test_long_queues_are_counted_up_to_a_cap_and_shown_as_more_than(
        client, auth, wgf, monkeypatch) -> None:
    from engine.cases import inbox
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    for _ in range(3):
        start_share(wgf)
    auth.login("alice")
    html = client.get("/inbox").get_data(as_text=True)
    assert "超过 2 项任务" in html and len(rows(html)) == 3
