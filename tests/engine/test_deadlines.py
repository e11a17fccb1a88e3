"""Working-day deadlines as the engine applies them to tasks and timers (S3, S5)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.cases.govflow import Govflow
from engine.rules.profile import load_profile
from engine.store.schema import outbox
from engine.time.calendar import YearTable
from engine.time.clock import SHANGHAI

CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名"]}


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def runs_out(y: int, m: int, d: int) -> dt.datetime:
    """Timers act once the last day is over: at midnight after it."""
    return dt.datetime(y, m, d, tzinfo=SHANGHAI) + dt.timedelta(days=1)


def hubei(gf: Govflow, clock) -> Govflow:
    """S5 decides by silence only where the profile says so: Hubei (HB 20)."""
    return Govflow(gf.db, clock=clock, verify_state=True, profile=load_profile("hubei"))


def test_S3_answer_due_counts_the_spring_festival_and_its_make_up_saturdays(gf, clock) -> None:
    clock.set(dt.datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    assert case.tasks[0].due_at == end_of(2026, 3, 5)
    assert case.timers[0].fire_at == runs_out(2026, 3, 5)
    assert case.tasks[0].due_provisional is False


def test_S3_answer_due_skips_national_day(gf: Govflow, clock) -> None:
    clock.set(dt.datetime(2026, 9, 28, 16, 0, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    assert case.tasks[0].due_at == end_of(2026, 10, 16)
    why = gf.deadline(case.data["received_at"], 10).explain("en")
    assert any("National Day" in line for line in why)
    assert any("2026-10-10" in line and "make-up" in line for line in why)


def test_a_request_received_on_a_holiday_counts_from_the_next_working_day(gf, clock) -> None:
    clock.set(dt.datetime(2026, 10, 2, 11, 0, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    # Holidays run to 10-07; 10-08, 10-09 and the make-up Saturday 10-10 count first.
    assert case.tasks[0].due_at == end_of(2026, 10, 20)


def test_S5_silence_until_the_deadline_is_deemed_approval_by_the_system(gf, clock) -> None:
    gf = hubei(gf, clock)
    clock.set(dt.datetime(2026, 9, 28, 16, 0, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    clock.set(end_of(2026, 10, 16) - dt.timedelta(seconds=1))
    assert gf.fire_due_timers().fired == ()
    clock.set(end_of(2026, 10, 16) + dt.timedelta(seconds=1))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    done = gf.get_case(case.id)
    assert done.status == "completed"
    assert (done.data["outcome"], done.data["decided_by"], done.data["decision_rule"]) == (
        "granted", "system", "S5")
    fired = [e for e in done.events if e.action == "timer_fired"][0]
    assert fired.actor == "system" and fired.rule == "S5" and "HB 20" in fired.details["authority"]
    assert fired.details["changes"]["outcome"] == [None, "granted"]
    assert done.tasks[0].state == "cancelled"
    assert done.sla is None  # S5 decides by silence: an outcome, not a breach
    assert gf.fire_due_timers().fired == ()


def test_firing_is_idempotent_and_loads_only_cases_with_due_timers(gf, clock) -> None:
    due = gf.start_case("share_request", CONDITIONAL)
    clock.advance(days=20)
    later = gf.start_case("share_request", CONDITIONAL)
    first = gf.fire_due_timers()
    assert [c for c, _ in first.fired] == [due.id]
    assert gf.fire_due_timers().fired == ()
    assert gf.get_case(later.id).status == "running"


def test_an_uncovered_year_gives_a_provisional_deadline_and_warns_administrators(gf, clock):
    clock.set(dt.datetime(2026, 12, 28, 9, 30, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    task, timer = case.tasks[0], case.timers[0]
    # Weekends only in 2027 until the year is entered: 12-29..12-31, 01-01, 01-04..01-08, 01-11.
    assert task.due_at == end_of(2027, 1, 11) and task.due_provisional
    assert timer.fire_at == runs_out(2027, 1, 11) and timer.provisional
    with gf.db.read() as conn:
        warning = conn.execute(select(outbox.c.kind, outbox.c.recipient, outbox.c.payload)
                               .where(outbox.c.kind == "calendar_year_missing")).one()
    assert warning.kind == "calendar_year_missing" and warning.recipient == "administrators"
    assert warning.payload["years"] == [2027]


def test_entering_the_year_recomputes_pending_provisional_deadlines_and_timers(gf, clock):
    gf = hubei(gf, clock)
    clock.set(dt.datetime(2026, 12, 28, 9, 30, tzinfo=SHANGHAI))
    case = gf.start_case("share_request", CONDITIONAL)
    report = gf.add_calendar_year(YearTable.from_dict({
        "year": 2027,
        "holidays": {"2027-01-01": "元旦 New Year's Day"},
        "workdays": {},
    }), by="root")
    assert report == {"tasks": 1, "timers": 1}
    again = gf.get_case(case.id)
    assert again.tasks[0].due_at == end_of(2027, 1, 12) and not again.tasks[0].due_provisional
    assert again.timers[0].fire_at == runs_out(2027, 1, 12) and not again.timers[0].provisional
    assert [e.action for e in again.events].count("deadline_recomputed") == 2
    clock.set(end_of(2027, 1, 11) + dt.timedelta(minutes=1))
    assert gf.fire_due_timers().fired == ()
    clock.set(end_of(2027, 1, 12) + dt.timedelta(minutes=1))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    assert gf.get_case(case.id).data["outcome"] == "granted"


def test_administrators_are_warned_once_a_day_while_next_year_is_missing(gf, clock) -> None:
    clock.set(dt.datetime(2026, 10, 1, 9, 0, tzinfo=SHANGHAI))
    assert gf.check_calendar_coverage() is None  # more than 60 days before New Year
    clock.set(dt.datetime(2026, 11, 21, 9, 0, tzinfo=SHANGHAI))
    assert gf.check_calendar_coverage() == 2027
    assert gf.check_calendar_coverage() == 2027
    with gf.db.read() as conn:
        warnings = conn.execute(select(outbox.c.payload)).all()
    assert [w.payload["years"] for w in warnings] == [[2027]]
    gf.add_calendar_year(YearTable.from_dict({"year": 2027, "holidays": {}, "workdays": {}}))
    assert gf.check_calendar_coverage() is None


def test_model_text_names_limits_and_shows_the_jurisdictions_numbers() -> None:
    from engine.rules.profile import fill_limits

    text = "请在收到之日起{share_answer_days}个工作日内答复；{unknown}保持原样"
    assert fill_limits(text, {"share_answer_days": 15}) == (
        "请在收到之日起15个工作日内答复；{unknown}保持原样")
