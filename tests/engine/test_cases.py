"""Cases end to end through the engine services: start, inbox, claim, complete, audit."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import Conflict, InvalidTaskData, NotAllowed, TaskAlreadyClaimed

CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名", "出生日期"]}


def test_starting_a_case_runs_it_until_a_person_must_act(gf: Govflow) -> None:
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    assert case.status == "running"
    [task] = case.tasks
    assert (task.element_id, task.candidate_groups, task.lane) == (
        "UserTask_provider_review", ("dept_health",), "数据提供部门")
    assert task.title == "审核共享申请"
    started, checked = case.events
    assert started.action == "case_started" and started.details["data"]["provider_dept"]
    # S9: the system checked the request against the approved application scenarios.
    assert (checked.action, checked.actor, checked.rule) == ("system_decision", "system", "S9")


def test_candidate_groups_follow_the_case_data(gf: Govflow) -> None:
    case = gf.start_case("share_request", {**CONDITIONAL, "requester_dept": "dept_health",
                                           "dataset_id": "CIVIL-DIBAO", "data_items": ["姓名"]})
    assert case.tasks[0].candidate_groups == ("dept_civil",)
    assert gf.inbox("alice").total == 0
    assert gf.inbox("carl").tasks[0].id == case.tasks[0].id


def test_the_inbox_lists_claimed_and_group_tasks_sorted_by_due_date(gf: Govflow, clock) -> None:
    first = gf.start_case("share_request", CONDITIONAL).tasks[0]
    clock.advance(days=3)
    second = gf.start_case("share_request", CONDITIONAL).tasks[0]
    gf.claim_task(second.id, "amy")
    assert [t.id for t in gf.inbox("alice").tasks] == [first.id]
    assert [t.id for t in gf.inbox("amy").tasks] == [first.id, second.id]
    assert [t.id for t in gf.inbox("amy", view="mine").tasks] == [second.id]
    assert gf.inbox("amy", view="groups").total == 1
    page = gf.inbox("amy", per_page=1, page=2)
    assert (page.total, [t.id for t in page.tasks]) == (2, [second.id])


def test_a_claimed_task_can_only_be_completed_by_its_holder(gf: Govflow) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    gf.claim_task(task.id, "alice")
    with pytest.raises(TaskAlreadyClaimed):
        gf.claim_task(task.id, "amy")
    with pytest.raises(TaskAlreadyClaimed):
        gf.complete_task(task.id, "amy", {"decision": "approve"})
    case = gf.complete_task(task.id, "alice", {"decision": "approve"})
    assert case.status == "completed" and case.data["outcome"] == "granted"


def test_someone_outside_the_candidate_groups_may_not_claim_or_complete(gf: Govflow) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    with pytest.raises(NotAllowed):
        gf.claim_task(task.id, "carl")
    with pytest.raises(NotAllowed):
        gf.complete_task(task.id, "carl", {"decision": "approve"})
    assert gf.get_task(task.id).state == "open"


def test_completing_twice_gives_a_clear_conflict_and_one_step(gf: Govflow) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    gf.complete_task(task.id, "alice", {"decision": "approve"})
    with pytest.raises(Conflict, match="already completed by alice"):
        gf.complete_task(task.id, "amy", {"decision": "refuse", "decision_reason": "不符合",
                                          "legal_basis": "某条"})
    case = gf.get_case(task.case_id)
    assert [e.action for e in case.events].count("task_completed") == 1
    assert case.data["decision"] == "approve"


def test_invalid_form_data_is_rejected_field_by_field_and_the_task_stays_open(gf: Govflow) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    with pytest.raises(InvalidTaskData) as refused:
        gf.complete_task(task.id, "alice", {"decision": "refuse"})
    assert set(refused.value.errors) == {"decision_reason", "legal_basis"}
    with pytest.raises(InvalidTaskData) as extra:
        gf.complete_task(task.id, "alice", {"decision": "approve", "outcome": "granted"})
    assert "outcome" in extra.value.errors
    assert gf.get_task(task.id).state == "open"


def test_a_transfer_needs_a_reason_and_a_colleague_in_the_same_group(gf: Govflow) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    gf.claim_task(task.id, "alice")
    with pytest.raises(NotAllowed):
        gf.transfer_task(task.id, "alice", "carl", "休假")
    with pytest.raises(NotAllowed):
        gf.transfer_task(task.id, "alice", "amy", " ")
    moved = gf.transfer_task(task.id, "alice", "amy", "休假")
    assert moved.assignee == "amy"
    events = gf.get_case(task.case_id).events
    assert events[-1].action == "task_transferred" and events[-1].details["reason"] == "休假"


def test_the_audit_trail_detects_an_edited_event(gf: Govflow) -> None:
    from sqlalchemy import update

    from engine.store.schema import audit_events

    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    gf.complete_task(task.id, "alice", {"decision": "approve"})
    assert gf.verify_audit() == []
    with gf.db.write() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 2)
                     .values(actor="mallory"))
    problems = gf.verify_audit()
    assert problems and "altered" in problems[0]


def test_a_case_survives_a_restart_of_the_engine(gf: Govflow, clock) -> None:
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    fresh = Govflow(gf.db, clock=clock, verify_state=True)
    case = fresh.complete_task(task.id, "alice", {"decision": "approve"})
    assert case.status == "completed"


def test_inbox_totals_are_the_tasks_listed_each_counted_once(gf: Govflow, clock) -> None:
    """Totals are counted in SQL over every source of work: a task that two sources reach
    (held by a supervisor of its group) counts once."""
    from engine.cases import inbox
    from engine.people import access
    from engine.time.sla import SlaClock

    gf.set_supervisor("dept_health", "amy")
    held, waiting = (gf.start_case("share_request", CONDITIONAL).tasks[0] for _ in range(2))
    gf.claim_task(held.id, "amy")
    clock.advance(days=40)  # both overdue
    for view in ("all", "mine", "groups", "overdue"):
        page = gf.inbox("amy", view=view)
        assert page.total == len(page.tasks) == len({t.id for t in page.tasks}), view
    assert {t.id for t in gf.inbox("amy", view="overdue").tasks} == {held.id, waiting.id}
    with gf.db.read() as conn:
        counts = inbox.tab_counts(conn, access.load_viewer(conn, "amy"),
                                  SlaClock(gf.calendar, gf.now()))
    assert counts == {"mine": 1, "groups": 1, "overdue": 2}


def test_a_task_row_read_on_the_raw_cursor_fills_the_task_view_field_by_field() -> None:
    """The inbox reads `human_tasks.*` on the raw cursor into TaskView by position."""
    import dataclasses

    from engine.cases.models import TaskView
    from engine.store.schema import human_tasks

    assert [c.name for c in human_tasks.c] == [f.name for f in dataclasses.fields(TaskView)]
