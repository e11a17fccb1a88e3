"""The SLA ladder (催办): reminders on working days before and after a task's deadline.

Each open human task with a due date gets rows in `reminders`, one per rung, each with
its fire time counted in working days on the case calendar:

    due_soon    one working day before the due day, at the reminder hour: the assignee,
                or the candidate groups while nobody holds the task
    due         at the deadline itself: the same, and the groups' supervisors
    overdue_N   the Nth working day after the due day: the data authority; the next
                rung is added when one fires, so the ladder goes on while the task is open

The jurisdiction profile's [reminders] section changes the ladder per process or per
task. The sweep reads only `reminders` joined to `human_tasks` through the index on
(state, fire_at); it never loads a workflow. A rung fires by a conditional UPDATE of
its row, in the transaction that writes its outbox messages, so it is sent exactly
once however many schedulers run; on PostgreSQL each sweep skips the rows another
holds (FOR UPDATE SKIP LOCKED). Completing the task cancels its pending rungs; a
recomputed deadline moves them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from engine.errors import CalendarNotCovered, EngineError
from engine.store.rawsql import RawSQL
from engine.store.schema import contacts, group_supervisors, human_tasks, memberships, reminders
from engine.time.calendar import WorkCalendar

RECIPIENT_ROLES = ("assignee_or_candidates", "supervisor", "data_authority")


@dataclass(frozen=True)
class Rung:
    name: str                 # due_soon | due | overdue (or a name the profile gives)
    day: int                  # working days from the due day: -1 before, 0 at the deadline
    to: tuple[str, ...]
    repeat: bool = False      # fire again every further working day (the overdue rung)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rung:
        to = tuple(data.get("to", ("assignee_or_candidates",)))
        bad = [r for r in to if r not in RECIPIENT_ROLES]
        if bad or not isinstance(data.get("day", 0), int) or not data.get("rung"):
            raise EngineError(f"[reminders] rung {data!r}: needs rung = NAME, day = N and "
                              f"to = a list of {', '.join(RECIPIENT_ROLES)}")
        return cls(data["rung"], data.get("day", 0), to, bool(data.get("repeat", False)))


DEFAULT_LADDER = (
    Rung("due_soon", -1, ("assignee_or_candidates",)),
    Rung("due", 0, ("assignee_or_candidates", "supervisor")),
    Rung("overdue", 1, ("data_authority",), repeat=True),
)


@dataclass(frozen=True)
class ReminderSettings:
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    by_process: MappingProxyType[str, tuple[Rung, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    by_task: MappingProxyType[str, tuple[Rung, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    hour: dt.time = dt.time(9, 0)
    data_authority_group: str = "data_authority"
    manual_interval: dt.timedelta = dt.timedelta(hours=24)
    channels: tuple[str, ...] = ("in_app", "email")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderSettings:
        """Read [reminders]; everything absent keeps the default ladder and settings."""
        def ladder(section: dict[str, Any], default: tuple[Rung, ...]) -> tuple[Rung, ...]:
            rungs = section.get("ladder")
            return default if rungs is None else tuple(Rung.from_dict(r) for r in rungs)

        base = ladder(data, DEFAULT_LADDER)
        return cls(
            ladder=base,
            by_process=MappingProxyType({k: ladder(v, base) for k, v in
                                         data.get("process", {}).items()}),
            by_task=MappingProxyType({k: ladder(v, base) for k, v in
                                      data.get("task", {}).items()}),
            hour=dt.time.fromisoformat(data.get("hour", "09:00")),
            data_authority_group=data.get("data_authority_group", "data_authority"),
            manual_interval=dt.timedelta(hours=data.get("manual_interval_hours", 24)),
            channels=tuple(data.get("channels", ("in_app", "email"))))

    def ladder_for(self, process_id: str, element_id: str) -> tuple[Rung, ...]:
        return self.by_task.get(f"{process_id}.{element_id}",
                                self.by_process.get(process_id, self.ladder))


def _works(calendar: WorkCalendar, day: dt.date) -> tuple[bool, bool]:
    """(is a working day, only guessed because no calendar covers it)."""
    try:
        return calendar.is_workday(day), False
    except CalendarNotCovered:
        return day.weekday() < 5, True


def working_day_from(calendar: WorkCalendar, day: dt.date, offset: int) -> tuple[dt.date, bool]:
    """The |offset|-th working day before (offset < 0) or after `day`; and if it is a guess."""
    step = 1 if offset > 0 else -1
    guessed = False
    for _ in range(abs(offset)):
        while True:
            day += dt.timedelta(days=step)
            works, guess = _works(calendar, day)
            guessed |= guess
            if works:
                break
    return day, guessed


def fire_time(calendar: WorkCalendar, settings: ReminderSettings, due: dt.datetime,
              day: int) -> tuple[dt.datetime, bool]:
    """When a rung `day` working days from the due day fires, and whether it is provisional."""
    if day == 0:
        return due, False
    due_day = due.astimezone(calendar.tz).date()
    target, guessed = working_day_from(calendar, due_day, day)
    return dt.datetime.combine(target, settings.hour, tzinfo=calendar.tz), guessed


def rung_rows(calendar: WorkCalendar, settings: ReminderSettings, *, task_id: str,
              case_id: int, process_id: str, element_id: str, due: dt.datetime,
              provisional: bool, opened: dt.datetime) -> list[dict[str, Any]]:
    """The pending rungs of a task; a rung whose time passed before the task opened is skipped."""
    rows = []
    for rung in settings.ladder_for(process_id, element_id):
        at, guessed = fire_time(calendar, settings, due, rung.day)
        if at <= opened:
            continue
        rows.append({"task_id": task_id, "case_id": case_id,
                     "rung": f"{rung.name}_{rung.day}" if rung.repeat else rung.name,
                     "fire_at": at, "provisional": provisional or guessed, "state": "pending"})
    return rows


# Every step schedules and cancels rungs, so these run on the raw cursor.
_SCHEDULE = ("INSERT INTO reminders (task_id, case_id, rung, fire_at, provisional, state)"
             " VALUES (:task_id, :case_id, :rung, :fire_at, :provisional, :state)")
_CANCEL = ("UPDATE reminders SET state = 'cancelled'"
           " WHERE task_id = :task_id AND state = 'pending'")


def schedule(conn: Connection, rows: list[dict[str, Any]]) -> None:
    raw = RawSQL.of(conn)
    raw.run_many(conn, _SCHEDULE, [{**row, "fire_at": raw.when(row["fire_at"]),
                                    "provisional": raw.flag(row["provisional"])}
                                   for row in rows])


def cancel(conn: Connection, task_ids: list[str] | set[str]) -> None:
    """A task that closed needs no more reminders."""
    raw = RawSQL.of(conn)
    for task_id in sorted(task_ids):
        raw.run(conn, _CANCEL, {"task_id": task_id})


def reschedule(conn: Connection, calendar: WorkCalendar, settings: ReminderSettings,
               task: Any, now: dt.datetime) -> None:
    """The task's deadline moved: its pending rungs move with it (sent ones stay sent)."""
    conn.execute(reminders.delete().where(reminders.c.task_id == task.id,
                                          reminders.c.state == "pending"))
    sent = set(conn.execute(select(reminders.c.rung).where(
        reminders.c.task_id == task.id)).scalars())
    rows = rung_rows(calendar, settings, task_id=task.id, case_id=task.case_id,
                     process_id=task.process_id, element_id=task.element_id, due=task.due_at,
                     provisional=task.due_provisional, opened=now)
    schedule(conn, [r for r in rows if r["rung"] not in sent])


