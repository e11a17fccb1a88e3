"""Two workers completing the same task at the same moment: one wins, one gets a conflict."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from engine.cases.govflow import Govflow
from engine.errors import Conflict
from engine.people import directory
from engine.store.db import Database

CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名"]}


@pytest.mark.parametrize("attempt", range(3))
def test_a_concurrent_double_completion_gives_one_success_and_one_conflict(
        gf: Govflow, database_url: str, clock, attempt: int) -> None:
    workers = [Govflow(Database(database_url), clock=clock, verify_state=True) for _ in range(2)]
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    for worker in workers:  # both hold the workflow in their cache, as busy workers would
        worker.get_case(task.case_id)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(worker: Govflow, user: str, decision: dict[str, str]) -> None:
        start.wait()
        try:
            worker.complete_task(task.id, user, decision)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc.message}")

    threads = [
        threading.Thread(target=complete, args=(workers[0], "alice", {"decision": "approve"})),
        threading.Thread(target=complete, args=(workers[1], "amy", {
            "decision": "refuse", "decision_reason": "用途不明确", "legal_basis": "第二十条"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "ok"]
    case = gf.get_case(task.case_id)
    assert case.status == "completed"
    assert [e.action for e in case.events].count("task_completed") == 1
    assert gf.verify_audit() == []
    for worker in workers:
        worker.db.dispose()


def test_a_claim_race_has_exactly_one_winner(gf: Govflow, database_url: str, clock) -> None:
    workers = [Govflow(Database(database_url), clock=clock) for _ in range(2)]
    task = gf.start_case("share_request", CONDITIONAL).tasks[0]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(worker: Govflow, user: str) -> None:
        start.wait()
        try:
            worker.claim_task(task.id, user)
            outcomes.append(user)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(w, u))
               for w, u in zip(workers, ["alice", "amy"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("conflict") == 1
    assert gf.get_task(task.id).assignee in {"alice", "amy"} - {"conflict"}
    for worker in workers:
        worker.db.dispose()


def _reviewers(gf: Govflow, clock) -> None:  # type: ignore[no-untyped-def]
    votes = Path(__file__).parent / "corpus" / "mi_parallel.bpmn"
    gf.deploy(votes.read_bytes(), votes.name)
    with gf.db.write() as conn:
        for user in ("rita", "ravi", "rosa"):
            directory.add_group(conn, f"reviewer_{user}", f"Reviewer {user}")
            directory.add_user(conn, user, user.title(), password=None,
                               groups_=[f"reviewer_{user}"], now=clock.now())


def _votes(gf: Govflow) -> tuple[Any, ...]:
    """A vote of rita, ravi and rosa: the case and each one's task."""
    case = gf.start_case("mi_parallel", {"reviewers": [
        "reviewer_rita", "reviewer_ravi", "reviewer_rosa"]})
    return case, *(next(t for t in case.tasks if t.candidate_groups == (f"reviewer_{u}",))
                   for u in ("rita", "ravi", "rosa"))


def test_a_step_reads_before_the_write_lock_for_a_while_after_another_process_wrote(
        gf: Govflow, database_url: str, clock) -> None:
    """Alone, a worker steps a case it holds in one transaction. A case another worker
    changed meanwhile is restored under the lock and stepped right; for a while after,
    every step reads first, outside the lock, and then no longer."""
    _reviewers(gf, clock)
    case, rita, ravi, rosa = _votes(gf)
    transactions: list[object] = []
    event.listen(gf.db.engine, "begin", transactions.append)

    def vote(worker: Govflow, task: Any, user: str, choice: str) -> Any:
        transactions.clear()
        return worker.complete_task(task.id, user, {"vote": choice})

    vote(gf, rita, "rita", "yes")
    assert len(transactions) == 1
    other = Govflow(Database(database_url), clock=clock, verify_state=True)
    vote(other, ravi, "ravi", "no")
    case = vote(gf, rosa, "rosa", "yes")   # its cached copy is a step behind
    assert len(transactions) == 1
    assert case.status == "completed" and case.data["votes"] == ["yes", "no", "yes"]
    case, rita, ravi, rosa = _votes(gf)
    vote(gf, rita, "rita", "yes")
    assert len(transactions) == 2
    gf.store.others_window = 0.0                  # the while has passed
    vote(gf, ravi, "ravi", "yes")
    assert len(transactions) == 1
    assert gf.verify_audit() == []
    other.db.dispose()


# Two threads of one process, played in one thread: each CaseStore call below is the one
# the thread named in the comment makes, in an order the threads of a `govflow serve`
# process can take. Neither may pass for another process writing cases.

def test_a_late_warm_of_another_thread_does_not_replace_a_newer_copy(gf: Govflow,
                                                                     clock) -> None:
    _reviewers(gf, clock)
    case, rita, ravi, rosa = _votes(gf)
    store = gf.store
    held = store._take(case.id)                 # A: loads the case for its step
    assert store.needs_warming(ravi.id)         # B: finds it taken, so warms ...
    with gf.db.read() as conn:                  # ... restoring it at A's first revision
        late = store.load(conn, case.id, gf.definitions)
    store.put_back(held)
    gf.complete_task(rita.id, "rita", {"vote": "yes"})    # A: steps, commits, puts back
    store.put_back(late)                        # B: its warm ends after A's commit
    case = gf.complete_task(ravi.id, "ravi", {"vote": "no"})
    assert case.status == "running"
    assert not store.needs_warming(rosa.id)     # still one process to this one
    assert gf.complete_task(rosa.id, "rosa", {"vote": "yes"}).data["votes"] == [
        "yes", "no", "yes"]


def test_a_warm_that_read_before_a_commit_of_this_process_keeps_the_newer_copy(
        gf: Govflow, clock) -> None:
    _reviewers(gf, clock)
    case, rita, ravi, rosa = _votes(gf)
    with gf.db.read() as conn:                  # B: its warm's read transaction begins
        conn.execute(text("SELECT revision FROM cases WHERE id = :id"), {"id": case.id})
        gf.complete_task(rita.id, "rita", {"vote": "yes"})   # A: commits, puts back
        gf.store.warm(conn, ravi.id, gf.definitions)         # B: goes on
    assert not gf.store.needs_warming(ravi.id)
    transactions: list[object] = []
    event.listen(gf.db.engine, "begin", transactions.append)
    gf.complete_task(ravi.id, "ravi", {"vote": "no"})
    assert len(transactions) == 1               # the newer copy was kept and used
    assert gf.complete_task(rosa.id, "rosa", {"vote": "yes"}).data["votes"] == [
        "yes", "no", "yes"]
