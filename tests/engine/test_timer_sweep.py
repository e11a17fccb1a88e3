"""The timer sweep: one broken case never delays another, and every incident can be retried
or says why not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from engine.cases.govflow import Govflow
from engine.cases.incidents import record_timer_incident
from engine.errors import CaseNotRetryable
from engine.store.schema import cases
from engine.time.clock import SHANGHAI

MODELS = Path(__file__).parent / "models"
LIMITED = {"total": 10, "divisor": 1, "threshold": 1, "limit_days": 1}


def probe_cases(gf: Govflow, count: int) -> list[int]:
    gf.deploy((MODELS / "probe.bpmn").read_bytes(), "probe.bpmn")
    return [gf.start_case("probe", dict(LIMITED)).id for _ in range(count)]


def break_state(gf: Govflow, case_id: int) -> None:
    """A case whose saved state no longer restores (a damaged row)."""
    with gf.db.write() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id)
                     .values(state='{"serializer_version": "1.4", "tasks": {}}'))
    gf.store.forget(case_id)


def test_a_broken_case_does_not_delay_another_cases_timer(gf: Govflow, clock) -> None:
    broken, healthy = probe_cases(gf, 2)
    break_state(gf, broken)
    clock.advance(days=4)

    firing = gf.fire_due_timers()

    assert firing.fired == ((healthy, "BoundaryEvent_remind"),)
    assert firing.incidents == (broken,)
    assert gf.get_case(healthy).data["sla_state"] == "overdue"
    case = gf.get_case(broken)
    assert case.status == "error"
    assert case.incident["element_id"] == "BoundaryEvent_remind"
    assert case.incident["message"].startswith("the timer could not be fired: ")
    assert "\n" not in case.incident["message"] and "Traceback" not in case.incident["message"]
    assert case.events[-1].action == "incident"
    assert gf.verify_audit() == []
    # the case leaves the sweep until it is retried
    assert gf.fire_due_timers() == type(firing)((), (), ())
    with pytest.raises(CaseNotRetryable, match=f"case {broken} cannot be restored"):
        gf.retry_case(broken, "root")


def test_a_timer_incident_is_retried_by_firing_the_timer(gf: Govflow, clock) -> None:
    (case_id,) = probe_cases(gf, 1)
    clock.advance(days=4)
    with gf.db.write() as conn:  # the sweep failed on this case, e.g. the database went away
        record_timer_incident(conn, case_id, OSError("connection reset"), clock.now())
    gf.store.forget(case_id)
    assert gf.fire_due_timers().fired == ()

    with pytest.raises(CaseNotRetryable, match="retry it without data"):
        gf.retry_case(case_id, "root", {"limit_days": 3})
    retried = gf.retry_case(case_id, "root")

    assert retried.status == "running" and retried.incident is None
    assert retried.data["sla_state"] == "overdue"
    assert [e.action for e in retried.events] == ["case_retried", "incident_resolved"]
    assert retried.events[0].element_id == "BoundaryEvent_remind"
    assert retried.timers == ()


def test_two_sweepers_at_once_fire_each_timer_exactly_once(gf: Govflow, clock,
                                                           database_url: str) -> None:
    """On PostgreSQL each sweeper skips the cases the other holds (FOR UPDATE SKIP LOCKED),
    so neither moves a case the other is moving, and none is left behind."""
    import threading

    from engine.rules.profile import load_profile
    from engine.store.db import Database

    hubei = load_profile("hubei")  # S5: the answer limit decides the case in Hubei
    starter = Govflow(gf.db, clock=clock, profile=hubei)
    request = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名"]}
    cases = [starter.start_case("share_request", request).id for _ in range(40)]
    clock.set(dt.datetime(2026, 12, 5, 0, 0, tzinfo=SHANGHAI))
    sweepers = [Govflow(Database(database_url), clock=clock, profile=hubei) for _ in range(2)]
    start, results = threading.Barrier(2), []

    def sweep(sweeper: Govflow) -> None:
        start.wait()
        results.append(sweeper.fire_due_timers())

    threads = [threading.Thread(target=sweep, args=(s,)) for s in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fired = [case_id for result in results for case_id, _ in result.fired]
    assert sorted(fired) == cases  # every timer, each once
    assert [r.conflicts for r in results] == [(), ()]  # nobody moved a case twice
    assert gf.fire_due_timers().fired == ()
    assert gf.verify_audit() == []
    for sweeper in sweepers:
        sweeper.db.dispose()
