"""Working-day deadlines: expected dates worked out by hand from the State Council schedules.

2026 (as chinesecalendar 1.11 encodes it): New Year 01-01..03 (make-up Sun 01-04);
Spring Festival 02-15..23 (make-up Sat 02-14, Sat 02-28); Mid-autumn 09-25..27;
National Day 10-01..07 (make-up Sun 09-20, Sat 10-10).
2025: National Day + Mid-autumn 10-01..08 (make-up Sun 09-28, Sat 10-11).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine.errors import CalendarDataError, CalendarNotCovered
from engine.time.calendar import (
    DayNote,
    Deadline,
    WorkCalendar,
    YearTable,
    load_year_file,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def table_2027() -> YearTable:
    """A plausible 2027 schedule, as an administrator would enter it."""
    holidays = {date(2027, 1, d): "元旦 New Year's Day" for d in (1, 2, 3)}
    holidays |= {date(2027, 2, d): "春节 Spring Festival" for d in range(6, 15)}
    return YearTable(2027, holidays, {date(2027, 2, 20): "春节 Spring Festival"})


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# --- plain weeks -------------------------------------------------------------------------

def test_five_working_days_from_a_monday_end_on_the_next_monday(cal):
    d = cal.deadline(date(2026, 3, 9), 5)
    assert d.due == eod(2026, 3, 16)
    assert d.counted == (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12),
                         date(2026, 3, 13), date(2026, 3, 16))
    assert [(n.day, n.kind) for n in d.notes] == [(date(2026, 3, 14), "weekend"),
                                                  (date(2026, 3, 15), "weekend")]
    assert not d.provisional and d.uncovered_years == ()


def test_one_working_day_from_a_friday_ends_on_monday(cal):
    assert cal.deadline(datetime(2026, 3, 13, 16, 0), 1).due == eod(2026, 3, 16)


def test_the_receipt_day_is_never_counted_even_when_it_is_a_working_day(cal):
    d = cal.deadline(datetime(2026, 3, 10, 8, 0), 1)
    assert cal.is_workday(date(2026, 3, 10))
    assert d.counted == (date(2026, 3, 11),)
    assert d.due == eod(2026, 3, 11)


# --- holidays and make-up days -------------------------------------------------------------

def test_spring_festival_2026_is_skipped_and_its_make_up_saturday_counts(cal):
    d = cal.deadline(date(2026, 2, 12), 5)
    assert d.counted == (date(2026, 2, 13), date(2026, 2, 14), date(2026, 2, 24),
                         date(2026, 2, 25), date(2026, 2, 26))
    assert d.due == eod(2026, 2, 26)
    assert d.notes[0] == DayNote(date(2026, 2, 14), "makeup_workday", "春节 Spring Festival")
    assert [n.day for n in d.notes if n.kind == "holiday"] == [
        date(2026, 2, 15) + timedelta(days=i) for i in range(9)]


def test_ten_days_across_spring_festival_count_both_make_up_saturdays(cal):
    d = cal.deadline(date(2026, 2, 12), 10)
    assert d.due == eod(2026, 3, 4)
    assert date(2026, 2, 28) in d.counted
    assert [n.day for n in d.notes if n.kind == "makeup_workday"] == [
        date(2026, 2, 14), date(2026, 2, 28)]
    assert [n.day for n in d.notes if n.kind == "weekend"] == [date(2026, 3, 1)]


def test_share_request_limit_of_ten_days_from_late_september_2026_skips_both_holidays(cal):
    d = cal.deadline(date(2026, 9, 21), 10)   # S3: answer within 10 working days
    assert d.counted == (date(2026, 9, 22), date(2026, 9, 23), date(2026, 9, 24),
                         date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
                         date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10),
                         date(2026, 10, 12))
    assert d.due == eod(2026, 10, 12)
    assert d.notes[0] == DayNote(date(2026, 9, 25), "holiday", "中秋节 Mid-autumn Festival")


def test_ten_days_from_the_monday_before_national_day_2026_end_on_october_16(cal):
    assert cal.deadline(date(2026, 9, 28), 10).due == eod(2026, 10, 16)


def test_a_make_up_sunday_before_national_day_is_the_first_working_day(cal):
    d = cal.deadline(date(2026, 9, 19), 1)
    assert d.counted == (date(2026, 9, 20),)
    assert d.notes == (DayNote(date(2026, 9, 20), "makeup_workday", "国庆节 National Day"),)


def test_national_day_2025_with_its_make_up_sunday(cal):
    d = cal.deadline(date(2025, 9, 26), 5)
    assert d.counted == (date(2025, 9, 28), date(2025, 9, 29), date(2025, 9, 30),
                         date(2025, 10, 9), date(2025, 10, 10))
    assert d.due == eod(2025, 10, 10)
    assert cal.deadline(date(2025, 9, 26), 6).due == eod(2025, 10, 11)


def test_a_receipt_on_a_holiday_counts_from_the_next_working_day(cal):
    assert cal.deadline(datetime(2026, 10, 2, 10, 0), 1).due == eod(2026, 10, 8)
    d = cal.deadline(datetime(2026, 10, 2, 10, 0), 3)
    assert d.counted == (date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10))
    assert d.notes[0].day == date(2026, 10, 3)   # the receipt day itself is not a note


def test_describe_and_is_workday_agree_with_the_official_schedule(cal):
    assert cal.describe(date(2026, 10, 1)) == DayNote(date(2026, 10, 1), "holiday",
                                                      "国庆节 National Day")
    assert cal.describe(date(2026, 1, 4)).kind == "makeup_workday"
    assert cal.describe(date(2026, 3, 14)) == DayNote(date(2026, 3, 14), "weekend", None)
    assert cal.describe(date(2026, 3, 13)) is None
    assert cal.is_workday(date(2026, 10, 10)) and not cal.is_workday(date(2026, 10, 5))


# --- explanations --------------------------------------------------------------------------

def test_explain_in_chinese_names_the_skipped_holiday_and_the_make_up_day(cal):
    lines = cal.deadline(date(2026, 9, 28), 10).explain("zh")
    assert "2026-10-16 23:59:59" in lines[0]
    assert "2026-10-01 国庆节 National Day，法定节假日，不计入" in lines
    assert any(ln.startswith("2026-10-10") and "调休上班日" in ln and "计入" in ln for ln in lines)


def test_explain_in_english_names_the_skipped_holiday_and_the_make_up_day(cal):
    lines = cal.deadline(date(2026, 9, 28), 10).explain("en")
    assert lines[0] == ("10 working days from receipt on 2026-09-28: "
                        "due 2026-10-16 23:59:59 (Asia/Shanghai)")
    assert "2026-10-01 国庆节 National Day holiday — not counted" in lines
    assert ("2026-10-10 国庆节 National Day make-up working day (Saturday) — counted"
            in lines)
    assert "2026-10-11 Sunday — weekend, not counted" in lines


def test_explain_rejects_an_unknown_language(cal):
    with pytest.raises(ValueError, match="fr"):
        cal.deadline(date(2026, 9, 28), 1).explain("fr")


# --- years nobody has entered --------------------------------------------------------------

def test_is_workday_refuses_to_guess_for_2027(cal):
    with pytest.raises(CalendarNotCovered, match="govflow calendar add-year") as info:
        cal.is_workday(date(2027, 1, 4))
    assert info.value.year == 2027 and "2027" in info.value.message
    assert not cal.covers(date(2027, 1, 4)) and cal.covers(date(2026, 12, 31))
    assert cal.covers(date(2004, 1, 1)) and not cal.covers(date(2003, 12, 31))


def test_a_deadline_running_into_2027_is_provisional_and_skips_weekends_only(cal):
    d = cal.deadline(date(2026, 12, 28), 10)
    assert d.provisional and d.uncovered_years == (2027,)
    assert d.due == eod(2027, 1, 11)
    assert date(2027, 1, 1) in d.counted          # unknown holidays are not guessed
    assert d.notes == tuple(DayNote(date(2027, 1, x), "uncovered_weekend", None)
                            for x in (2, 3, 9, 10))
    assert "系统管理员已收到提醒" in d.explain("zh")[-1]
    assert d.explain("en")[-1].startswith("Provisional: the 2027 holiday schedule")


def test_a_deadline_into_2027_raises_when_provisional_answers_are_not_allowed(cal):
    with pytest.raises(CalendarNotCovered) as info:
        cal.deadline(date(2026, 12, 28), 10, allow_provisional=False)
    assert info.value.year == 2027
    inside = cal.deadline(date(2026, 12, 28), 3, allow_provisional=False)
    assert inside.due == eod(2026, 12, 31) and not inside.provisional


def test_an_entered_2027_table_makes_the_deadline_final_and_moves_it(cal):
    d = cal.with_year(table_2027()).deadline(date(2026, 12, 28), 10)
    assert not d.provisional and d.uncovered_years == ()
    assert d.due == eod(2027, 1, 12)
    assert date(2027, 1, 1) not in d.counted
    assert d.notes[0] == DayNote(date(2027, 1, 1), "holiday", "元旦 New Year's Day")
    assert not cal.covers(date(2027, 1, 1))      # with_year left the original alone


def test_an_entered_2027_table_supplies_holidays_and_make_up_days():
    cal = WorkCalendar([table_2027()])
    assert cal.deadline(date(2027, 2, 4), 3).due == eod(2027, 2, 16)
    assert cal.deadline(date(2027, 2, 19), 1).due == eod(2027, 2, 20)
    assert cal.describe(date(2027, 2, 20)).kind == "makeup_workday"
    with pytest.raises(CalendarNotCovered, match="2028"):
        cal.is_workday(date(2028, 1, 3))


def test_a_year_cannot_be_entered_twice_or_over_chinesecalendar():
    with pytest.raises(CalendarDataError, match="2027"):
        WorkCalendar([table_2027()]).with_year(table_2027())
    with pytest.raises(CalendarDataError, match="chinesecalendar"):
        YearTable(2026, {date(2026, 10, 1): "国庆节"}, {})


# --- time of day and time zones ------------------------------------------------------------

def test_due_is_at_the_configured_end_of_day_in_shanghai():
    d = WorkCalendar(end_of_day=time(17, 30)).deadline(date(2026, 3, 9), 3)
    assert d.due == datetime(2026, 3, 12, 17, 30, tzinfo=SHANGHAI)
    assert d.due.tzinfo == SHANGHAI and d.iso() == "2026-03-12T17:30:00+08:00"


def test_an_aware_utc_receipt_is_dated_by_the_shanghai_calendar(cal):
    aware = cal.deadline(datetime(2026, 9, 30, 20, 0, tzinfo=UTC), 1)
    naive = cal.deadline(datetime(2026, 9, 30, 20, 0), 1)
    assert aware.received == datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    assert aware.notes[0].day == date(2026, 10, 2)    # received on 10-01 in Shanghai
    assert naive.notes[0].day == date(2026, 10, 1)    # received on 09-30 in Shanghai
    assert naive.received == datetime(2026, 9, 30, 20, 0, tzinfo=SHANGHAI)
    assert cal.deadline(datetime(2026, 9, 29, 20, 0, tzinfo=UTC), 1).due == eod(
        2026, 10, 8)
    assert cal.deadline(datetime(2026, 9, 29, 20, 0), 1).due == eod(2026, 9, 30)


def test_a_plain_date_receipt_is_midnight_in_shanghai(cal):
    assert cal.deadline(date(2026, 3, 9), 1).received == datetime(2026, 3, 9, tzinfo=SHANGHAI)


# --- N=0, negative N -----------------------------------------------------------------------

def test_zero_working_days_means_by_the_end_of_the_receipt_day(cal):
    d = cal.deadline(datetime(2026, 10, 2, 14, 0), 0)
    assert d.due == eod(2026, 10, 2) and d.counted == () and d.notes == ()


def test_a_negative_number_of_working_days_is_refused(cal):
    with pytest.raises(ValueError, match="negative"):
        cal.deadline(date(2026, 3, 9), -1)


# --- storing and recomputing ---------------------------------------------------------------

def test_a_deadline_survives_a_round_trip_through_json_and_can_be_recomputed(cal):
    d = cal.deadline(datetime(2026, 12, 28, 9, 30, tzinfo=SHANGHAI), 10)
    stored = json.loads(json.dumps(d.to_dict()))
    assert stored["due"] == "2027-01-11T23:59:59+08:00" and stored["uncovered_years"] == [2027]
    assert Deadline.from_dict(stored) == d
    again = cal.with_year(table_2027()).deadline(
        datetime.fromisoformat(stored["received"]), stored["working_days"])
    assert again.due == eod(2027, 1, 12)


def test_counting_ten_days_uses_the_cache_after_warm_up(cal, monkeypatch):
    cal.deadline(date(2026, 9, 28), 10)

    def boom(day):
        raise AssertionError(f"chinesecalendar called again for {day}")
    monkeypatch.setattr(chinese_calendar, "get_holiday_detail", boom)
    monkeypatch.setattr(chinese_calendar, "is_workday", boom)
    assert cal.deadline(date(2026, 9, 28), 10).due == eod(2026, 10, 16)


# --- year files ----------------------------------------------------------------------------

def test_a_good_year_file_loads_and_round_trips(tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(table_2027().to_dict(), ensure_ascii=False), encoding="utf-8")
    table = load_year_file(path)
    assert table == table_2027()
    assert table.holidays[date(2027, 1, 1)] == "元旦 New Year's Day"
    assert YearTable.from_dict(table.to_dict()) == table


GOOD = {"year": 2027, "holidays": {"2027-01-01": "元旦"}, "workdays": {"2027-02-20": "春节"}}


@pytest.mark.parametrize("text, message", [
    ('{"year": 2027, "holidays": {', "not valid JSON"),
    (json.dumps({**GOOD, "source": "国办发明电"}), "'source' was unexpected"),
    (json.dumps({"year": 2027, "holidays": {}}), "'workdays' is a required property"),
    (json.dumps({**GOOD, "year": "2027"}), "at year"),
    (json.dumps({**GOOD, "holidays": {"2027-1-1": "元旦"}}), "at holidays"),
    (json.dumps({**GOOD, "holidays": {"2027-02-30": "春节"}}), "2027-02-30 is not a real date"),
    (json.dumps({**GOOD, "holidays": {"2028-01-01": "元旦"}}), "2028-01-01 is not in 2027"),
    (json.dumps({**GOOD, "holidays": {"2027-02-20": "春节"}}),
     "both as a holiday and as a make-up working day"),
    (json.dumps({**GOOD, "workdays": {"2027-02-22": "春节"}}), "is a Monday, not a weekend"),
    (json.dumps({**GOOD, "holidays": {"2027-01-01": ""}}), "at holidays/2027-01-01"),
    (json.dumps({**GOOD, "year": 2026, "holidays": {}, "workdays": {}}), "chinesecalendar"),
    ('{"year": 2027, "holidays": {"2027-01-01": "元旦", "2027-01-01": "x"}, "workdays": {}}',
     "2027-01-01 listed more than once"),
])
def test_a_bad_year_file_is_rejected_with_a_clear_message(tmp_path, text, message):
    path = tmp_path / "year.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarDataError, match=message) as info:
        load_year_file(path)
    assert str(path) in info.value.message


def test_a_missing_year_file_is_a_calendar_data_error(tmp_path):
    with pytest.raises(CalendarDataError, match="cannot read"):
        load_year_file(tmp_path / "nope.json")