# -- the sweep -------------------------------------------------------------------------

@dataclass(frozen=True)
class DueRung:
    id: int
    task_id: str
    case_id: int
    rung: str
    fire_at: dt.datetime
    title: str
    assignee: str | None
    candidate_groups: tuple[str, ...]
    due_at: dt.datetime
    process_id: str
    element_id: str


_DUE = (select(reminders.c.id, reminders.c.task_id, reminders.c.case_id, reminders.c.rung,
               reminders.c.fire_at, human_tasks.c.title, human_tasks.c.assignee,
               human_tasks.c.candidate_groups, human_tasks.c.due_at, human_tasks.c.process_id,
               human_tasks.c.element_id)
        .join(human_tasks, human_tasks.c.id == reminders.c.task_id))


def due_rungs(conn: Connection, now: dt.datetime, limit: int) -> list[DueRung]:
    """Pending rungs whose time has come, oldest first: one range of ix_reminders_due.

    On PostgreSQL the rows are locked for the sweep's transaction and rows another sweep
    holds are skipped (FOR UPDATE SKIP LOCKED), so several schedulers share a backlog
    instead of queueing on one batch; a sweep that dies releases its rows with its
    transaction. SQLite ignores the clause: its write transaction holds the database."""
    rows = conn.execute(_DUE.where(reminders.c.state == "pending", reminders.c.fire_at <= now)
                        .order_by(reminders.c.fire_at).limit(limit)
                        .with_for_update(skip_locked=True, of=reminders))
    return [DueRung(r.id, r.task_id, r.case_id, r.rung, r.fire_at, r.title, r.assignee,
                    tuple(r.candidate_groups or ()), r.due_at, r.process_id, r.element_id)
            for r in rows]


