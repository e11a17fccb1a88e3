"""How a task stands against its deadline: remaining working days and an SLA state.

Reviewers read one number, counted the way the regulations count: "working days left"
counts today while it is a working day, except on the day of receipt, which the limit
itself does not count (so a 5-working-day limit shows 5 left on the day it starts);
"working days overdue" counts the working days after the due day up to today (at least
one once the due moment has passed). Weekends and statutory holidays never count.
The state is one of:

    overdue       the due day is over (its last second, 23:59:59, has passed)
    due_soon      at most DUE_SOON_DAYS working days left (today included)
    on_time       more left than that
    provisional   the date was computed on weekends only for a year nobody entered
    no_deadline   the task has no limit
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.cases.models import TaskView
from engine.errors import CalendarNotCovered
from engine.time.calendar import WorkCalendar

DUE_SOON_DAYS = 2
STATES = ("on_time", "due_soon", "overdue", "provisional", "no_deadline")


@dataclass(frozen=True)
class Sla:
    state: str
    remaining: int | None      # working days left, today included; None without a deadline
    provisional: bool = False  # true also for overdue/due-soon tasks with a provisional date
    overdue_by: int | None = None   # working days past the due day, once overdue


class SlaClock:
    """Work out SLA states against one calendar and one moment (one per request)."""

    def __init__(self, calendar: WorkCalendar, now: dt.datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.today = now.astimezone(calendar.tz).date()
        # A due moment is the last whole second still counted: due at 23:59:59 is overdue
        # from midnight on, when the timers on the same limit fire too.
        self.last_second = now - dt.timedelta(seconds=1)
        self._counts: dict[tuple[dt.date, dt.date], int] = {}

    def _works(self, day: dt.date) -> bool:
        try:
            return self.calendar.is_workday(day)
        except CalendarNotCovered:
            return day.weekday() < 5

    def _count(self, first: dt.date, last: dt.date) -> int:
        """Working days from `first` to `last`, both included."""
        known = self._counts.get((first, last))
        if known is None:
            known, day = 0, first
            while day <= last:
                known += self._works(day)
                day += dt.timedelta(days=1)
            self._counts[(first, last)] = known
        return known

    def remaining_days(self, due: dt.datetime, received: dt.datetime | None = None) -> int:
        """Working days from today (or the day after receipt) to the due day; 0 once overdue."""
        if due <= self.last_second:
            return 0
        first = self.today
        if received is not None:
            first = max(first, received.astimezone(self.calendar.tz).date()
                        + dt.timedelta(days=1))
        return self._count(first, due.astimezone(self.calendar.tz).date())

    def overdue_days(self, due: dt.datetime) -> int:
        """Working days after the due day up to today; at least 1 once the moment passed."""
        after = due.astimezone(self.calendar.tz).date() + dt.timedelta(days=1)
        return max(1, self._count(after, self.today))

    def of(self, task: TaskView) -> Sla:
        if task.due_at is None:
            return Sla("no_deadline", None)
        received = task.created_at
        if task.due_basis and task.due_basis.get("received"):
            received = dt.datetime.fromisoformat(task.due_basis["received"])
        left = self.remaining_days(task.due_at, received)
        if task.due_at <= self.last_second:
            return Sla("overdue", 0, task.due_provisional, self.overdue_days(task.due_at))
        if task.due_provisional:
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
