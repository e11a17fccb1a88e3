"""Timeliness for supervisors (考核): open work that is late or nearly so, and how closed
work kept its limits, per department and per procedure, in working days.

A department is a candidate group of the task (a task offered to two groups counts
for both). Handling time is counted like a limit: working days after the day the
task opened, up to and including the day it was done; lateness is the working days
after the due day. The data authority and administrators see every group; a group's
supervisor sees the groups they supervise.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select

from engine.errors import CalendarNotCovered, NotAllowed
from engine.people.access import Viewer
from engine.store.schema import audit_events, cases, human_tasks, task_candidates
from engine.time.calendar import WorkCalendar


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date  # exclusive

    @classmethod
    def parse(cls, text: str | None, today: dt.date) -> Period:
        """"2026-11" (month), "2026-Q4" (quarter), "2026" (year); default: this month."""
        text = (text or "").strip() or f"{today:%Y-%m}"
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            if 1 <= month <= 12:
                nxt = dt.date(year + month // 12, month % 12 + 1, 1)
                return cls(text, dt.date(year, month, 1), nxt)
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
            year, quarter = int(m[1]), int(m[2])
            start = dt.date(year, 3 * quarter - 2, 1)
            end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
            return cls(f"{year}-Q{quarter}", start, end)
        if re.fullmatch(r"\d{4}", text):
            return cls(text, dt.date(int(text), 1, 1), dt.date(int(text) + 1, 1, 1))
        raise ValueError(f"period must look like 2026-11, 2026-Q4 or 2026, not {text!r}")


@dataclass
class Row:
    """Figures of one department or procedure."""

    key: str
    completed: int = 0
    on_time: int = 0
    days: list[int] = field(default_factory=list)
    overdue: int = 0
    due_soon: int = 0
    max_late: int = 0
    deemed: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    @property
    def p90_days(self) -> int | None:
        if not self.days:
            return None
        ordered = sorted(self.days)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered) + 0.5) - 1)]


@dataclass(frozen=True)
class LateTask:
    task_id: str
    case_id: int
    title: str
    process_id: str
    groups: tuple[str, ...]
    assignee: str | None
    due_at: dt.datetime
    late_days: int


@dataclass(frozen=True)
class Timeliness:
    period: Period
    by_group: tuple[Row, ...]
    by_process: tuple[Row, ...]
    total: Row
    late: tuple[LateTask, ...]


class WorkingDays:
    """Count working days between two days on one calendar (guessing Mon–Fri where no
    year is entered, as the SLA badges do)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self._works: dict[dt.date, bool] = {}

    def works(self, day: dt.date) -> bool:
        if day not in self._works:
            try:
                self._works[day] = self.calendar.is_workday(day)
            except CalendarNotCovered:
                self._works[day] = day.weekday() < 5
        return self._works[day]

    def after(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d <= end (0 when end is not after start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.works(day)
        return count


def scope_groups(viewer: Viewer) -> frozenset[str] | None:
    """None: every group; otherwise the groups the viewer supervises."""
    if viewer.oversees_all:
        return None
    if not viewer.supervises:
        raise NotAllowed(f"{viewer.username} supervises no group")
    return viewer.supervises


def timeliness(conn: Connection, viewer: Viewer, calendar: WorkCalendar, period: Period,
               now: dt.datetime, due_soon_until: dt.datetime) -> Timeliness:
    groups = scope_groups(viewer)
    tz = calendar.tz
    days = WorkingDays(calendar)
    today = now.astimezone(tz).date()
    start = dt.datetime.combine(period.start, dt.time(), tz)
    end = dt.datetime.combine(period.end, dt.time(), tz)
    by_group: dict[str, Row] = {}
    by_process: dict[str, Row] = {}
    total = Row("total")

    def rows_for(group: str, process: str) -> tuple[Row, Row]:
        return (by_group.setdefault(group, Row(group)),
                by_process.setdefault(process, Row(process)))

    scoped = [] if groups is None else [task_candidates.c.group_name.in_(sorted(groups))]
    closed = conn.execute(
        select(human_tasks.c.id, human_tasks.c.process_id, human_tasks.c.created_at,
               human_tasks.c.completed_at, human_tasks.c.due_at, task_candidates.c.group_name)
        .join(task_candidates, task_candidates.c.task_id == human_tasks.c.id)
        .where(human_tasks.c.state == "completed", human_tasks.c.completed_at >= start,
               human_tasks.c.completed_at < end, human_tasks.c.due_at.is_not(None), *scoped))
    counted: set[str] = set()
    for r in closed:
        done = r.completed_at.astimezone(tz).date()
        took = days.after(r.created_at.astimezone(tz).date(), done)
        in_time = r.completed_at <= r.due_at
        group_row, process_row = rows_for(r.group_name, r.process_id)
        targets = [group_row]
        if r.id not in counted:  # a task of two groups counts once for its procedure
            counted.add(r.id)
            targets += [process_row, total]
        for row in targets:
            row.completed += 1
            row.on_time += in_time
            row.days.append(took)
    late: dict[str, LateTask] = {}
    open_rows = conn.execute(
        select(human_tasks.c.id, human_tasks.c.case_id, human_tasks.c.title,
               human_tasks.c.process_id, human_tasks.c.assignee, human_tasks.c.due_at,
               human_tasks.c.candidate_groups, task_candidates.c.group_name)
        .join(task_candidates, task_candidates.c.task_id == human_tasks.c.id)
        .where(task_candidates.c.is_open.is_(True), task_candidates.c.due_at.is_not(None),
               task_candidates.c.due_at <= due_soon_until, *scoped))
    seen_open: set[str] = set()
    for r in open_rows:
        first = r.id not in seen_open
        seen_open.add(r.id)
        group_row, process_row = rows_for(r.group_name, r.process_id)
        targets = [group_row] + ([process_row, total] if first else [])
        if r.due_at < now:
            lateness = days.after(r.due_at.astimezone(tz).date(), today)
            for row in targets:
                row.overdue += 1
                row.max_late = max(row.max_late, lateness)
            late.setdefault(r.id, LateTask(r.id, r.case_id, r.title, r.process_id,
                                           tuple(r.candidate_groups or ()), r.assignee,
                                           r.due_at, lateness))
        else:
            for row in targets:
                row.due_soon += 1
    _count_deemed(conn, start, end, groups, by_group, by_process, total)
    return Timeliness(period, tuple(sorted(by_group.values(), key=lambda r: r.key)),
                      tuple(sorted(by_process.values(), key=lambda r: r.key)), total,
                      tuple(sorted(late.values(), key=lambda t: (-t.late_days, t.due_at))))


def _count_deemed(conn: Connection, start: dt.datetime, end: dt.datetime,
                  groups: frozenset[str] | None, by_group: dict[str, Row],
                  by_process: dict[str, Row], total: Row) -> None:
    """Approvals by silence (S5): the system decided because the limit ran out."""
    rows = conn.execute(
        select(audit_events.c.details, cases.c.process_id, cases.c.data)
        .join(cases, cases.c.id == audit_events.c.case_id)
        .where(and_(audit_events.c.action == "system_decision", audit_events.c.at >= start,
                    audit_events.c.at < end)))
    for r in rows:
        decision = (r.details or {}).get("decision") or {}
        if "deemed_approved" not in (decision.get("decision"), decision.get("outcome")):
            continue
        dept = (r.data or {}).get("provider_dept")
        if groups is not None and dept not in groups:
            continue
        for row in (by_group.setdefault(dept or "—", Row(dept or "—")),
                    by_process.setdefault(r.process_id, Row(r.process_id)), total):
            row.deemed += 1


CSV_HEADER = ("scope", "name", "completed", "on_time", "on_time_rate", "median_working_days",
              "p90_working_days", "overdue_open", "due_soon_open", "max_lateness_working_days",
              "deemed_approvals")


def table(report: Timeliness, names: dict[str, str]) -> list[tuple[Any, ...]]:
    """The period's figures as rows of CSV_HEADER: per department, per procedure, then the
    total. A rate, median or p90 of nothing is None."""
    def line(scope: str, name: str, row: Row) -> tuple[Any, ...]:
        return (scope, name, row.completed, row.on_time, row.on_time_rate, row.median_days,
                row.p90_days, row.overdue, row.due_soon, row.max_late, row.deemed)

    return ([line("department", names.get(r.key, r.key), r) for r in report.by_group]
            + [line("procedure", names.get(r.key, r.key), r) for r in report.by_process]
            + [line("total", "", report.total)])


def monthly(conn: Connection, viewer: Viewer, calendar: WorkCalendar, year: int,
            now: dt.datetime, due_soon_until: dt.datetime) -> list[tuple[str, Row]]:
    """The year's months, for the annual report's chart."""
    found = []
    for month in range(1, 13):
        period = Period.parse(f"{year}-{month:02d}", now.date())
        if period.start > now.date():
            break
        found.append((period.label, timeliness(conn, viewer, calendar, period, now,
                                               due_soon_until).total))
    return found
