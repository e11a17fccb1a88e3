"""Notices to the parties: receipt and outcome through their channel; a model's
"notified" flag is true only when the notice was queued with the step."""

from __future__ import annotations

from engine.cases.govflow import Govflow
from notifications.channels import WebhookChannel
from notifications.dispatch import Dispatcher
from tests.notifications.servers import WebhookReceiver
from tests.workflows.conftest import complete

OBJECTION = {"requester_name": "张三", "contact": "13800000000", "provider_dept": "dept_health",
             "dataset": "出生医学证明", "data_kind": "collected", "grounds": ["wrong"],
             "details": "我的出生日期登记为1990年1月2日，实为1990年1月20日",
             "evidence": ["户口簿复印件"]}
COMPLAINT = {"requester_name": "李四", "contact": "lisi@example.com",
             "handling_dept": "dept_civil", "subject": "办事要求重复提交证明",
             "details": "办理低保时被要求再次提交已共享的出生证明"}
HANDLED = {"finding": "substantiated", "handling_result": "已责令窗口改正并通报",
           "feedback": "经核实属实，已改正，感谢监督"}


def party_messages(gf: Govflow, case_id: int) -> list[tuple[str, str, str]]:
    return sorted((m.kind, m.channel, m.recipient) for m in gf.outbox_messages(case_id=case_id)
                  if m.kind.startswith("party_"))


def test_the_objector_gets_a_receipt_and_the_outcome_by_their_phone_bridge(gf, clock) -> None:
    case = gf.start_case("objection", OBJECTION)
    assert party_messages(gf, case.id) == [("party_receipt", "webhook", "phone:13800000000")]
    case = complete(gf, case, "UserTask_mark_objection", "dora", {"objection_marked": True})
    done = complete(gf, case, "UserTask_handle_objection", "dora", {
        "handling": "correct", "decision_reason": "核实属实", "correction_note": "改为1990-01-20"})
    assert done.status == "completed" and done.data["objector_notified"] is True
    assert party_messages(gf, case.id) == [  # the model's notice and the closing one are one
        ("party_outcome", "webhook", "phone:13800000000"),
        ("party_receipt", "webhook", "phone:13800000000")]
    with WebhookReceiver("k", lambda: clock.now().timestamp()) as hook:
        Dispatcher(gf, {"webhook": WebhookChannel(hook.url, "k")}).dispatch()
    texts = {m["kind"]: m["text"] for m in hook.accepted}
    assert "已更正" in texts["party_outcome"] and "核实属实" in texts["party_outcome"]
    assert f"GF{case.id:06d}" in texts["party_receipt"]


def test_a_party_who_left_no_address_is_not_marked_notified(gf) -> None:
    case = gf.start_case("complaint", {**COMPLAINT, "contact": "本人到窗口领取"})
    done = complete(gf, case, "UserTask_handle_complaint", "carl", HANDLED)
    assert done.data["complainant_notified"] is False
    assert party_messages(gf, case.id) == []
    reachable = gf.start_case("complaint", COMPLAINT)
    done = complete(gf, reachable, "UserTask_handle_complaint", "carl", HANDLED)
    assert done.data["complainant_notified"] is True
    assert party_messages(gf, reachable.id) == [
        ("party_outcome", "email", "email:lisi@example.com"),
        ("party_receipt", "email", "email:lisi@example.com")]


def test_the_objector_is_told_of_a_transfer_to_the_responsible_department(gf) -> None:
    case = gf.start_case("objection", OBJECTION)
    case = complete(gf, case, "UserTask_mark_objection", "dora", {"objection_marked": True})
    case = complete(gf, case, "UserTask_handle_objection", "dora",
                    {"handling": "transfer", "responsible_dept": "dept_civil"})
    assert case.data["objector_told_of_transfer"] is True
    [transfer] = [m for m in gf.outbox_messages(case_id=case.id) if m.kind == "party_transfer"]
    assert (transfer.recipient, transfer.payload["to"]) == ("phone:13800000000", "民政厅")
