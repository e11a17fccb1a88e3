"""Working-day calendar use cases: deadlines, entering years, provisional recomputes.

Mixed into `Govflow` (engine/cases/govflow.py); the methods use its database, clock,
profile, case store and step.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import delete, insert, select, update

from engine.bpmn.limits import check_working_days
from engine.cases.runtime import record_deadline
from engine.notify.outbox import enqueue
from engine.people.directory import SYSTEM
from engine.store.audit import PendingEvent
from engine.store.schema import calendar_years, human_tasks, outbox, task_candidates, timers
from engine.time.calendar import Deadline, WorkCalendar, YearTable
from engine.time.clock import SHANGHAI, parse_moment

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable

    from sqlalchemy import Connection

    from engine.cases.runtime import CaseStore, LoadedCase
    from engine.rules.profile import JurisdictionProfile
    from engine.store.db import Database


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
        check_working_days(working_days)  # counting is day by day
        if isinstance(received, str):
            received = parse_moment(received)
        return self.calendar.deadline(received, working_days)

    def _deadline_helper(self, working_days: int, start: str | None = None) -> str:
        """`deadline(working_days=N, start=None)` for BPMN timers: the aware ISO moment the
        limit has run out (midnight after the last working day), so a timer never fires
        while the last day still counts."""
        found = self.deadline(start or self.now(), int(working_days))
        record_deadline(found)
        return found.timer_iso()

    def _now_helper(self) -> str:
        """`now()` for BPMN scripts: the current moment as an aware ISO string (Shanghai)."""
        return self.now().astimezone(SHANGHAI).isoformat()

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
            self.warn_years_missing(conn, [next_year])
        return next_year

    def warn_years_missing(self, conn: Connection, years: Iterable[int],
                           case_id: int | None = None) -> None:
        """Tell administrators (outbox) that deadlines reaching `years` are provisional, once
        a day per year however many cases, runs and workers meet the gap."""
        midnight = dt.datetime.combine(self.now().astimezone(SHANGHAI).date(), dt.time(),
                                       SHANGHAI)
        warned = {year for payload in conn.execute(select(outbox.c.payload).where(
            outbox.c.kind == "calendar_year_missing", outbox.c.created_at >= midnight))
            .scalars() for year in (payload or {}).get("years", ())}
        years = sorted(set(years) - warned)
        if not years:
            return
        listed = ", ".join(map(str, years))
        # keyed by day and years: two workers meeting the gap at once queue it once
        enqueue(conn, now=self.now(), case_id=case_id, kind="calendar_year_missing",
                recipient="administrators", channel="in_app",
                key=f"calendar_year_missing:{midnight.date()}:{listed}",
                payload={"years": years, "message":
                         f"The holidays of {listed} are not entered; deadlines that reach them "
                         "are provisional until they are, and no deemed decision is taken on "
                         "them (`govflow calendar add-year FILE`)."})

    def warn_held_timers(self, now: dt.datetime) -> int:
        """Timers due on a provisional date do not fire (a provisional deadline never decides
        a case); tell administrators which years hold them. Returns how many are held."""
        with self.db.read() as conn:
            held = conn.execute(select(timers.c.basis).where(
                timers.c.fire_at <= now, timers.c.provisional.is_(True))).scalars().all()
        if held:
            with self.db.write() as conn:
                self.warn_years_missing(conn, {y for basis in held
                                               for y in (basis or {}).get("uncovered_years", ())})
        return len(held)

    def recompute_provisional_deadlines(self, *, by: str | None = None) -> dict[str, int]:
        """Recompute every open provisional due date and waiting timer on the current calendar.

        Only what moved (its date or its provisional mark) is written and audited: an hourly
        run while the year is still missing writes nothing."""
        actor = by or SYSTEM
        with self.db.read() as conn:
            task_rows = conn.execute(select(human_tasks.c.id, human_tasks.c.due_basis).where(
                human_tasks.c.state == "open", human_tasks.c.due_provisional.is_(True))).all()
            timer_rows = conn.execute(select(timers.c.case_id, timers.c.task_id, timers.c.basis)
                                      .where(timers.c.provisional.is_(True))).all()
        moved_tasks = 0
        for row in task_rows:
            old = Deadline.from_dict(row.due_basis)
            new = self.deadline(old.received, old.working_days)
            if _moved(old, new):
                self._recompute_task_due(row.id, old, new, actor)
                moved_tasks += 1
        by_case: dict[int, dict[str, tuple[Deadline, Deadline]]] = {}
        for row in timer_rows:
            if row.basis is None:
                continue
            old = Deadline.from_dict(row.basis)
            new = self.deadline(old.received, old.working_days)
            if _moved(old, new):
                by_case.setdefault(row.case_id, {})[row.task_id] = (old, new)
        for case_id, moved in sorted(by_case.items()):
            self._recompute_case_timers(case_id, moved, actor)
        return {"tasks": moved_tasks, "timers": sum(map(len, by_case.values()))}

    def _recompute_task_due(self, task_id: str, old: Deadline, new: Deadline,
                            actor: str) -> None:
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

    def _recompute_case_timers(self, case_id: int, moved: dict[str, tuple[Deadline, Deadline]],
                               actor: str) -> None:
        with self.db.write() as conn:
            case = self.store.load(conn, case_id, self.definitions)
            moved = {k: v for k, v in moved.items() if k in case.timers}  # still waiting
            if not moved:
                self.store.put_back(case)
                return

            def move(workflow: BpmnWorkflow) -> None:
                for task_id, (old, new) in moved.items():
                    record_deadline(new)
                    task = workflow.get_task_from_id(UUID(task_id))
                    task._set_internal_data(event_value=new.timer_iso())
                    case.events.append(PendingEvent(
                        self.now(), actor, "deadline_recomputed", task_id,
                        task.task_spec.name, details={"was": old.iso(), "now": new.iso(),
                                                      "provisional": new.provisional}))

            self._step(conn, case, move, actor=actor)
        self.store.put_back(case)


def _moved(old: Deadline, new: Deadline) -> bool:
    return (new.due, new.provisional) != (old.due, old.provisional)
