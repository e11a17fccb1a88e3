"""share_request's limits, exactly: S5 by profile, joint review, provisional dates, returns
(一次性告知), the instant a timer fires, and ticks or recomputes that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.cases.govflow import Govflow
from engine.errors import InvalidTaskData
from engine.rules.profile import shipped_profiles
from engine.store.schema import audit_events, cases, outbox
from engine.time.calendar import YearTable
from engine.time.sla import SlaClock
from govflow.scheduler import run_jobs_once
from tests.workflows.conftest import (
    at,
    complete,
    end_of,
    fired,
    open_elements,
    open_task,
    runs_out,
    with_profile,
)

# HEALTH-BIRTH is conditional and provided by dept_health in the demo catalog.
REQUEST = {"requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
           "dataset_id": "HEALTH-BIRTH", "purpose": "核对社会救助对象家庭成员",
           "data_items": ["姓名", "出生日期"], "scenario": "社会救助资格核对",
           "scope": "民政厅社会救助处", "term": "2027-12-31"}
COMPLETION = {k: REQUEST[k] for k in ("purpose", "data_items", "scenario", "scope", "term")}
RETURN = {"decision": "return", "decision_reason": "申请材料不全，请补正",
          "missing_items": ["应用场景的具体业务", "使用范围"]}
# What provider silence leads to under each shipped profile (and the default).
AFTER_SILENCE = {"hubei": "granted", "zhejiang": "authority", "guangdong": "authority",
                 "zhenhai": "authority", "jilin": "authority", "default": "overdue"}


def writes(gf: Govflow) -> tuple[int, int, int]:
    """Audit events, outbox rows and the sum of case revisions: anything a tick could write."""
    with gf.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(audit_events)).scalar_one(),
                # reminder rungs (催办) are the ladder's own sends, not a timer's
                conn.execute(select(func.count()).select_from(outbox)
                             .where(outbox.c.rung.is_(None))).scalar_one(),
                conn.execute(select(func.coalesce(func.sum(cases.c.revision), 0))).scalar_one())


def engine(gf: Govflow, clock, name: str) -> Govflow:
    return gf if name == "default" else with_profile(gf, clock, name)


def test_S5_every_seed_jurisdiction_has_a_shipped_profile() -> None:
    assert shipped_profiles() == ["guangdong", "hubei", "jilin", "zhejiang", "zhenhai"]
    assert set(AFTER_SILENCE) == {*shipped_profiles(), "default"}


@pytest.mark.parametrize("name", sorted(AFTER_SILENCE))
def test_S5_provider_silence_does_what_the_jurisdictions_rule_says(gf, clock, name) -> None:
    gf = engine(gf, clock, name)
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert case.data["jurisdiction_profile"] == name
    clock.set(runs_out(2026, 12, 4))
    assert gf.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    late = gf.get_case(case.id)
    expected = AFTER_SILENCE[name]
    if expected == "granted":        # HB 20: 逾期不处理的，视为同意
        assert (late.status, late.data["outcome"], late.data["decided_by"],
                late.data["decision_rule"]) == ("completed", "granted", "system", "S5")
        return
    assert late.status == "running" and "outcome" not in late.data
    assert late.data["sla_state"] == "overdue"
    if expected == "authority":      # joint review: the data authority leads and decides
        task = open_task(late, "UserTask_authority_joint_review")
        assert task.candidate_groups == ("data_authority",)
        assert late.data["provider_silent"] is True
        done = gf.complete_task(task.id, "dora", {"decision": "approve"})
        assert (done.data["outcome"], done.data["decided_by"]) == ("granted", "data_authority")
    else:                            # no deemed approval, no joint review: still the provider's
        assert open_elements(late) == ["UserTask_provider_review_late"]
        done = complete(gf, late, "UserTask_provider_review_late", "alice",
                        {"decision": "approve"})
        assert (done.data["outcome"], done.data["decided_by"]) == ("granted", "dept_health")


@pytest.mark.parametrize("moment, fires", [
    (end_of(2026, 12, 4), False),                                        # 23:59:59
    (end_of(2026, 12, 4) + dt.timedelta(microseconds=999_999), False),   # 23:59:59.999999
    (runs_out(2026, 12, 4), True),                                       # 00:00:00
])
def test_S5_fires_once_the_last_working_day_is_over_never_before(gf, clock, moment,
                                                                 fires) -> None:
    gf = with_profile(gf, clock, "hubei")
    case = gf.start_case("share_request", REQUEST, user="carl")
    assert case.timers[0].fire_at == runs_out(2026, 12, 4)
    before = writes(gf)
    clock.set(moment)
    firing = gf.fire_due_timers()
    after = gf.get_case(case.id)
    if fires:
        assert firing.fired == ((case.id, "BoundaryEvent_answer_deadline"),)
        assert fired(after) == [("BoundaryEvent_answer_deadline", "S5")]
        assert after.data["outcome"] == "granted"
    else:
        assert firing.fired == () and writes(gf) == before
        assert fired(after) == [] and after.status == "running"


def test_S5_a_tick_that_fires_nothing_writes_nothing(gf, clock) -> None:
    clock.set(at(2026, 9, 28, 16))  # far from New Year: no calendar warning is due
    gf = with_profile(gf, clock, "hubei")
    gf.start_case("share_request", REQUEST, user="carl")
    before = writes(gf)
    for moment in (at(2026, 10, 16, 12), end_of(2026, 10, 16)):
        clock.set(moment)
        jobs = run_jobs_once(gf)
        assert jobs["fire_due_timers"].fired == ()
        assert jobs["recompute_provisional_deadlines"] == {"tasks": 0, "timers": 0}
    assert writes(gf) == before


def test_S5_never_fires_on_a_provisional_deadline_and_waits_for_the_year(gf, clock) -> None:
    gf = with_profile(gf, clock, "hubei")
    clock.set(at(2026, 12, 28, 9, 30))
    case = gf.start_case("share_request", REQUEST, user="carl")
    timer = case.timers[0]
    assert timer.provisional and timer.fire_at == runs_out(2027, 1, 11)
    clock.set(at(2027, 1, 12, 9))
    assert gf.fire_due_timers().fired == ()          # held: a guess never decides a case
    assert gf.get_case(case.id).status == "running"
    with gf.db.read() as conn:
        warnings = conn.execute(select(outbox.c.payload).where(
            outbox.c.kind == "calendar_year_missing")).scalars().all()
    # One warning when the case started (12-28), one more on the day the timer is held.
    assert [w["years"] for w in warnings] == [[2027], [2027]]
    assert "no deemed decision" in warnings[-1]["message"]
    before = writes(gf)
    clock.set(at(2027, 1, 12, 10))
    assert gf.fire_due_timers().fired == () and writes(gf) == before  # warned once that day
    # A fresh engine (new process-level cache) enters the year; the timer moves and fires.
    fresh = with_profile(gf, clock, "hubei")
    fresh.add_calendar_year(YearTable.from_dict({
        "year": 2027, "holidays": {"2027-01-01": "元旦 New Year's Day"}, "workdays": {}}))
    moved = fresh.get_case(case.id).timers[0]
    assert moved.fire_at == runs_out(2027, 1, 12) and not moved.provisional
    assert fresh.fire_due_timers().fired == ()
    clock.set(runs_out(2027, 1, 12))
    assert fresh.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    assert fresh.get_case(case.id).data["decision_rule"] == "S5"


def test_S5_recomputing_an_unchanged_deadline_writes_no_event(gf, clock) -> None:
    clock.set(at(2026, 12, 28, 9, 30))
    gf.start_case("share_request", REQUEST, user="carl")
    before = writes(gf)
    for hour in (10, 11, 12):
        clock.set(at(2026, 12, 28, hour))
        assert gf.recompute_provisional_deadlines() == {"tasks": 0, "timers": 0}
    assert writes(gf) == before


def test_S5_a_missing_year_warns_administrators_once_a_day_not_per_case(gf, clock) -> None:
    clock.set(at(2026, 12, 28, 9, 30))
    for _ in range(3):
        gf.start_case("share_request", REQUEST, user="carl")
    gf.check_calendar_coverage()
    clock.set(at(2026, 12, 29, 9, 30))
    gf.start_case("share_request", REQUEST, user="carl")
    gf.check_calendar_coverage()
    with gf.db.read() as conn:
        days = conn.execute(select(outbox.c.created_at).where(
            outbox.c.kind == "calendar_year_missing")).scalars().all()
    assert len(days) == 2  # one on the 28th, one on the 29th


def test_S2_a_return_must_list_everything_missing_at_once(gf: Govflow) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    task = open_task(case, "UserTask_provider_review")
    for bad in ({**RETURN, "missing_items": []}, {k: v for k, v in RETURN.items()
                                                  if k != "missing_items"}):
        with pytest.raises(InvalidTaskData) as refused:
            gf.complete_task(task.id, "alice", bad)
        assert set(refused.value.errors) == {"missing_items"}
    assert gf.get_task(task.id).state == "open"


@pytest.mark.parametrize("name", ["hubei", "jilin"])
def test_S5_after_a_return_the_limit_restarts_from_the_complete_resubmission(gf, clock,
                                                                            name) -> None:
    gf = with_profile(gf, clock, name)
    case = gf.start_case("share_request", REQUEST, user="carl")          # Fri 11-20
    clock.set(at(2026, 11, 25, 10))
    case = complete(gf, case, "UserTask_provider_review", "alice", RETURN)
    assert case.timers == () and open_elements(case) == ["UserTask_requester_complete"]
    clock.set(runs_out(2026, 12, 4))                                     # the first limit
    assert gf.fire_due_timers().fired == ()
    clock.set(at(2026, 12, 7, 15))                                       # Mon 12-07
    # A fresh engine (new process-level cache) takes the resubmission.
    fresh = with_profile(gf, clock, name)
    case = complete(fresh, case, "UserTask_requester_complete", "carl", COMPLETION)
    review = open_task(case, "UserTask_provider_review")
    assert review.due_at == end_of(2026, 12, 21)                         # 10 days from 12-07
    [record] = case.data["returns"]
    assert record["returned_at"].startswith("2026-11-25T10:00")
    assert record["resubmitted_at"].startswith("2026-12-07T15:00")
    assert record["missing_items"] == RETURN["missing_items"]
    assert case.data["answer_from"] == record["resubmitted_at"]
    clock.set(runs_out(2026, 12, 21))
    assert fresh.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)


def test_S2_a_second_return_needs_the_data_authoritys_consent(gf, clock) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    case = complete(gf, case, "UserTask_provider_review", "alice", RETURN)
    clock.set(at(2026, 11, 23, 9))
    case = complete(gf, case, "UserTask_requester_complete", "carl", COMPLETION)
    case = complete(gf, case, "UserTask_provider_review", "alice", RETURN)
    ask = open_task(case, "UserTask_return_consent")
    assert ask.candidate_groups == ("data_authority",)
    with pytest.raises(InvalidTaskData):
        gf.complete_task(ask.id, "dora", {"return_consent": "refuse"})
    case = gf.complete_task(ask.id, "dora", {"return_consent": "refuse",
                                             "return_consent_reason": "首次退回应已一次性告知"})
    review = open_task(case, "UserTask_provider_review")
    assert review.due_at == end_of(2026, 12, 7)   # the limit still runs from 11-23
    assert len(case.data["returns"]) == 1
    case = gf.complete_task(review.id, "alice", RETURN)
    case = complete(gf, case, "UserTask_return_consent", "dora", {
        "return_consent": "consent", "return_consent_reason": "申请人补正后出现新的数据项"})
    assert open_elements(case) == ["UserTask_requester_complete"]
    second = case.data["returns"][1]
    assert second["authority_consent"] == "申请人补正后出现新的数据项"


def test_S3_a_task_is_overdue_only_once_its_last_day_is_over(gf, clock) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    task = open_task(case, "UserTask_provider_review")
    for moment, overdue in ((end_of(2026, 12, 4), False), (runs_out(2026, 12, 4), True)):
        clock.set(moment)
        sla = SlaClock(gf.calendar, gf.now()).of(gf.get_task(task.id))
        assert (sla.state == "overdue") is overdue
        assert sla.remaining == (0 if overdue else 1)
        listed = [t.id for t in gf.inbox("alice", view="overdue").tasks]
        assert listed == ([task.id] if overdue else [])


def test_S5_a_case_keeps_the_rules_of_the_profile_it_started_under(gf, clock) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")       # default: no S5
    hubei = with_profile(gf, clock, "hubei")  # the deployment switches profiles meanwhile
    clock.set(runs_out(2026, 12, 4))
    assert hubei.fire_due_timers().fired == ((case.id, "BoundaryEvent_answer_deadline"),)
    late = hubei.get_case(case.id)
    assert late.status == "running" and "outcome" not in late.data   # no deemed approval
    assert open_elements(late) == ["UserTask_provider_review_late"]
    assert hubei.start_case("share_request", REQUEST).data["jurisdiction_profile"] == "hubei"
