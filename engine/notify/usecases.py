"""Notification use cases: what each step queues, the reminder sweep, manual 催办, the bell.

Mixed into `Govflow` (engine/cases/govflow.py). The engine only writes outbox rows, in
the transaction of the change that causes them; `notifications/` delivers them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from engine.cases.results import deciding_group, result_of, to_payload
from engine.errors import NotAllowed, ReminderTooSoon
from engine.notify import outbox, reminders, supervision
from engine.notify.notices import local, party_recipient
from engine.people.access import case_number, load_viewer
from engine.people.directory import group_title, groups_of
from engine.store.audit import PendingEvent
from engine.store.schema import contacts, group_supervisors, human_tasks, notifications
from engine.store.schema import outbox as outbox_rows
from engine.store.schema import reminders as reminder_rows
from engine.time.clock import SHANGHAI
from engine.time.sla import SlaClock

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from engine.cases.runtime import LoadedCase
    from engine.rules.profile import JurisdictionProfile
    from engine.store.db import Database
    from engine.time.calendar import WorkCalendar

@dataclass(frozen=True)
class CaseNotices:
    rungs: tuple[Any, ...]
    messages: tuple[outbox.OutboxMessage, ...]
    may_urge: frozenset[str]  # open tasks the user may remind by hand


class NotifyUseCases:
    if TYPE_CHECKING:
        db: Database
        profile: JurisdictionProfile

        @property
        def calendar(self) -> WorkCalendar: ...
        def now(self) -> dt.datetime: ...
        def _open_task(self, conn: Connection, task_id: str) -> Any: ...
        def _append_event(self, conn: Connection, case_id: int, event: PendingEvent) -> None: ...

    # -- what a step queues -------------------------------------------------------------
    def _notify_step(self, conn: Connection, case: LoadedCase, closed: set[str],
                     started: bool, requested: list[tuple[str, tuple[str, str]]]) -> None:
        """Rungs for new tasks, cancelled rungs for closed ones, notices to people."""
        now, settings = self.now(), self.profile.reminders
        number = case_number(case.id)
        reminders.cancel(conn, closed)
        rows = []
        for task in case.saved_tasks:
            if task.due_at is not None:
                rows += reminders.rung_rows(
                    self.calendar, settings, task_id=task.id, case_id=case.id,
                    process_id=task.process_id, element_id=task.element_id, due=task.due_at,
                    provisional=task.due_provisional, opened=now)
            for group in task.candidate_groups:
                outbox.enqueue(conn, now=now, kind="task_assigned", recipient=f"group:{group}",
                               channel="in_app", case_id=case.id, task_id=task.id,
                               key=f"task_assigned:{task.id}:{group}", payload={
                                   "case_number": number, "task_title": task.title,
                                   "due": local(task.due_at)})
        reminders.schedule(conn, rows)
        data = case.data
        base = {"case_number": number, "process_name": case.deployed.name or
                case.deployed.process_id, "received": local(case.started_at)}
        payloads = {   # worded only when a notice needs them: most steps notify no party
            "receipt": lambda: base,
            "outcome": lambda: {**base, "result": self._result_payload(conn, data)},
            "transfer": lambda: {**base, "to": self._group_title(conn,
                                                                 data.get("transferred_to"))},
            "extension": lambda: {**base, "reasons": data.get("extension_reason") or ""},
        }
        for kind, party in requested:
            self._notify_party(conn, case.id, f"party_{kind}", party, payloads[kind]())
        party = party_recipient(data)
        if party is None:
            return
        if started:
            self._notify_party(conn, case.id, "party_receipt", party, base)
        if case.status == "completed":
            self._notify_party(conn, case.id, "party_outcome", party, payloads["outcome"]())

    def _notify_party(self, conn: Connection, case_id: int, kind: str,
                      party: tuple[str, str], payload: dict[str, Any]) -> None:
        recipient, channel = party
        outbox.enqueue(conn, now=self.now(), kind=kind, recipient=recipient, channel=channel,
                       case_id=case_id, key=f"{kind}:{case_id}:{recipient}",
                       payload={**payload, "language": "zh"})

    @staticmethod
    def _result_payload(conn: Connection, data: dict[str, Any]) -> dict[str, Any] | None:
        """The result's keys and texts; each reader's notice words it in their language."""
        if not data.get("outcome"):
            return None
        decider = deciding_group(data)
        title = group_title(conn, decider) if decider else None
        found = result_of(data, {decider: title} if decider and title else {})
        return to_payload(found) if found else None

    @staticmethod
    def _group_title(conn: Connection, name: Any) -> str:
        return group_title(conn, str(name)) or str(name or "")

    def _task_handed_to(self, conn: Connection, task_id: str, user: str, by: str) -> None:
        """A task given to one person (transfer): tell them in the bell."""
        row = conn.execute(select(human_tasks.c.case_id, human_tasks.c.title,
                                  human_tasks.c.due_at).where(human_tasks.c.id == task_id)).one()
        outbox.enqueue(conn, now=self.now(), kind="task_assigned", recipient=f"user:{user}",
                       channel="in_app", case_id=row.case_id, task_id=task_id, payload={
                           "case_number": case_number(row.case_id), "task_title": row.title,
                           "due": local(row.due_at), "by": by})

    def _move_rungs(self, conn: Connection, task_id: str) -> None:
        task = conn.execute(select(human_tasks).where(human_tasks.c.id == task_id)).one()
        if task.due_at is not None:
            reminders.reschedule(conn, self.calendar, self.profile.reminders, task, self.now())

    # -- the reminder sweep ---------------------------------------------------------------
    def send_due_reminders(self, now: dt.datetime | None = None, *,
                           limit: int = 1000) -> dict[str, int]:
        """Fire every rung whose time has come, each once, in one transaction per sweep."""
        now = now or self.now()
        settings = self.profile.reminders
        with self.db.write() as conn:
            due = reminders.due_rungs(conn, now, limit)
            taken = reminders.take(conn, [r.id for r in due], now)
            if not taken:
                return {"sent": 0}
            by_email = reminders.emailable(conn) if "email" in settings.channels else set()
            supervisors = reminders.all_supervisors(conn)
            messages: list[dict[str, Any]] = []
            next_rungs: list[dict[str, Any]] = []
            for rung in due:
                if rung.id in taken:
                    messages += self._rung_messages(rung, supervisors, by_email, next_rungs)
            reminders.schedule(conn, next_rungs)
            outbox.enqueue_many(conn, messages, self.now())
        return {"sent": len(taken)}

    def _rung_messages(self, rung: reminders.DueRung, supervisors: dict[str, set[str]],
                       by_email: set[str], next_rungs: list[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
        settings = self.profile.reminders
        name, _, step = rung.rung.partition("_")
        spec = next((r for r in settings.ladder_for(rung.process_id, rung.element_id)
                     if r.name in (rung.rung, name)), None)
        roles = spec.to if spec else ("assignee_or_candidates",)
        overdue_days = int(step) if spec and spec.repeat and step.isdigit() else 0
        if spec is not None and spec.repeat:  # the next rung of an open-ended ladder
            # After a pause (scheduler down) rungs already past are not sent one by one:
            # the next is the first still ahead, and this one says how late it is now.
            following = overdue_days + 1
            at, guessed = reminders.fire_time(self.calendar, settings, rung.due_at, following)
            while at <= self.now() and following < overdue_days + 400:
                following += 1
                at, guessed = reminders.fire_time(self.calendar, settings, rung.due_at,
                                                  following)
            overdue_days = following - 1
            next_rungs.append({"task_id": rung.task_id, "case_id": rung.case_id,
                               "rung": f"{spec.name}_{following}", "fire_at": at,
                               "provisional": guessed, "state": "pending"})
        payload = {"case_number": case_number(rung.case_id), "task_title": rung.title,
                   "due": local(rung.due_at), "rung": "overdue" if overdue_days else rung.rung,
                   "overdue_days": overdue_days}
        people = reminders.recipients_for(supervisors, settings, roles, rung.assignee,
                                          rung.candidate_groups)
        return self._messages_to(people, by_email, payload, rung.case_id, rung.task_id,
                                 rung.rung)

    def _messages_to(self, people: list[str], by_email: set[str], payload: dict[str, Any],
                     case_id: int, task_id: str, rung: str) -> list[dict[str, Any]]:
        return [{"kind": "reminder", "recipient": recipient, "channel": channel,
                 "case_id": case_id, "task_id": task_id, "rung": rung, "payload": payload,
                 "key": f"reminder:{task_id}:{rung}:{recipient}:{channel}"}
                for recipient in people for channel in self.profile.reminders.channels
                if channel != "email" or recipient in by_email]

    # -- manual 催办 -----------------------------------------------------------------------
    def may_supervise(self, conn: Connection, user: str, groups: tuple[str, ...]) -> bool:
        """The data authority oversees every department; a supervisor their own groups."""
        if self.profile.reminders.data_authority_group in groups_of(conn, user):
            return True
        return user in reminders.supervisors_of(conn, groups)

    def urge_task(self, task_id: str, user: str, note: str) -> None:
        """A supervisor or the data authority reminds the people on a task, with a note."""
        note = (note or "").strip()
        if not note:
            raise NotAllowed("a reminder needs a note")
        now, settings = self.now(), self.profile.reminders
        with self.db.write() as conn:
            task = self._open_task(conn, task_id)
            if not self.may_supervise(conn, user, task.candidate_groups):
                raise NotAllowed(f"{user} does not supervise task {task_id}")
            last, count = reminders.last_manual(conn, task_id)
            if last is not None and now - last < settings.manual_interval:
                raise ReminderTooSoon(
                    f"task {task_id} was reminded at {local(last)}; try again after "
                    f"{local(last + settings.manual_interval)}")
            rung = f"manual_{count + 1}"
            conn.execute(insert(reminder_rows).values(
                task_id=task_id, case_id=task.case_id, rung=rung, fire_at=now,
                provisional=False, state="sent", sent_at=now, sent_by=user, note=note[:2000]))
            row = conn.execute(select(human_tasks.c.title, human_tasks.c.due_at)
                               .where(human_tasks.c.id == task_id)).one()
            payload = {"case_number": case_number(task.case_id), "task_title": row.title,
                       "due": local(row.due_at), "rung": "manual", "note": note, "by": user}
            people = reminders.recipients_for({}, settings, ("assignee_or_candidates",),
                                              task.assignee, task.candidate_groups)
            outbox.enqueue_many(conn, self._messages_to(
                people, reminders.emailable(conn), payload, task.case_id, task_id, rung), now)
            self._append_event(conn, task.case_id, PendingEvent(
                now, user, "task_urged", task_id, task.element_id, details={"note": note}))

    # -- the outbox, for administrators ----------------------------------------------------
    def outbox_messages(self, status: str | None = None, *, limit: int = 200,
                        case_id: int | None = None) -> list[outbox.OutboxMessage]:
        with self.db.read() as conn:
            return outbox.listing(conn, status, limit, case_id)

    def resend_message(self, message_id: int) -> outbox.OutboxMessage:
        with self.db.write() as conn:
            return outbox.resend(conn, message_id, self.now())

    def outbox_counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            return outbox.counts(conn)

    # -- the bell -------------------------------------------------------------------------
    def unread_count(self, user: str) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(notifications).where(
                notifications.c.username == user, notifications.c.read_at.is_(None))).scalar_one()

    def notifications_of(self, user: str, limit: int = 30) -> list[Any]:
        """The user's bell, newest first, each with its message's kind and parameters
        (`payload`) so the reader's screen words it in their language."""
        with self.db.read() as conn:
            return list(conn.execute(
                select(notifications, outbox_rows.c.payload)
                .join(outbox_rows, outbox_rows.c.id == notifications.c.outbox_id)
                .where(notifications.c.username == user)
                .order_by(notifications.c.id.desc()).limit(limit)))

    def mark_read(self, user: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(notifications).where(
                notifications.c.username == user, notifications.c.read_at.is_(None))
                .values(read_at=self.now()))

    # -- what a case page shows -------------------------------------------------------------
    def case_notices(self, user: str, case_id: int) -> CaseNotices:
        """The case's reminder rungs and messages, and whether `user` may remind by hand."""
        with self.db.read() as conn:
            rungs = tuple(reminders.pending_for_case(conn, case_id))
            groups = conn.execute(select(human_tasks.c.id, human_tasks.c.candidate_groups).where(
                human_tasks.c.case_id == case_id, human_tasks.c.state == "open")).all()
            may = {r.id for r in groups
                   if self.may_supervise(conn, user, tuple(r.candidate_groups or ()))}
            messages = tuple(outbox.listing(conn, case_id=case_id, limit=100))
        return CaseNotices(rungs, messages, frozenset(may))

    # -- supervision ------------------------------------------------------------------------
    def timeliness(self, user: str, period: str | None = None) -> supervision.Timeliness:
        """Timeliness of the work `user` supervises in a month, quarter or year."""
        now = self.now()
        found = supervision.Period.parse(period, now.astimezone(SHANGHAI).date())
        with self.db.read() as conn:
            return supervision.timeliness(conn, load_viewer(conn, user), self.calendar, found,
                                          now, SlaClock(self.calendar, now).due_soon_until())

    def timeliness_by_month(self, user: str, year: int) -> list[tuple[str, supervision.Row]]:
        now = self.now()
        with self.db.read() as conn:
            return supervision.monthly(conn, load_viewer(conn, user), self.calendar, year, now,
                                       SlaClock(self.calendar, now).due_soon_until())

    # -- directory: supervisors and contacts ------------------------------------------------
    def set_supervisor(self, group: str, user: str) -> None:
        with self.db.write() as conn:
            conn.execute(group_supervisors.delete().where(
                group_supervisors.c.group_name == group, group_supervisors.c.username == user))
            conn.execute(insert(group_supervisors).values(group_name=group, username=user))

    def set_contact(self, user: str, email: str | None, language: str = "zh") -> None:
        with self.db.write() as conn:
            conn.execute(contacts.delete().where(contacts.c.username == user))
            conn.execute(insert(contacts).values(username=user, email=email or None,
                                                 language=language))

