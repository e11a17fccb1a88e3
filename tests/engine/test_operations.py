"""The operations console: incidents in words, holding and ending cases, stuck tasks moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from engine.cases.operations import CaseFilter, Operations
from engine.errors import Conflict, InvalidInput, UserNotFound
from engine.people.admin import People

MODELS = Path(__file__).parent / "models"
# HEALTH-BIRTH is conditional and provided by dept_health in the demo catalog.
SHARE = {"dataset_id": "HEALTH-BIRTH", "data_items": ["姓名"], "requester_dept": "dept_civil"}


@pytest.fixture
def ops(gf: Govflow) -> Operations:
    gf.deploy((MODELS / "probe.bpmn").read_bytes(), "probe.bpmn")
    return Operations(gf)


def test_an_incident_is_explained_fixed_in_the_case_data_and_retried(gf, ops) -> None:
    case = gf.start_case("probe", {"total": 10, "divisor": 0, "threshold": 1, "limit_days": 2})
    [found] = ops.incidents()
    assert (found.case_id, found.element_id, found.kind) == (
        case.id, "ScriptTask_compute", "division_by_zero")
    fixed = ops.fix_and_retry(case.id, "root", '{"total": 10, "divisor": 5, "threshold": 1,'
                                                ' "limit_days": 2}')
    assert fixed.status == "running" and fixed.data["ratio"] == 2
    retried = [e for e in fixed.events if e.action == "case_retried"]
    assert retried[0].actor == "root" and retried[0].details["data"] == {"divisor": 5}
    assert ops.incidents() == []


def test_a_missing_value_is_named(gf, ops) -> None:
    case = gf.start_case("probe", {"total": 10, "divisor": 2, "limit_days": 2})
    assert ops.incident(case.id)[1].fields == ("threshold",)
    with pytest.raises(InvalidInput):
        ops.fix_and_retry(case.id, "root", "{not json")


def test_a_suspended_case_cannot_be_worked_until_resumed(gf, ops) -> None:
    case = gf.start_case("share_request", SHARE, user="carl")
    task = case.tasks[0].id
    with pytest.raises(InvalidInput):
        ops.suspend(case.id, "root", "   ")
    ops.suspend(case.id, "root", "申请材料待核实")
    with pytest.raises(Conflict):
        gf.claim_task(task, "alice")
    with pytest.raises(Conflict):
        ops.suspend(case.id, "root", "again")
    ops.resume(case.id, "root", "核实完毕")
    assert gf.claim_task(task, "alice").assignee == "alice"
    events = [(e.action, e.actor, e.details.get("reason")) for e in gf.get_case(case.id).events]
    assert ("case_suspended", "root", "申请材料待核实") in events
    assert ("case_resumed", "root", "核实完毕") in events
    assert gf.verify_audit() == []


def test_a_cancelled_case_closes_its_tasks_and_timers(gf, ops) -> None:
    case = gf.start_case("share_request", SHARE, user="carl")
    ops.cancel(case.id, "root", "申请人撤回")
    after = gf.get_case(case.id)
    assert after.status == "cancelled" and after.timers == ()
    assert {t.state for t in after.tasks} == {"cancelled"}
    assert gf.inbox("alice").total == 0
    with pytest.raises(Conflict):
        ops.resume(case.id, "root", "no")


def test_stuck_tasks_come_first_and_are_reassigned_with_a_reason(gf, ops) -> None:
    people = People(gf.db, gf.now)
    first = gf.start_case("share_request", SHARE, user="carl").tasks[0].id
    second = gf.start_case("share_request", SHARE, user="carl").tasks[0].id
    gf.claim_task(second, "amy")
    people.set_active("amy", False)
    people.remove_member("alice", "dept_health")
    listed = {s.task.id: s.why for s in ops.open_tasks()}
    assert listed == {first: "no_active_member", second: "assignee_left"}
    with pytest.raises(UserNotFound):
        ops.reassign(first, "root", "没有人", to_user="amy")
    with pytest.raises(InvalidInput):
        ops.reassign(first, "root", "部门无人", to_group="dept_health")
    moved = ops.reassign(first, "root", "临时由数据中心办理", to_group="data_authority")
    assert moved.candidate_groups == ("data_authority",) and gf.inbox("dora").total == 1
    assert ops.reassign(second, "root", "王卫健已离职", to_user="dora").assignee == "dora"
    assert {s.why for s in ops.open_tasks()} == {""}
    event = gf.get_case(moved.case_id).events[-1]
    assert (event.action, event.details["reason"]) == ("task_reassigned", "临时由数据中心办理")


def test_cases_are_found_by_process_state_department_and_overdue(gf, ops, clock) -> None:
    share = gf.start_case("share_request", SHARE, user="carl")
    broken = gf.start_case("probe", {"total": 1, "divisor": 0, "threshold": 1, "limit_days": 2})
    ids = lambda **f: [r.id for r in ops.cases(CaseFilter(**f))[0]]  # noqa: E731
    assert ids(process_id="probe") == [broken.id]
    assert ids(status="error") == [broken.id]
    assert ids(department="dept_health") == [share.id]
    assert ids(overdue=True) == []
    clock.advance(days=30)
    assert ids(overdue=True) == [share.id]