def take(conn: Connection, rung_ids: list[int], now: dt.datetime) -> set[int]:
    """Mark rungs sent; returns those this sweep took (another may have taken some first)."""
    if not rung_ids:
        return set()
    return set(conn.execute(update(reminders).where(
        reminders.c.id.in_(rung_ids), reminders.c.state == "pending")
        .values(state="sent", sent_at=now, sent_by="system")
        .returning(reminders.c.id)).scalars())


def recipients_for(supervisors: dict[str, set[str]], settings: ReminderSettings,
                   roles: tuple[str, ...], assignee: str | None,
                   groups: tuple[str, ...]) -> list[str]:
    """Who a rung tells; `supervisors` maps a group to its supervisors (`all_supervisors`)."""
    found: list[str] = []
    for role in roles:
        if role == "assignee_or_candidates":
            found += [f"user:{assignee}"] if assignee else [f"group:{g}" for g in groups]
        elif role == "supervisor":
            found += [f"user:{u}" for g in groups for u in sorted(supervisors.get(g, ()))]
        elif role == "data_authority":
            found.append(f"group:{settings.data_authority_group}")
    return list(dict.fromkeys(found))


def all_supervisors(conn: Connection) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for group, user in conn.execute(select(group_supervisors.c.group_name,
                                           group_supervisors.c.username)):
        found.setdefault(group, set()).add(user)
    return found


def supervisors_of(conn: Connection, groups: tuple[str, ...] | list[str]) -> list[str]:
    if not groups:
        return []
    return sorted(set(conn.execute(select(group_supervisors.c.username).where(
        group_supervisors.c.group_name.in_(list(groups)))).scalars()))


def emailable(conn: Connection) -> set[str]:
    """Recipients with at least one e-mail address behind them (read once per sweep)."""
    users = set(conn.execute(select(contacts.c.username).where(
        contacts.c.email.is_not(None), contacts.c.email != "")).scalars())
    if not users:
        return set()
    groups = set(conn.execute(select(memberships.c.group_name).where(
        memberships.c.username.in_(sorted(users)))).scalars())
    return {f"user:{u}" for u in users} | {f"group:{g}" for g in groups}


def last_manual(conn: Connection, task_id: str) -> tuple[dt.datetime | None, int]:
    """When the task was last urged by hand, and how many times it was."""
    row = conn.execute(select(func.max(reminders.c.sent_at), func.count()).where(and_(
        reminders.c.task_id == task_id, reminders.c.rung.like("manual%")))).one()
    return row[0], row[1]


def pending_for_case(conn: Connection, case_id: int) -> list[Any]:
    return list(conn.execute(select(reminders).where(reminders.c.case_id == case_id)
                             .order_by(reminders.c.fire_at)))
