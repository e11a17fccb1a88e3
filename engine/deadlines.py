"""Working-day calendar use cases: deadlines, entering years, provisional recomputes.

Mixed into `Govflow` (engine/services.py); the methods use its database, clock,
profile, case store and step.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import delete, insert, select, update

from .audit import PendingEvent
from .calendar import Deadline, WorkCalendar, YearTable
from .clock import SHANGHAI, parse_moment
from .directory import SYSTEM
from .runtime import record_deadline
from .schema import calendar_years, human_tasks, outbox, task_candidates, timers

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from sqlalchemy import Connection

    from .db import Database
    from .profile import JurisdictionProfile
    from .runtime import CaseStore, LoadedCase


class CalendarUseCases:
    """What Govflow provides that these use cases rely on is declared here."""

    if TYPE_CHECKING:
        db: Database
        profile: JurisdictionProfile
        store: CaseStore
        definitions: Any
        _calendar: WorkCalendar | None
        _calendar_loaded: float
        _calendar_lock: threading.Lock

        def now(self) -> dt.datetime: ...
        def _step(self, conn: Connection, case: LoadedCase,
                  move: Callable[[BpmnWorkflow], None], *, actor: str) -> None: ...
        def _open_task(self, conn: Connection, task_id: str) -> Any: ...
        def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None: ...
        def _move_rungs(self, conn: Connection, task_id: str) -> None: ...

    @property
    def calendar(self) -> WorkCalendar:
        """The working-day calendar, reloaded a minute after the last load so that a year
        entered through another process is picked up by every worker."""
        if self._calendar is None or time.monotonic() - self._calendar_loaded > 60:
            with self._calendar_lock, self.db.read() as conn:
                years = [YearTable.from_dict(row.table)
                         for row in conn.execute(select(calendar_years.c.table))]
                self._calendar = WorkCalendar(years, tz=self.profile.timezone,
                                              end_of_day=self.profile.end_of_day)
                self._calendar_loaded = time.monotonic()
        return self._calendar

    def deadline(self, received: dt.datetime | dt.date | str,
                 working_days: int) -> Deadline:
        """The end of the Nth working day after the day of `received`."""
        if isinstance(received, str):
            received = parse_moment(received)
        return self.calendar.deadline(received, working_days)

    def _deadline_helper(self, working_days: int, start: str | None = None) -> str:
        """`deadline(working_days=N, start=None)` for BPMN timers: an aware ISO string."""
        found = self.deadline(start or self.now(), int(working_days))
        record_deadline(found)
        return found.iso()

    def add_calendar_year(self, table: YearTable, *,
                          by: str | None = None) -> dict[str, int]:
        """Enter a year's holidays and make-up days, then recompute provisional deadlines."""
        with self.db.write() as conn:
            conn.execute(delete(calendar_years).where(calendar_years.c.year == table.year))
            conn.execute(insert(calendar_years).values(
                year=table.year, table=table.to_dict(), entered_at=self.now(), entered_by=by))
        self._calendar = None
        return self.recompute_provisional_deadlines(by=by)

    def check_calendar_coverage(self, *, warn_days: int = 60) -> int | None:
        """Warn administrators, once a day, when next year's holidays are not entered yet.

        The State Council publishes each year's schedule late in the year before; from
        `warn_days` before New Year on, every limit that runs into the new year would be
        provisional. Returns the uncovered year warned about, if any."""
        today = self.now().astimezone(SHANGHAI).date()
        next_year = today.year + 1
        if (dt.date(next_year, 1, 1) - today).days > warn_days:
            return None
        if self.calendar.covers(dt.date(next_year, 1, 1)):
            return None
        with self.db.write() as conn:
            already = conn.execute(select(outbox.c.id).where(
                outbox.c.kind == "calendar_year_missing", outbox.c.case_id.is_(None),
                outbox.c.created_at >= dt.datetime.combine(today, dt.time(), SHANGHAI)),
            ).first()
            if already is None:
                self.warn_years_missing(conn, [next_year])
        return next_year

    def warn_years_missing(self, conn: Connection, years: list[int],
                           case_id: int | None = None) -> None:
        """Tell administrators (outbox) that deadlines reaching `years` are provisional."""
        listed = ", ".join(map(str, years))
        conn.execute(insert(outbox).values(
            created_at=self.now(), case_id=case_id, kind="calendar_year_missing",
            recipient="administrators", channel="in_app",
            payload={"years": years, "message":
                     f"The holidays of {listed} are not entered; deadlines that reach them are "
                     "provisional until they are (`govflow calendar add-year FILE`)."}))

    def recompute_provisional_deadlines(self, *, by: str | None = None) -> dict[str, int]:
        """Recompute every open provisional due date and waiting timer on the current calendar."""
        actor = by or SYSTEM
        with self.db.read() as conn:
            task_rows = conn.execute(select(human_tasks.c.id, human_tasks.c.due_basis).where(
                human_tasks.c.state == "open", human_tasks.c.due_provisional.is_(True))).all()
            timer_cases = sorted(set(conn.execute(
                select(timers.c.case_id).where(timers.c.provisional.is_(True))).scalars()))
        for row in task_rows:
            self._recompute_task_due(row.id, Deadline.from_dict(row.due_basis), actor)
        moved_timers = sum(self._recompute_case_timers(case_id, actor) for case_id in timer_cases)
        return {"tasks": len(task_rows), "timers": moved_timers}

    def _recompute_task_due(self, task_id: str, old: Deadline, actor: str) -> None:
        new = self.deadline(old.received, old.working_days)
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            conn.execute(update(human_tasks).where(human_tasks.c.id == task_id).values(
                due_at=new.due, due_provisional=new.provisional, due_basis=new.to_dict()))
            conn.execute(update(task_candidates).where(task_candidates.c.task_id == task_id)
                         .values(due_at=new.due))
            self._append_event(conn, task.case_id, PendingEvent(
                self.now(), actor, "deadline_recomputed", task_id, task.element_id,
                details={"was": old.iso(), "now": new.iso(), "provisional": new.provisional}))
            self._move_rungs(conn, task_id)

    def _recompute_case_timers(self, case_id: int, actor: str) -> int:
        with self.db.write() as conn:
            provisional = {r.task_id: Deadline.from_dict(r.basis) for r in conn.execute(
                select(timers.c.task_id, timers.c.basis).where(
                    timers.c.case_id == case_id, timers.c.provisional.is_(True)))}
            case = self.store.load(conn, case_id, self.definitions)
            def move(workflow: BpmnWorkflow) -> None:
                for task_id, old in provisional.items():
                    new = self.deadline(old.received, old.working_days)
                    record_deadline(new)
                    task = workflow.get_task_from_id(UUID(task_id))
                    task._set_internal_data(event_value=new.iso())
                    case.events.append(PendingEvent(
                        self.now(), actor, "deadline_recomputed", task_id,
                        task.task_spec.name, details={"was": old.iso(), "now": new.iso(),
                                                      "provisional": new.provisional}))

            self._step(conn, case, move, actor=actor)
        self.store.put_back(case)
        return len(provisional)
