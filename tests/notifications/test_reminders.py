"""The SLA ladder (催办) on working days: each rung on its day, once; completion cancels;
a calendar update moves the rungs; manual reminders are checked, audited, rate-limited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.cases.govflow import Govflow
from engine.errors import NotAllowed, ReminderTooSoon
from engine.store.schema import reminders
from engine.time.calendar import YearTable
from engine.time.clock import SHANGHAI
from notifications.render import render
from tests.workflows.conftest import open_task, with_profile

COMPLAINT = {"requester_name": "李四", "contact": "lisi@example.com",
             "handling_dept": "dept_civil", "subject": "办事要求重复提交证明",
             "details": "办理低保时被要求再次提交已共享的出生证明"}
HANDLED = {"finding": "substantiated", "handling_result": "已责令窗口改正并通报",
           "feedback": "经核实属实，已改正，感谢监督"}


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 30, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def rungs(gf: Govflow, task_id: str) -> dict[str, tuple[str, dt.datetime]]:
    with gf.db.read() as conn:
        return {r.rung: (r.state, r.fire_at.astimezone(SHANGHAI)) for r in conn.execute(
            select(reminders).where(reminders.c.task_id == task_id))}


def reminder_messages(gf: Govflow) -> list[tuple[str | None, str]]:
    return sorted((m.rung, m.recipient) for m in gf.outbox_messages()
                  if m.kind == "reminder" and m.channel == "in_app")


def test_each_rung_fires_once_on_its_working_day_across_national_day(gf: Govflow, clock) -> None:
    clock.set(at(2026, 9, 23, 10, 0))  # Wed; five working days skip 中秋 and 国庆
    gf.set_supervisor("dept_civil", "carl")
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    assert task.due_at == at(2026, 10, 8, 23, 59, 59)
    fired: list[tuple[str, dt.date]] = []
    day = dt.date(2026, 9, 24)
    while day <= dt.date(2026, 10, 12):
        for moment in (at(day.year, day.month, day.day),
                       at(day.year, day.month, day.day, 23, 59, 59)):
            clock.set(moment)
            before = {m.id for m in gf.outbox_messages()}
            assert gf.send_due_reminders()["sent"] in (0, 1)
            assert gf.send_due_reminders() == {"sent": 0}  # a second sweep finds nothing
            fired += [(m.rung, day) for m in gf.outbox_messages()
                      if m.id not in before and m.channel == "in_app"]
        day += dt.timedelta(days=1)
    assert sorted(set(fired), key=lambda f: f[1]) == [
        ("due_soon", dt.date(2026, 9, 30)),   # the working day before 8 Oct is 30 Sep
        ("due", dt.date(2026, 10, 8)),        # at the deadline itself
        ("overdue_1", dt.date(2026, 10, 9)),
        ("overdue_2", dt.date(2026, 10, 10)),  # Saturday, a make-up working day
        ("overdue_3", dt.date(2026, 10, 12)),  # Sunday 11 Oct is skipped
    ]
    assert reminder_messages(gf) == [
        ("due", "group:dept_civil"), ("due", "user:carl"), ("due_soon", "group:dept_civil"),
        ("overdue_1", "group:data_authority"), ("overdue_2", "group:data_authority"),
        ("overdue_3", "group:data_authority")]
    assert rungs(gf, task.id)["overdue_4"] == ("pending", at(2026, 10, 13, 9, 0))
    with_days = [m for m in gf.outbox_messages() if m.rung == "overdue_3"][0]
    assert with_days.payload["overdue_days"] == 3


def test_completing_the_task_cancels_its_pending_rungs(gf: Govflow, clock) -> None:
    clock.set(at(2026, 9, 23, 10, 0))
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    clock.set(at(2026, 9, 30, 10, 0))
    assert gf.send_due_reminders() == {"sent": 1}
    gf.complete_task(task.id, "carl", HANDLED)
    assert {k: v[0] for k, v in rungs(gf, task.id).items()} == {
        "due_soon": "sent", "due": "cancelled", "overdue_1": "cancelled"}
    clock.set(at(2026, 10, 20))
    assert gf.send_due_reminders() == {"sent": 0}


def test_entering_a_calendar_year_moves_the_rungs(gf: Govflow, clock) -> None:
    clock.set(at(2026, 12, 28, 10, 0))  # the limit runs into 2027, which nobody entered
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    assert task.due_provisional and task.due_at == at(2027, 1, 4, 23, 59, 59)
    assert rungs(gf, task.id) == {
        "due_soon": ("pending", at(2027, 1, 1, 9, 0)), "due": ("pending", task.due_at),
        "overdue_1": ("pending", at(2027, 1, 5, 9, 0))}
    gf.add_calendar_year(YearTable.from_dict({
        "year": 2027, "holidays": {"2027-01-01": "元旦", "2027-01-04": "元旦"},
        "workdays": {}}), by="root")
    assert rungs(gf, task.id) == {
        "due_soon": ("pending", at(2027, 1, 5, 9, 0)),
        "due": ("pending", at(2027, 1, 6, 23, 59, 59)),
        "overdue_1": ("pending", at(2027, 1, 7, 9, 0))}
    clock.set(at(2027, 1, 1))
    assert gf.send_due_reminders() == {"sent": 0}  # New Year's Day is a holiday now


def test_a_supervisor_reminds_by_hand_with_a_note_once_a_day(gf: Govflow, clock) -> None:
    gf.set_supervisor("dept_civil", "carl")
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    with pytest.raises(NotAllowed):
        gf.urge_task(task.id, "alice", "请尽快办理")  # supervises nothing here
    with pytest.raises(NotAllowed):
        gf.urge_task(task.id, "carl", "  ")
    gf.urge_task(task.id, "carl", "请今天内办结")
    with pytest.raises(ReminderTooSoon):
        gf.urge_task(task.id, "dora", "再次催办")
    clock.advance(hours=24)
    gf.urge_task(task.id, "dora", "数据主管部门督办")  # the data authority oversees all
    urged = [e for e in gf.get_case(case.id).events if e.action == "task_urged"]
    assert [(e.actor, e.details["note"]) for e in urged] == [
        ("carl", "请今天内办结"), ("dora", "数据主管部门督办")]
    assert [(m.rung, m.recipient, m.payload["note"]) for m in gf.outbox_messages()
            if m.kind == "reminder" and m.channel == "in_app"] == [
        ("manual_2", "group:dept_civil", "数据主管部门督办"),
        ("manual_1", "group:dept_civil", "请今天内办结")]


def test_after_a_pause_the_late_rungs_are_not_sent_one_by_one(gf: Govflow, clock) -> None:
    clock.set(at(2026, 9, 23, 10, 0))
    case = gf.start_case("complaint", COMPLAINT)
    task = open_task(case, "UserTask_handle_complaint")
    clock.set(at(2026, 10, 14))  # the scheduler was down since before the deadline
    for _ in range(5):
        gf.send_due_reminders()
    sent = [m for m in gf.outbox_messages() if m.kind == "reminder" and m.channel == "in_app"]
    assert sorted(m.rung for m in sent) == ["due", "due_soon", "overdue_1"]
    late = next(m for m in sent if m.rung == "overdue_1")
    assert late.payload["overdue_days"] == 5  # 9, 10 (make-up), 12, 13, 14 October
    assert rungs(gf, task.id)["overdue_6"] == ("pending", at(2026, 10, 15, 9, 0))


def test_the_profile_sets_the_ladder_per_process_and_task_and_defaults_when_absent() -> None:
    from engine.notify.reminders import DEFAULT_LADDER
    from engine.rules.profile import JurisdictionProfile

    assert JurisdictionProfile.from_dict({}).reminders.ladder == DEFAULT_LADDER
    settings = JurisdictionProfile.from_dict({"reminders": {
        "ladder": [{"rung": "due", "day": 0, "to": ["assignee_or_candidates"]}],
        "process": {"objection": {"ladder": [
            {"rung": "due_soon", "day": -2, "to": ["supervisor"]}]}},
        "task": {"complaint.UserTask_handle_complaint": {"ladder": []}},
        "manual_interval_hours": 4}}).reminders
    assert [r.name for r in settings.ladder_for("share_request", "X")] == ["due"]
    assert [(r.name, r.day, r.to) for r in settings.ladder_for("objection", "X")] == [
        ("due_soon", -2, ("supervisor",))]
    assert settings.ladder_for("complaint", "UserTask_handle_complaint") == ()
    assert settings.manual_interval == dt.timedelta(hours=4)
    with pytest.raises(Exception, match="reminders"):
        JurisdictionProfile.from_dict({"reminders": {"ladder": [{"rung": "x", "to": ["boss"]}]}})


def test_a_deemed_approval_tells_the_requesting_department(gf: Govflow, clock) -> None:
    gf = with_profile(gf, clock, "hubei")  # S5: only Hubei deems silence an approval
    case = gf.start_case("share_request", {"dataset_id": "HEALTH-BIRTH",
                                           "data_items": ["姓名"],
                                           "requester_dept": "dept_civil"})
    clock.set(at(2026, 12, 5))
    gf.fire_due_timers()
    assert gf.get_case(case.id).data["decision"] == "deemed_approved"
    [notice] = [m for m in gf.outbox_messages(case_id=case.id) if m.kind == "party_outcome"]
    assert notice.recipient == "group:dept_civil" and notice.channel == "in_app"
    assert notice.payload["result"]["outcome"] == "granted"
    assert "逾期未答复，视为同意" in render("party_outcome", "zh", notice.payload)[1]
