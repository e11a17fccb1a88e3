"""The calendar as administrators see it: coverage, one year's days off, pending recomputes.

Entering a year is `Govflow.add_calendar_year` (the same as `govflow calendar add-year`);
this module only reads, and previews what entering a year would move.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select

from engine.cases.govflow import Govflow
from engine.errors import CalendarDataError
from engine.store.schema import calendar_years, cases, human_tasks, timers
from engine.time.calendar import DayNote, Deadline, YearTable
from engine.time.clock import SHANGHAI

WARN_DAYS = 60
MAX_YEAR_FILE = 64 * 1024


@dataclass(frozen=True)
class Horizon:
    last_covered: dt.date     # the last day a calendar covers, counting on from today
    days_left: int

    @property
    def warn(self) -> bool:
        return self.days_left < WARN_DAYS


@dataclass(frozen=True)
class YearView:
    year: int
    covered: bool
    source: str                  # chinesecalendar | entered | none
    days: tuple[DayNote, ...]    # holidays and make-up working days, in date order
    entered_at: dt.datetime | None
    entered_by: str | None


@dataclass(frozen=True)
class PendingDeadline:
    case_id: int
    version_id: int
    element_id: str
    kind: str                      # task | timer
    due: dt.datetime
    would_be: dt.datetime | None   # with the previewed year, if given


def horizon(gf: Govflow) -> Horizon:
    today = gf.now().astimezone(SHANGHAI).date()
    year = today.year
    while gf.calendar.covers(dt.date(year + 1, 1, 1)):
        year += 1
    last = dt.date(year, 12, 31)
    return Horizon(last, (last - today).days)


def year_view(gf: Govflow, year: int) -> YearView:
    calendar = gf.calendar
    with gf.db.read() as conn:
        row = conn.execute(select(calendar_years.c.entered_at, calendar_years.c.entered_by)
                           .where(calendar_years.c.year == year)).first()
    start = dt.date(year, 1, 1)
    if not calendar.covers(start):
        return YearView(year, False, "none", (), None, None)
    days = []
    for offset in range((dt.date(year + 1, 1, 1) - start).days):
        note = calendar.describe(start + dt.timedelta(days=offset))
        if note is not None and note.kind != "weekend":
            days.append(note)
    return YearView(year, True, "entered" if row else "chinesecalendar", tuple(days),
                    row.entered_at if row else None, row.entered_by if row else None)


def parse_year(text: str | bytes) -> YearTable:
    """A year file as `govflow calendar add-year` reads it, from an upload or a text box."""
    if len(text) > MAX_YEAR_FILE:
        raise CalendarDataError(f"a year file is at most {MAX_YEAR_FILE // 1024} KB")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalendarDataError(f"the year is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CalendarDataError("the year must be a JSON object with year, holidays, workdays")
    return YearTable.from_dict(data)


def pending(gf: Govflow, preview: YearTable | None = None) -> list[PendingDeadline]:
    """Open provisional due dates and timers, and where `preview` would move them."""
    calendar = gf.calendar.with_year(preview) if preview else None
    with gf.db.read() as conn:
        tasks = conn.execute(select(human_tasks.c.case_id, human_tasks.c.version_id,
                                    human_tasks.c.element_id, human_tasks.c.due_at,
                                    human_tasks.c.due_basis)
                             .where(human_tasks.c.state == "open",
                                    human_tasks.c.due_provisional.is_(True))).all()
        waiting = conn.execute(select(timers.c.case_id, cases.c.version_id,
                                      timers.c.element_id, timers.c.fire_at, timers.c.basis)
                               .join(cases, cases.c.id == timers.c.case_id)
                               .where(timers.c.provisional.is_(True))).all()
    found = []
    for kind, rows in (("task", tasks), ("timer", waiting)):
        for case_id, version_id, element_id, due, basis in rows:
            would = None
            if calendar is not None and basis:
                old = Deadline.from_dict(basis)
                would = calendar.deadline(old.received, old.working_days).due
            found.append(PendingDeadline(case_id, version_id, element_id, kind, due, would))
    return sorted(found, key=lambda p: (p.due, p.case_id))
