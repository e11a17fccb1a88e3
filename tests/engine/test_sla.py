"""Working days left and overdue, counted as the limit is: the day of receipt never counts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine.cases.models import TaskView
from engine.time.calendar import WorkCalendar
from engine.time.sla import SlaClock

SH = ZoneInfo("Asia/Shanghai")


def task_with_limit(received: datetime, days: int, cal: WorkCalendar) -> TaskView:
    limit = cal.deadline(received, days)
    return TaskView(id="t", case_id=1, process_id="p", version_id=1, element_id="e",
                    title="审查", lane=None, candidate_groups=(), assignee=None,
                    requester=None, form=None, created_at=received, due_at=limit.due,
                    due_provisional=limit.provisional, due_basis=limit.to_dict(),
                    state="open")


def test_a_five_day_limit_shows_five_days_left_on_the_day_of_receipt() -> None:
    cal = WorkCalendar()
    received = datetime(2026, 3, 9, 10, 0, tzinfo=SH)          # a Monday
    task = task_with_limit(received, 5, cal)                   # due Monday 16 March
    assert SlaClock(cal, received).of(task).remaining == 5
    assert SlaClock(cal, datetime(2026, 3, 10, 9, tzinfo=SH)).of(task).remaining == 5
    assert SlaClock(cal, datetime(2026, 3, 13, 9, tzinfo=SH)).of(task).remaining == 2
    assert SlaClock(cal, datetime(2026, 3, 14, 9, tzinfo=SH)).of(task).remaining == 1
    assert SlaClock(cal, datetime(2026, 3, 16, 9, tzinfo=SH)).of(task).remaining == 1


def test_overdue_says_by_how_many_working_days() -> None:
    cal = WorkCalendar()
    task = task_with_limit(datetime(2026, 3, 9, 10, 0, tzinfo=SH), 5, cal)
    late = SlaClock(cal, datetime(2026, 3, 17, 9, tzinfo=SH)).of(task)
    assert (late.state, late.remaining, late.overdue_by) == ("overdue", 0, 1)
    weekend = SlaClock(cal, datetime(2026, 3, 22, 9, tzinfo=SH)).of(task)   # a Sunday
    assert weekend.overdue_by == 4                               # Tue 17 to Fri 20
    assert SlaClock(cal, datetime(2026, 3, 23, 9, tzinfo=SH)).of(task).overdue_by == 5
