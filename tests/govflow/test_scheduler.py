"""The scheduler: explicit job ids, and one pass of every job fires what is due."""

from __future__ import annotations

import datetime as dt

from engine.cases.govflow import Govflow
from engine.rules.profile import load_profile
from engine.time.clock import SHANGHAI
from govflow.scheduler import JOBS, build_scheduler, run_jobs_once

REQUEST = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
           "data_items": ["姓名"]}


def test_jobs_have_explicit_unique_ids(gf: Govflow) -> None:
    scheduler = build_scheduler(gf, blocking=False)
    ids = sorted(job.id for job in scheduler.get_jobs())
    assert ids == sorted(job.id for job in JOBS) == [
        "check_calendar_coverage", "checkpoint_audit", "dispatch_outbox", "fire_due_timers",
        "recompute_provisional_deadlines", "send_due_reminders"]
    assert len(set(ids)) == len(ids)


def test_one_pass_fires_due_timers_and_a_second_pass_does_nothing(gf: Govflow, clock) -> None:
    gf = Govflow(gf.db, clock=clock, profile=load_profile("hubei"))  # S5 decides in Hubei
    case = gf.start_case("share_request", REQUEST)
    clock.set(dt.datetime(2026, 12, 5, 0, 0, tzinfo=SHANGHAI))
    first = run_jobs_once(gf)
    assert first["fire_due_timers"].fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    assert first["check_calendar_coverage"] == 2027
    assert run_jobs_once(gf)["fire_due_timers"].fired == ()
    assert gf.get_case(case.id).data["decided_by"] == "system"


def test_one_tick_drains_a_backlog_larger_than_one_pass(gf: Govflow, clock) -> None:
    """After an outage, every due timer fires in one run of the job, not 500 per run."""
    from govflow.scheduler import TIMER_BATCH

    gf = Govflow(gf.db, clock=clock, profile=load_profile("hubei"))
    cases = [gf.start_case("share_request", REQUEST).id for _ in range(TIMER_BATCH + 50)]
    clock.set(dt.datetime(2026, 12, 5, 0, 0, tzinfo=SHANGHAI))
    fired = run_jobs_once(gf)["fire_due_timers"]
    assert sorted(case_id for case_id, _ in fired.fired) == cases
    assert fired.selected == len(cases) and fired.conflicts == () and fired.incidents == ()
    assert gf.fire_due_timers().fired == ()
