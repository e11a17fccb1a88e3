"""The scheduled jobs and the APScheduler that runs them.

Each job only calls engine services, under an explicit job id, so a restart never
duplicates a job. Several schedulers may run against one database: each timer's case,
each reminder rung and each outbox message is claimed by one of them (a row lock with
SKIP LOCKED on PostgreSQL, the write lock on SQLite, a lease for a message being sent),
and the engine's revision check refuses a case moved twice. Every job runs once as
soon as the scheduler starts, so a restart catches up at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.cases.govflow import Govflow
from engine.cases.models import TimerFiring

log = logging.getLogger("govflow.scheduler")


@dataclass(frozen=True)
class Job:
    id: str
    seconds: int
    run: Callable[[Govflow], Any]
    description: str
    budget: float | None = None  # a run that lasts this long stopped with work left


#: One run of the timer job sweeps pass after pass while timers are due, for at most this
#: long (less than the job's 30 s interval); a run that used it all is followed at once by
#: the next (see `build_scheduler`), so a backlog drains at the sweep's full rate.
TIMER_BUDGET_SECONDS = 25.0
TIMER_BATCH = 100  # cases per pass: one short query, a bounded set of case ids


def drain_due_timers(gf: Govflow, *, budget: float = TIMER_BUDGET_SECONDS,
                     batch: int = TIMER_BATCH) -> TimerFiring:
    """Fire due timers in passes of `batch` cases until a pass finds fewer than a full
    batch, moves nothing (the cases left are deferred to the next run), or the budget
    is spent."""
    started = time.monotonic()
    fired: list[tuple[int, str]] = []
    conflicts: dict[int, None] = {}
    incidents: list[int] = []
    selected = 0
    while True:
        result = gf.fire_due_timers(limit=batch)
        fired += result.fired
        conflicts.update(dict.fromkeys(result.conflicts))
        incidents += result.incidents
        selected += result.selected
        moved = result.fired or result.incidents
        if not moved or result.selected < batch or time.monotonic() - started >= budget:
            break
    return TimerFiring(tuple(fired), tuple(c for c in conflicts if c not in incidents),
                       tuple(incidents), selected)


def _fire_timers(gf: Govflow) -> Any:
    result = drain_due_timers(gf)
    if result.fired or result.conflicts:
        log.info("fired %d timers, %d cases deferred", len(result.fired), len(result.conflicts))
    if result.incidents:
        log.warning("timers of cases %s could not be fired; see their incidents",
                    ", ".join(str(c) for c in result.incidents))
    return result


def _recompute(gf: Govflow) -> Any:
    return gf.recompute_provisional_deadlines()


def _check_calendar(gf: Govflow) -> Any:
    return gf.check_calendar_coverage()


def _send_reminders(gf: Govflow) -> Any:
    """Sweep in batches until nothing is due (09:00 brings a whole day's rungs at once)."""
    total = 0
    for _ in range(50):
        sent = gf.send_due_reminders()["sent"]
        total += sent
        if sent == 0:
            break
    return {"sent": total}


#: The outbox job sends batch after batch while a batch comes back full, within this budget
#: (less than its 15 s interval), and is then followed at once, like the timer job.
OUTBOX_BUDGET_SECONDS = 12.0


def _dispatch_outbox(gf: Govflow) -> Any:
    from notifications.dispatch import Dispatcher

    result = Dispatcher(gf).drain(OUTBOX_BUDGET_SECONDS)
    if result.errors:
        log.warning("outbox: %d sent, %d to retry, %d dead", result.sent, result.retried,
                    result.dead)
    return result


def _checkpoint_audit(gf: Govflow) -> Any:
    return gf.checkpoint_audit()


JOBS = (
    Job("fire_due_timers", 30, _fire_timers, "fire timers whose time has come",
        TIMER_BUDGET_SECONDS),
    Job("recompute_provisional_deadlines", 3600, _recompute,
        "recompute provisional deadlines once their year has been entered"),
    Job("check_calendar_coverage", 6 * 3600, _check_calendar,
        "warn administrators when next year's holidays are not entered"),
    Job("send_due_reminders", 60, _send_reminders, "queue the SLA reminders (催办) now due"),
    Job("dispatch_outbox", 15, _dispatch_outbox, "deliver queued notifications",
        OUTBOX_BUDGET_SECONDS),
    Job("checkpoint_audit", 300, _checkpoint_audit,
        "anchor the audit chains' heads in a signed checkpoint"),
)


def run_jobs_once(gf: Govflow) -> dict[str, Any]:
    """Run every job once, in order (what `govflow tick` does)."""
    return {job.id: job.run(gf) for job in JOBS}


def build_scheduler(gf: Govflow, *, blocking: bool) -> BackgroundScheduler | BlockingScheduler:
    scheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in JOBS:
        scheduler.add_job(_run, "interval", seconds=job.seconds, args=[scheduler, gf, job],
                          id=job.id, name=job.description, replace_existing=True,
                          coalesce=True, max_instances=1, next_run_time=dt.datetime.now(dt.UTC))
    return scheduler


def _run(scheduler: BackgroundScheduler | BlockingScheduler, gf: Govflow, job: Job) -> Any:
    """Run a job; one that spent its whole budget left work behind, so it runs again now
    instead of an interval later."""
    started = time.monotonic()
    result = job.run(gf)
    if job.budget is not None and time.monotonic() - started >= job.budget:
        scheduler.modify_job(job.id, next_run_time=dt.datetime.now(dt.UTC))
    return result
