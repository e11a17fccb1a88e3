"""Every BPMN construct govflow runs behaves the same when each step runs in a fresh engine.

Each step below (start, complete, timer sweep) is taken by a new `Govflow` with its
workflow and spec caches off, so the case and its spec are restored from the database
every time, as in a freshly started process (a CLI command, a web server restart).
The models are in tests/engine/corpus/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.cases.govflow import Govflow
from engine.cases.history import case_path
from engine.cases.models import CaseView
from engine.people import directory
from engine.time.clock import FrozenClock

CORPUS = Path(__file__).parent / "corpus"


class FreshSteps:
    """Drives cases with a new engine (caches off) for every step."""

    def __init__(self, gf: Govflow, clock: FrozenClock) -> None:
        self.db, self.clock = gf.db, clock
        with gf.db.write() as conn:
            directory.add_group(conn, "reviewers", "Reviewers")
            for user in ("rita", "ravi", "rosa"):
                directory.add_group(conn, f"reviewer_{user}", f"Reviewer {user}")
                directory.add_user(conn, user, user.title(), password=None,
                                   groups_=["reviewers", f"reviewer_{user}"], now=clock.now())
        for path in sorted(CORPUS.glob("*.bpmn")):
            self.engine().deploy(path.read_bytes(), path.name)

    def engine(self) -> Govflow:
        return Govflow(self.db, clock=self.clock, verify_state=True, cache=False)

    def start(self, process_id: str, data: dict[str, Any] | None = None) -> CaseView:
        return self.engine().start_case(process_id, data or {}, user="rita")

    def complete(self, case: CaseView, element_id: str, data: dict[str, Any] | None = None,
                 *, user: str = "rita") -> CaseView:
        task = open_tasks(case, element_id)[0]
        return self.engine().complete_task(task.id, user, data or {})

    def after(self, case: CaseView, **delta: float) -> CaseView:
        """Move the clock on, run one timer sweep in a fresh engine and reload the case."""
        self.clock.advance(**delta)
        firing = self.engine().fire_due_timers()
        assert firing.conflicts == ()
        return self.engine().get_case(case.id)


def open_tasks(case: CaseView, element_id: str) -> list[Any]:
    return [t for t in case.tasks if t.element_id == element_id and t.state == "open"]


def open_elements(case: CaseView) -> list[str]:
    return sorted(t.element_id for t in case.tasks if t.state == "open")


def timer_elements(case: CaseView) -> list[str]:
    return sorted(t.element_id for t in case.timers)


@pytest.fixture
def steps(gf: Govflow, clock: FrozenClock) -> FreshSteps:
    return FreshSteps(gf, clock)


def assert_healthy(case: CaseView) -> None:
    assert case.status != "error", case.incident


def test_parallel_multi_instance_collects_every_vote(steps: FreshSteps) -> None:
    case = steps.start("mi_parallel", {"reviewers": ["reviewer_rita", "reviewer_ravi",
                                                     "reviewer_rosa"]})
    votes = open_tasks(case, "UserTask_vote")
    assert sorted(t.candidate_groups for t in votes) == [
        ("reviewer_ravi",), ("reviewer_rita",), ("reviewer_rosa",)]
    for user, vote in (("ravi", "yes"), ("rosa", "no"), ("rita", "yes")):
        task = next(t for t in votes if t.candidate_groups == (f"reviewer_{user}",))
        case = steps.engine().complete_task(task.id, user, {"vote": vote})
        assert_healthy(case)
    assert case.status == "completed"
    assert case.data["votes"] == ["yes", "no", "yes"]  # in reviewer order, not answer order
    assert case.data["approvals"] == 2



def test_the_diagram_marks_a_multi_instance_task_by_its_element(steps: FreshSteps) -> None:
    case = steps.start("mi_parallel", {"reviewers": ["reviewer_rita", "reviewer_ravi"]})
    gf = steps.engine()
    with gf.db.read() as conn:
        path = case_path(conn, gf.store, gf.definitions, case.id)
    assert path.active == ("UserTask_vote",)


def test_sequential_multi_instance_opens_one_instance_after_another(steps: FreshSteps) -> None:
    case = steps.start("mi_sequential", {"signers": 3})
    for n in range(3):
        assert open_elements(case) == ["UserTask_sign"], n
        case = steps.complete(case, "UserTask_sign", {"signature": f"s{n}"})
        assert_healthy(case)
    assert open_elements(case) == ["UserTask_archive"]
    assert case.data["signatures"] == ["s0", "s1", "s2"]
    assert steps.complete(case, "UserTask_archive").status == "completed"


def test_standard_loop_repeats_until_its_condition_is_false(steps: FreshSteps) -> None:
    case = steps.start("standard_loop")
    for answer in ("draft 1", "draft 2"):
        case = steps.complete(case, "UserTask_draft", {"answer": answer})
        assert_healthy(case)
        assert open_elements(case) == ["UserTask_draft"]
    case = steps.complete(case, "UserTask_draft", {"answer": "final"})
    assert open_elements(case) == ["UserTask_publish"]
    assert steps.complete(case, "UserTask_publish").status == "completed"


def test_timer_event_subprocesses_run_beside_the_work(steps: FreshSteps) -> None:
    case = steps.start("event_subprocess")
    assert timer_elements(case) == ["Start_escalate", "Start_remind"]
    case = steps.after(case, minutes=30)
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_remind", "UserTask_work"]
    assert timer_elements(case) == ["Start_escalate"]
    case = steps.complete(case, "UserTask_remind")
    case = steps.complete(case, "UserTask_work")
    # SpiffWorkflow ends the process only once its event subprocesses have run
    assert case.status == "running" and open_elements(case) == []
    case = steps.after(case, minutes=90)
    assert open_elements(case) == ["UserTask_escalate"] and case.timers == ()
    assert steps.complete(case, "UserTask_escalate").status == "completed"


def test_signal_event_subprocess_starts_when_the_signal_is_thrown(steps: FreshSteps) -> None:
    case = steps.start("signal_event_subprocess")
    assert open_elements(case) == ["UserTask_check"]
    case = steps.complete(case, "UserTask_check", {"valid": False})
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_fix", "UserTask_note"]
    case = steps.complete(case, "UserTask_fix")
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_note"]
    assert steps.complete(case, "UserTask_note").status == "completed"
    # the next case starts at its first task only: the event subprocess waits for its signal
    again = steps.start("signal_event_subprocess")
    assert open_elements(again) == ["UserTask_check"]
    assert steps.complete(again, "UserTask_check", {"valid": True}).status == "completed"


def test_boundary_timers_on_a_subprocess(steps: FreshSteps) -> None:
    case = steps.start("subprocess_boundary")
    assert open_elements(case) == ["UserTask_handle"]
    assert timer_elements(case) == ["BoundaryEvent_late", "BoundaryEvent_remind"]
    case = steps.after(case, hours=1)
    assert open_elements(case) == ["UserTask_handle", "UserTask_remind"]
    case = steps.after(case, hours=2)
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_late", "UserTask_remind"]
    assert case.timers == ()
    case = steps.complete(case, "UserTask_late")
    assert steps.complete(case, "UserTask_remind").status == "completed"


def test_a_subprocess_finished_in_time_cancels_its_timers(steps: FreshSteps) -> None:
    case = steps.start("subprocess_boundary")
    case = steps.complete(case, "UserTask_handle")
    assert open_elements(case) == ["UserTask_confirm"] and case.timers == ()
    assert steps.complete(case, "UserTask_confirm").status == "completed"


def test_event_based_gateway_schedules_and_fires_its_timer(steps: FreshSteps) -> None:
    case = steps.start("event_gateway")
    assert_healthy(case)
    assert timer_elements(case) == ["Catch_limit"]
    (timer,) = case.timers
    assert timer.fire_at == steps.clock.now() + dt.timedelta(hours=2)
    case = steps.after(case, hours=1)
    assert open_elements(case) == [] and timer_elements(case) == ["Catch_limit"]
    case = steps.after(case, hours=1)
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_chase"] and case.timers == ()
    assert steps.complete(case, "UserTask_chase").status == "completed"


def test_transaction_completes_or_is_cancelled(steps: FreshSteps) -> None:
    paid = steps.start("transaction")
    paid = steps.complete(paid, "UserTask_pay", {"paid": True})
    assert open_elements(paid) == ["UserTask_receipt"]
    assert steps.complete(paid, "UserTask_receipt").status == "completed"

    cancelled = steps.start("transaction")
    cancelled = steps.complete(cancelled, "UserTask_pay", {"paid": False})
    assert_healthy(cancelled)
    assert open_elements(cancelled) == ["UserTask_refund"]
    assert steps.complete(cancelled, "UserTask_refund").status == "completed"


def test_an_interrupting_timer_on_a_multi_instance_task_cancels_every_instance(
        steps: FreshSteps) -> None:
    case = steps.start("mi_timer", {"reviewers": ["reviewers"] * 3})
    case = steps.complete(case, "UserTask_vote", {"vote": "yes"})
    assert len(open_tasks(case, "UserTask_vote")) == 2
    case = steps.after(case, hours=1)
    assert_healthy(case)
    assert open_elements(case) == ["UserTask_late"] and case.timers == ()
    votes = sorted(t.state for t in case.tasks if t.element_id == "UserTask_vote")
    assert votes == ["cancelled", "cancelled", "completed"]
    assert steps.complete(case, "UserTask_late").status == "completed"


def test_an_instance_without_a_group_is_an_incident_that_retry_fixes(steps: FreshSteps) -> None:
    case = steps.start("mi_parallel", {"reviewers": ["reviewer_rita", ""]})
    assert case.status == "error" and case.tasks == ()
    assert case.incident["element_id"] == "UserTask_vote"
    assert "no candidate group" in case.incident["message"]
    fixed = steps.engine().retry_case(case.id, "rita", {"reviewer": "reviewer_ravi"})
    assert_healthy(fixed)
    assert sorted(t.candidate_groups for t in fixed.tasks) == [
        ("reviewer_ravi",), ("reviewer_rita",)]
    for task in fixed.tasks:
        user = task.candidate_groups[0].removeprefix("reviewer_")
        done = steps.engine().complete_task(task.id, user, {"vote": "yes"})
    assert done.status == "completed" and done.data["approvals"] == 2



def test_the_cache_setting_comes_from_the_environment(gf: Govflow, monkeypatch) -> None:
    monkeypatch.setenv("GOVFLOW_WORKFLOW_CACHE", "0")
    uncached = Govflow(gf.db, clock=gf.clock)
    uncached.start_case("data_error_check", {
        "requester_dept": "dept_civil", "provider_dept": "dept_health", "dataset": "出生医学证明",
        "problem": "wrong", "details": "出生日期早于母亲出生日期"})
    assert uncached.cache is False
    assert not uncached.store._cache and not uncached.definitions._by_id  # nothing kept
    monkeypatch.setenv("GOVFLOW_WORKFLOW_CACHE", "1")
    assert Govflow(gf.db, clock=gf.clock).cache is True
    monkeypatch.delenv("GOVFLOW_WORKFLOW_CACHE")
    assert Govflow(gf.db, clock=gf.clock, cache=False).cache is False
