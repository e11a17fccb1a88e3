"""撤回, 退回, 委派 and 会签/或签, each step in an engine with the workflow cache off (as a
fresh process restores the case), with the audit trail and the bell checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError, Conflict, InvalidTaskData, NotAllowed
from engine.store.schema import outbox, reminders

MODELS = Path(__file__).parent / "approvals"
CONDITIONAL = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
               "data_items": ["姓名", "出生日期"]}


@pytest.fixture
def workflow_cache() -> bool:
    return False


@pytest.fixture
def models(gf: Govflow) -> Govflow:
    gf.deploy_paths([MODELS])
    return gf


def open_task(case, element: str):
    return next(t for t in case.tasks if t.element_id == element and t.state == "open")


def actions(gf: Govflow, case_id: int) -> list[str]:
    return [e.action for e in gf.get_case(case_id).events]


# -- 撤回 -------------------------------------------------------------------------------
def test_the_applicant_withdraws_an_undecided_case(gf: Govflow) -> None:
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    task = case.tasks[0]
    gf.claim_task(task.id, "alice")
    with pytest.raises(NotAllowed):  # a reviewer is not the applicant
        gf.withdraw_case(case.id, "alice", "不再需要")
    with pytest.raises(InvalidTaskData):
        gf.withdraw_case(case.id, "carl", "  ")
    done = gf.withdraw_case(case.id, "carl", "业务已调整，不再需要该数据")
    assert done.status == "withdrawn" and done.completed_at is not None
    reread = gf.get_case(case.id)
    assert reread.status == "withdrawn" and reread.timers == ()
    assert [t.state for t in reread.tasks] == ["cancelled"]
    assert reread.tasks[0].completed_by == "carl"
    withdrawn = [e for e in reread.events if e.action == "case_withdrawn"]
    assert withdrawn[0].actor == "carl" and withdrawn[0].details["reason"].startswith("业务")
    assert "case_completed" not in actions(gf, case.id)
    assert gf.inbox("alice").total == 0
    with gf.db.read() as conn:
        pending = conn.execute(select(reminders.c.id).where(
            reminders.c.task_id == task.id, reminders.c.state == "pending")).all()
        told = conn.execute(select(outbox.c.recipient).where(
            outbox.c.kind == "case_withdrawn")).scalars().all()
    assert pending == [] and told == ["user:alice"]
    with pytest.raises(Conflict):
        gf.withdraw_case(case.id, "carl", "再次撤回")
    assert gf.verify_audit() == []


def test_a_member_of_the_requesting_department_may_withdraw(gf: Govflow) -> None:
    from engine.people import directory

    with gf.db.write() as conn:
        directory.add_user(conn, "cathy", "Cathy", password=None, groups_=["dept_civil"],
                           now=gf.now())
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    assert gf.withdraw_case(case.id, "cathy", "部门决定撤回").status == "withdrawn"


def test_a_step_may_forbid_withdrawal_and_a_decided_case_cannot_be_withdrawn(
        models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    case = gf.complete_task(open_task(case, "UserTask_first").id, "alice", {})
    case = gf.complete_task(open_task(case, "UserTask_second").id, "dora", {})
    with pytest.raises(NotAllowed, match="UserTask_final"):
        gf.withdraw_case(case.id, "carl", "想撤回")
    gf.complete_task(open_task(case, "UserTask_final").id, "dora", {})
    with pytest.raises(Conflict):
        gf.withdraw_case(case.id, "carl", "想撤回")


# -- 退回 -------------------------------------------------------------------------------
def test_a_task_goes_back_to_an_earlier_step_with_a_new_due_date(models: Govflow,
                                                                  clock) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    first = open_task(case, "UserTask_first")
    case = gf.complete_task(first.id, "alice", {})
    second = open_task(case, "UserTask_second")
    clock.advance(days=3)
    assert gf.return_targets(second.id) == [("UserTask_first", "First review")]
    with pytest.raises(NotAllowed):  # not a candidate of the second review
        gf.return_task(second.id, "alice", "UserTask_first", "材料不全")
    with pytest.raises(NotAllowed):  # not an earlier step
        gf.return_task(second.id, "dora", "UserTask_final", "材料不全")
    back = gf.return_task(second.id, "dora", "UserTask_first", "材料不全，请补充")
    reopened = open_task(back, "UserTask_first")
    assert reopened.candidate_groups == ("dept_health",) and reopened.assignee is None
    assert reopened.due_at > first.due_at  # 5 working days from the return, not the start
    tasks = gf.get_case(case.id).tasks
    assert sorted((t.element_id, t.state) for t in tasks) == [
        ("UserTask_first", "completed"), ("UserTask_first", "open"),
        ("UserTask_second", "cancelled")]
    returned = [e for e in gf.get_case(case.id).events if e.action == "task_returned"][0]
    assert (returned.actor, returned.details["to"], returned.details["reason"]) == (
        "dora", "UserTask_first", "材料不全，请补充")
    assert [t.id for t in gf.inbox("alice").tasks] == [reopened.id]
    with gf.db.read() as conn:
        rungs = conn.execute(select(reminders.c.state).where(
            reminders.c.task_id == reopened.id)).scalars().all()
    assert rungs and set(rungs) == {"pending"}
    # The case runs on from the reopened step.
    case = gf.complete_task(reopened.id, "amy", {})
    case = gf.complete_task(open_task(case, "UserTask_second").id, "dora", {})
    final = open_task(case, "UserTask_final")
    with pytest.raises(NotAllowed, match="does not allow"):
        gf.return_task(final.id, "dora", "UserTask_first", "再退回")
    assert gf.complete_task(final.id, "dora", {}).status == "completed"
    assert gf.verify_audit() == []


# -- 委派 -------------------------------------------------------------------------------
def test_a_delegate_works_the_task_and_hands_it_back_for_submission(models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    task = open_task(case, "UserTask_first")
    with pytest.raises(NotAllowed):  # claim first
        gf.delegate_task(task.id, "alice", "carl", "请提供意见")
    gf.claim_task(task.id, "alice")
    with pytest.raises(NotAllowed):
        gf.delegate_task(task.id, "alice", "nobody", "请提供意见")
    assert gf.delegate_task(task.id, "alice", "carl", "请提供意见").assignee == "carl"
    assert [t.id for t in gf.inbox("carl", view="mine").tasks] == [task.id]
    for attempt in (lambda: gf.complete_task(task.id, "carl", {}),
                    lambda: gf.unclaim_task(task.id, "carl")):
        with pytest.raises(Conflict, match="delegated"):
            attempt()
    with pytest.raises(NotAllowed):
        gf.resolve_delegation(task.id, "alice", "意见")
    assert gf.resolve_delegation(task.id, "carl", "同意共享").assignee == "alice"
    case = gf.complete_task(task.id, "alice", {})
    assert open_task(case, "UserTask_second")
    events = [(e.action, e.actor, (e.details or {}).get("to"))
              for e in gf.get_case(case.id).events if "deleg" in e.action]
    assert events == [("task_delegated", "alice", "carl"),
                      ("task_delegation_resolved", "carl", "alice")]


def test_a_step_may_forbid_delegation(models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {})
    case = gf.complete_task(open_task(case, "UserTask_first").id, "alice", {})
    case = gf.complete_task(open_task(case, "UserTask_second").id, "dora", {})
    final = open_task(case, "UserTask_final")
    gf.claim_task(final.id, "dora")
    with pytest.raises(NotAllowed, match="does not allow delegation"):
        gf.delegate_task(final.id, "dora", "carl", "请处理")


# -- 会签 / 或签 ------------------------------------------------------------------------
SIGNERS = {"signers": ["dept_health", "dept_civil", "data_authority"]}
SIGNER_OF = {"dept_health": "alice", "dept_civil": "carl", "data_authority": "dora"}


def sign(gf: Govflow, case, group: str):
    task = next(t for t in case.tasks if t.element_id == "UserTask_sign" and t.state == "open"
                and t.candidate_groups == (group,))
    return gf.complete_task(task.id, SIGNER_OF[group], {"opinion": f"{group} 同意"})


@pytest.mark.parametrize(("mode", "needed"), [("all", 3), ("any", 1), ("2", 2)])
def test_countersign_finishes_by_its_approval_mode(models: Govflow, mode: str,
                                                  needed: int) -> None:
    gf = models
    case = gf.start_case(f"countersign_{mode}", SIGNERS)
    instances = [t for t in case.tasks if t.element_id == "UserTask_sign"]
    assert sorted(t.candidate_groups for t in instances) == [
        ("data_authority",), ("dept_civil",), ("dept_health",)]
    assert all(t.due_at is not None for t in instances)
    assert [t.id for t in gf.inbox("carl").tasks] == [
        t.id for t in instances if t.candidate_groups == ("dept_civil",)]
    for group in SIGNERS["signers"][:needed]:
        assert not [t for t in case.tasks if t.element_id == "UserTask_after"]
        case = sign(gf, case, group)
    case = gf.get_case(case.id)
    states = sorted(t.state for t in case.tasks if t.element_id == "UserTask_sign")
    assert states == sorted(["completed"] * needed + ["cancelled"] * (3 - needed))
    assert open_task(case, "UserTask_after")
    assert len(case.data["opinions"]) >= needed


def test_an_unknown_approval_mode_is_refused_at_deploy(gf: Govflow) -> None:
    xml = (MODELS / "countersign_any.bpmn").read_bytes().replace(
        b'value="any"', b'value="most"').replace(b"countersign_any", b"countersign_most")
    with pytest.raises(BpmnValidationError, match="approvalMode"):
        gf.deploy(xml, "countersign_most.bpmn")


# -- 抄送 -------------------------------------------------------------------------------
def test_a_case_is_copied_for_information_and_shown_read_only(gf: Govflow) -> None:
    from engine.people import access
    from engine.people.access import Viewer

    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    with pytest.raises(NotAllowed):  # pete neither applied nor reviews it
        gf.copy_case(case.id, "pete", ["user:rita"])
    with pytest.raises(NotAllowed):
        gf.copy_case(case.id, "carl", ["user:nobody"])
    with pytest.raises(InvalidTaskData):
        gf.copy_case(case.id, "carl", ["rita"])
    assert gf.copy_case(case.id, "carl", ["user:rita", "group:dept_public_security"],
                        "请知悉") == ["group:dept_public_security", "user:rita"]
    with pytest.raises(Conflict):
        gf.copy_case(case.id, "carl", ["user:rita"])
    assert [c.case_id for c in gf.copies_for("rita")] == [case.id]
    assert [(c.copied_by, c.note) for c in gf.copies_for("pete")] == [("carl", "请知悉")]
    assert gf.copies_for("alice") == []
    with gf.db.read() as conn:
        access.require_case(conn, Viewer("pete", frozenset({"dept_public_security"})), case.id)
        told = sorted(conn.execute(select(outbox.c.recipient).where(
            outbox.c.kind == "case_copied")).scalars())
    assert told == ["group:dept_public_security", "user:rita"]
    assert gf.inbox("pete").total == 0  # information only: no task to work
    copied = [e for e in gf.get_case(case.id).events if e.action == "case_copied"]
    assert copied[0].details["to"] == ["group:dept_public_security", "user:rita"]


def test_a_step_may_forbid_copying(models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    assert gf.copy_case(case.id, "alice", ["user:rita"]) == ["user:rita"]
    xml = (MODELS / "two_reviews.bpmn").read_bytes().replace(
        b'value="5" />', b'value="5" /><spiffworkflow:property name="allowCopy" value="false" />')
    gf.deploy(xml, "two_reviews.bpmn")
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    with pytest.raises(NotAllowed, match="does not allow copying"):
        gf.copy_case(case.id, "carl", ["user:rita"])


# -- 加签 -------------------------------------------------------------------------------
def test_a_signer_added_before_signs_first_and_the_task_comes_back(models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    task = open_task(case, "UserTask_first")
    gf.claim_task(task.id, "alice")
    with pytest.raises(InvalidTaskData):
        gf.add_signer(task.id, "alice", "dora", "sideways", "请会签")
    assert gf.add_signer(task.id, "alice", "dora", "before", "请先会签").assignee == "dora"
    with pytest.raises(Conflict):  # dora signs by handing it back, not by submitting
        gf.complete_task(task.id, "dora", {})
    assert gf.resolve_delegation(task.id, "dora", "同意").assignee == "alice"
    case = gf.complete_task(task.id, "alice", {})
    assert open_task(case, "UserTask_second")
    assert [e.action for e in gf.get_case(case.id).events if e.task_id == task.id][-3:] == [
        "signer_added_before", "task_delegation_resolved", "task_completed"]


def test_a_signer_added_after_makes_the_final_submission(models: Govflow) -> None:
    gf = models
    case = gf.start_case("two_reviews", {"requester_dept": "dept_civil"}, user="carl")
    task = open_task(case, "UserTask_first")
    gf.claim_task(task.id, "alice")
    gf.add_signer(task.id, "alice", "dora", "after", "我同意，请主任签发")
    with pytest.raises(Conflict):  # the task is dora's now
        gf.complete_task(task.id, "alice", {})
    case = gf.complete_task(task.id, "dora", {})
    done = next(t for t in gf.get_case(case.id).tasks if t.id == task.id)
    assert (done.state, done.completed_by) == ("completed", "dora")
    added = [e for e in gf.get_case(case.id).events if e.action == "signer_added_after"][0]
    assert (added.actor, added.details["to"], added.details["note"]) == (
        "alice", "dora", "我同意，请主任签发")


@pytest.mark.parametrize("attempt", range(2))
def test_a_withdrawal_racing_a_decision_gives_one_success_and_one_conflict(
        gf: Govflow, database_url: str, clock, attempt: int) -> None:
    import threading

    from engine.store.db import Database

    workers = [Govflow(Database(database_url), clock=clock, verify_state=True, cache=False)
               for _ in range(2)]
    case = gf.start_case("share_request", CONDITIONAL, user="carl")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def act(run) -> None:
        start.wait()
        try:
            run()
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(lambda: workers[0].complete_task(
                   case.tasks[0].id, "alice", {"decision": "approve"}),)),
               threading.Thread(target=act, args=(lambda: workers[1].withdraw_case(
                   case.id, "carl", "不再需要"),))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    final = gf.get_case(case.id)
    assert final.status in ("completed", "withdrawn")
    assert ("case_withdrawn" in [e.action for e in final.events]) == (final.status == "withdrawn")
    assert gf.verify_audit() == []
    for worker in workers:
        worker.db.dispose()


def test_countersign_over_three_named_users_puts_one_instance_in_each_inbox(
        models: Govflow) -> None:
    gf = models
    case = gf.start_case("countersign_users", {"signers": ["alice", "carl", "dora"]})
    instances = {t.assignee: t for t in case.tasks if t.element_id == "UserTask_sign"}
    assert sorted(instances) == ["alice", "carl", "dora"]
    assert all(t.candidate_groups == () and t.due_at for t in instances.values())
    for user in ("alice", "carl", "dora"):
        assert [t.id for t in gf.inbox(user, view="mine").tasks] == [instances[user].id]
        assert not open_tasks_named(gf.get_case(case.id), "UserTask_after")
        with pytest.raises(Conflict):  # another signer's instance
            gf.complete_task(instances["dora" if user != "dora" else "alice"].id, user, {})
        case = gf.complete_task(instances[user].id, user, {"opinion": f"{user} 同意"})
    assert open_tasks_named(case, "UserTask_after")
    assert sorted(case.data["opinions"]) == ["alice 同意", "carl 同意", "dora 同意"]


def open_tasks_named(case, element: str) -> list:
    return [t for t in case.tasks if t.element_id == element and t.state == "open"]


def test_returning_to_a_countersign_step_opens_every_instance_again(models: Govflow) -> None:
    gf = models
    case = gf.start_case("countersign_any", SIGNERS)
    case = sign(gf, case, "dept_civil")  # 或签: one signature is enough
    after = open_task(case, "UserTask_after")
    assert gf.return_targets(after.id) == [("UserTask_sign", "Sign")]
    back = gf.return_task(after.id, "dora", "UserTask_sign", "请重新会签")
    reopened = [t for t in back.tasks if t.element_id == "UserTask_sign" and t.state == "open"]
    assert sorted(t.candidate_groups for t in reopened) == [
        ("data_authority",), ("dept_civil",), ("dept_health",)]
    case = sign(gf, gf.get_case(case.id), "dept_health")
    assert open_task(case, "UserTask_after")


def test_a_case_with_an_incident_may_be_withdrawn(models: Govflow) -> None:
    gf = models
    broken = gf.start_case("countersign_all", {"signers": 7}, user="carl")  # not a list
    assert broken.status == "error"
    assert gf.withdraw_case(broken.id, "carl", "填错了，撤回重报").status == "withdrawn"
    assert gf.get_case(broken.id).incident is None
