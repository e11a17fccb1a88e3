"""Two workers completing the same task at the same moment: one wins, one gets a conflict."""

from __future__ import annotations

import threading

import pytest

from engine.cases.govflow import Govflow
from engine.errors import Conflict
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
