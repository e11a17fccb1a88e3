"""How a task stands against its deadline: remaining working days and an SLA state.

Reviewers read one number, "working days left", counted the way the regulations count:
today counts while it is a working day and the task is not yet due; weekends and
statutory holidays never count. The state is one of:

    overdue       the due day is over (its last second, 23:59:59, has passed)
    due_soon      at most DUE_SOON_DAYS working days left (today included)
    on_time       more left than that
    provisional   the date was computed on weekends only for a year nobody entered
    no_deadline   the task has no limit
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .calendar import WorkCalendar
from .errors import CalendarNotCovered
from .models import TaskView

DUE_SOON_DAYS = 2
STATES = ("on_time", "due_soon", "overdue", "provisional", "no_deadline")


@dataclass(frozen=True)
class Sla:
    state: str
    remaining: int | None      # working days left, today included; None without a deadline
    provisional: bool = False  # true also for overdue/due-soon tasks with a provisional date


class SlaClock:
    """Work out SLA states against one calendar and one moment (one per request)."""

    def __init__(self, calendar: WorkCalendar, now: dt.datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.today = now.astimezone(calendar.tz).date()
        # A due moment is the last whole second still counted: due at 23:59:59 is overdue
        # from midnight on, when the timers on the same limit fire too.
        self.last_second = now - dt.timedelta(seconds=1)
        self._remaining: dict[dt.date, int] = {}

    def _works(self, day: dt.date) -> bool:
        try:
            return self.calendar.is_workday(day)
        except CalendarNotCovered:
            return day.weekday() < 5

    def remaining_days(self, due: dt.datetime) -> int:
        """Working days from today to the due day, both included; 0 once overdue."""
        if due <= self.last_second:
            return 0
        due_day = due.astimezone(self.calendar.tz).date()
        known = self._remaining.get(due_day)
        if known is None:
            known, day = 0, self.today
            while day <= due_day:
                known += self._works(day)
                day += dt.timedelta(days=1)
            self._remaining[due_day] = known
        return known

    def of(self, task: TaskView) -> Sla:
        if task.due_at is None:
            return Sla("no_deadline", None)
        left = self.remaining_days(task.due_at)
        if task.due_at <= self.last_second:
            state = "overdue"
        elif task.due_provisional:
            state = "provisional"
        elif left <= DUE_SOON_DAYS:
            state = "due_soon"
        else:
            state = "on_time"
        return Sla(state, left, task.due_provisional)

    def due_soon_until(self) -> dt.datetime:
        """The last moment a due date may have and still count as due soon."""
        day, counted = self.today, 0
        for _ in range(60):
            counted += self._works(day)
            if counted >= DUE_SOON_DAYS:
                break
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, self.calendar.end_of_day, tzinfo=self.calendar.tz)
