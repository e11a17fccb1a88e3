"""The walk of a case's task tree (engine/bpmn/walk.py) finds what SpiffWorkflow's own
iterator finds, in the same order, for every state a question can ask about."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.walk import CaseWorkflow, walk
from engine.cases.govflow import Govflow
from engine.people import directory

CORPUS = Path(__file__).parent / "corpus"
STATES = [getattr(TaskState, name) for name in (
    "MAYBE", "LIKELY", "FUTURE", "WAITING", "READY", "STARTED", "COMPLETED", "ERROR",
    "CANCELLED", "FINISHED_MASK", "DEFINITE_MASK", "PREDICTED_MASK", "NOT_FINISHED_MASK",
    "ANY_MASK")]
CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名", "出生日期"]}


def _same_as_spiffworkflow(gf: Govflow, case_id: int) -> None:
    with gf.db.read() as conn:
        workflow, _ = gf.store.read_workflow(conn, case_id, gf.definitions)
    assert type(workflow) is CaseWorkflow and workflow.check  # the suite checks every walk
    for state in STATES:
        expected = list(BpmnTaskIterator(workflow.task_tree, state=state))
        if not workflow.subprocesses:   # the walk never descends into a subprocess
            assert list(walk(workflow.task_tree, state)) == expected, state
        assert workflow.get_tasks(state=state) == expected, state


def test_the_walk_agrees_at_every_step_of_a_share_request(gf: Govflow) -> None:
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    _same_as_spiffworkflow(gf, case.id)
    gf.complete_task(case.tasks[0].id, "alice", {"decision": "approve"})
    _same_as_spiffworkflow(gf, case.id)


@pytest.fixture
def reviewers(gf: Govflow) -> Govflow:
    for model in ("mi_parallel.bpmn", "standard_loop.bpmn", "event_subprocess.bpmn"):
        gf.deploy((CORPUS / model).read_bytes(), model)
    with gf.db.write() as conn:
        directory.add_group(conn, "reviewers", "Reviewers")
        for user in ("rita", "ravi"):
            directory.add_group(conn, f"reviewer_{user}", f"Reviewer {user}")
            directory.add_user(conn, user, user.title(), password=None,
                               groups_=["reviewers", f"reviewer_{user}"], now=gf.now())
    return gf


def test_the_walk_agrees_on_a_multi_instance_task(reviewers: Govflow) -> None:
    gf = reviewers
    case = gf.start_case("mi_parallel", {"reviewers": ["reviewer_rita", "reviewer_ravi"]})
    _same_as_spiffworkflow(gf, case.id)
    for task in case.tasks:
        user = task.candidate_groups[0].removeprefix("reviewer_")
        case = gf.complete_task(task.id, user, {"vote": "yes"})
        _same_as_spiffworkflow(gf, case.id)
    assert case.status == "completed"


def test_the_walk_agrees_on_a_standard_loop(reviewers: Govflow) -> None:
    gf = reviewers
    case = gf.start_case("standard_loop", {})
    for answer in ("draft 1", "final"):
        case = gf.complete_task(case.tasks[-1].id, "rita", {"answer": answer})
        _same_as_spiffworkflow(gf, case.id)


def test_a_tree_with_subprocesses_is_left_to_spiffworkflow(reviewers: Govflow, clock) -> None:
    gf = reviewers
    case = gf.start_case("event_subprocess", {})
    clock.advance(minutes=30)
    gf.fire_due_timers()
    with gf.db.read() as conn:
        workflow, _ = gf.store.read_workflow(conn, case.id, gf.definitions)
    assert workflow.subprocesses
    _same_as_spiffworkflow(gf, case.id)


def test_a_task_dated_before_1970_is_left_out_by_both(gf: Govflow) -> None:
    """SpiffWorkflow's filter keeps tasks changed at or after time 0; a state restored with
    an earlier time (edited by hand) is read the same by the walk."""
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    with gf.db.read() as conn:
        workflow, _ = gf.store.read_workflow(conn, case.id, gf.definitions)
    [ready] = [t for t in workflow.tasks.values() if t.state == TaskState.READY]
    ready.last_state_change = -1.0
    for state in STATES:
        assert list(walk(workflow.task_tree, state)) == list(
            BpmnTaskIterator(workflow.task_tree, state=state)), state
    assert workflow.get_tasks(state=TaskState.READY) == []
