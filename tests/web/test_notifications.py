"""The bell, manual reminders, the outbox page, supervision and the printable letters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl

from engine.notify import outbox
from engine.time.clock import SHANGHAI
from notifications.channels import InAppChannel
from notifications.dispatch import Dispatcher
from tests.web.conftest import start_share
from tests.web.test_portal import submit

REFUSAL = {"decision": "refuse", "decision_reason": "申请数据项超出履职需要",
           "legal_basis": "《湖北省政务数据资源应用与管理办法》第二十条"}


def deliver(wgf) -> None:
    Dispatcher(wgf, {"in_app": InAppChannel(wgf.db)}).dispatch()


def bell(html: str) -> int:
    return int(re.search(r'class="bell-count" data-unread="(\d+)"', html).group(1))


def test_the_bell_counts_a_new_task_for_the_group_and_clears_when_read(client, auth, wgf) -> None:
    auth.login("alice")
    assert bell(client.get("/inbox").get_data(as_text=True)) == 0
    case = start_share(wgf)
    deliver(wgf)
    assert client.get("/notifications/count.json").get_json() == {"unread": 1}
    assert bell(client.get("/inbox").get_data(as_text=True)) == 1
    page = client.get("/notifications").get_data(as_text=True)
    assert f"GF{case.id:06d}" in page and "新任务" in page
    client.post("/notifications/read")
    assert client.get("/notifications/count.json").get_json() == {"unread": 0}
    auth.login("carl")  # another department's user hears nothing of it
    assert client.get("/notifications/count.json").get_json() == {"unread": 1}  # receipt
    assert "新任务" not in client.get("/notifications").get_data(as_text=True)


def test_a_supervisor_reminds_from_the_case_page_once_a_day(client, auth, wgf, clock) -> None:
    case = start_share(wgf)
    task = case.tasks[0]
    auth.login("alice")  # no supervisor: no reminder form, and the action is refused
    assert "/notifications/urge/" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/notifications/urge/{task.id}", data={"note": "快"}).status_code in (
        302, 403)
    assert not [m for m in wgf.outbox_messages() if m.kind == "reminder"]
    auth.login("hank")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/notifications/urge/{task.id}" in page
    client.post(f"/notifications/urge/{task.id}", data={
        "note": "请今天办结", "next": f"/cases/{case.id}"})
    again = client.post(f"/notifications/urge/{task.id}", data={
        "note": "再催", "next": f"/cases/{case.id}"}, follow_redirects=True)
    assert "再次" in again.get_data(as_text=True) or "try again" in again.get_data(as_text=True)
    deliver(wgf)
    auth.login("alice")
    assert "请今天办结" in client.get("/notifications").get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "请今天办结" in page and "黄主任" in page    # hank, by his name


def test_the_timeliness_page_and_csv_count_in_working_days(client, auth, wgf, clock) -> None:
    late = start_share(wgf)
    done = start_share(wgf)
    wgf.complete_task(done.tasks[0].id, "alice", {"decision": "approve"})
    clock.set(dt.datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI))  # due 4 Dec (Fri): 3 days late
    auth.login("alice")
    assert client.get("/supervision").status_code == 404
    auth.login("hank")
    page = client.get("/supervision?period=2026-11").get_data(as_text=True)
    assert "超期 3 个工作日" in page and f"GF{late.id:06d}" in page
    assert client.get("/supervision?period=2026-13").status_code == 400
    answer = client.get("/supervision/timeliness.csv?period=2026-11")
    assert answer.headers["Content-Disposition"].endswith('timeliness-2026-11.csv"')
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    health = next(r for r in rows if r["scope"] == "department")
    assert (health["name"], health["completed"], health["on_time"], health["on_time_rate"],
            health["median_working_days"], health["overdue_open"],
            health["max_lateness_working_days"]) == ("卫生健康委", "1", "1", "1.000", "0",
                                                     "1", "3")
    annual = client.get("/supervision/annual/2026").get_data(as_text=True)
    assert "2026-11" in annual and "print.css" in annual


def test_the_overdue_tab_shows_what_a_supervisor_may_supervise(client, auth, wgf, clock) -> None:
    case = start_share(wgf)
    wgf.claim_task(case.tasks[0].id, "alice")
    clock.set(dt.datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI))
    for user in ("hank", "dora"):  # hank supervises the health department; dora oversees all
        auth.login(user)
        page = client.get("/inbox?view=overdue").get_data(as_text=True)
        assert f"GF{case.id:06d}" in page, user
    auth.login("carl")
    assert f"GF{case.id:06d}" not in client.get("/inbox?view=overdue").get_data(as_text=True)


def test_receipt_and_refusal_letters_print_from_the_case_page(client, auth, wgf) -> None:
    case = start_share(wgf)
    wgf.complete_task(case.tasks[0].id, "alice", REFUSAL)
    auth.login("carl")
    receipt = client.get(f"/cases/{case.id}/letter/receipt").get_data(as_text=True)
    assert "受理回执" in receipt and f"GF{case.id:06d}" in receipt and "print.css" in receipt
    letter = client.get(f"/cases/{case.id}/letter/decision").get_data(as_text=True)
    for text in ("不予共享告知书", "不予同意", "申请数据项超出履职需要", "第二十条", "协调"):
        assert text in letter, text
    client.get("/lang/en")
    english = client.get(f"/cases/{case.id}/letter/decision").get_data(as_text=True)
    assert "Notice of refusal to share" in english and "<strong>Refused</strong>" in english
    assert "不予同意" not in english
    auth.login("lena")
    assert client.get(f"/cases/{case.id}/letter/decision").status_code == 404


def test_the_portal_prints_the_receipt_with_the_tracking_code_only(client) -> None:
    number, code = submit(client)
    page = client.post("/portal/track", data={"number": number, "code": code})
    assert "/portal/letter/receipt" in page.get_data(as_text=True)
    receipt = client.post("/portal/letter/receipt", data={"number": number, "code": code})
    assert "受理回执" in receipt.get_data(as_text=True)
    wrong = client.post("/portal/letter/receipt", data={"number": number, "code": "XXXX"})
    assert wrong.status_code == 404


def test_administrators_see_failed_messages_and_resend_them(client, auth, wgf) -> None:
    with wgf.db.write() as conn:
        outbox.enqueue(conn, now=wgf.now(), kind="reminder", recipient="user:alice",
                       channel="carrier_pigeon", key="k", payload={})
    Dispatcher(wgf, {}, outbox.RetryPolicy(max_attempts=1)).dispatch()
    auth.login("alice")
    assert client.get("/notifications/outbox").status_code == 404
    auth.login("root")
    page = client.get("/notifications/outbox?status=dead").get_data(as_text=True)
    assert "carrier_pigeon" in page and "no channel named" in page
    message = wgf.outbox_messages("dead")[0]
    client.post(f"/notifications/outbox/{message.id}/resend")
    assert wgf.outbox_messages()[0].status == "pending"


def test_the_timeliness_figures_download_as_excel_workbooks(client, auth, wgf, clock) -> None:
    start_share(wgf)
    done = start_share(wgf)
    wgf.complete_task(done.tasks[0].id, "alice", {"decision": "approve"})
    clock.set(dt.datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI))  # due 4 Dec (Fri): 3 days late
    auth.login("hank")
    answer = client.get("/supervision/timeliness.xlsx?period=2026-11")
    assert answer.headers["Content-Disposition"].endswith('timeliness-2026-11.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(answer.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:5] == ["范围", "名称", "已办结", "正常", "按时办结率"]
    health = next(r for r in rows if r[0] == "部门" and r[1] == "卫生健康委")
    assert health[2:8] == [1, 1, 1.0, 0, 0, 1] and health[9] == 3  # numbers, not text
    assert sheet.cell(row=rows.index(health) + 1, column=5).number_format == "0.0%"
    assert rows[-1][0] == "合计"
    client.get("/lang/en")
    report = client.get("/supervision/annual/2026.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(report.get_data()))
    assert book.sheetnames == ["2026", "By month"]
    months = [[cell.value for cell in row] for row in book["By month"].iter_rows()]
    assert months[0][0] == "Month" and [m[0] for m in months[1:]] == [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07",
        "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    assert months[11][1:4] == [1, 1, 1.0]
    auth.login("alice")
    assert client.get("/supervision/timeliness.xlsx").status_code == 404


def test_the_bell_speaks_the_language_the_reader_chose(client, auth, wgf) -> None:
    case = start_share(wgf)
    wgf.complete_task(case.tasks[0].id, "alice", REFUSAL)
    deliver(wgf)  # delivered in Chinese, the language on file for everyone
    assert all("已办结" in n.body for n in wgf.notifications_of("carl")
               if n.kind == "party_outcome")
    auth.login("carl")
    zh = client.get("/notifications").get_data(as_text=True)
    assert "已办结：不予同意" in zh and "理由：申请数据项超出履职需要" in zh
    client.get("/lang/en")
    en = client.get("/notifications").get_data(as_text=True)
    assert "has been decided: Refused" in en and "Reasons: 申请数据项超出履职需要" in en
    assert f"Receipt: GF{case.id:06d}" in en
    assert "已办结" not in en and "不予同意" not in en
    auth.login("alice")
    client.get("/lang/en")
    assert "New task" in client.get("/notifications").get_data(as_text=True)
