"""Messages: delivered to the one case waiting for them, by correlation, or start a case.

Every step runs in a fresh engine on the same database (nothing cached), as separate
`govflow` commands and web workers would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.cases.govflow import Govflow
from engine.errors import InvalidMessage, MessageNotDelivered, NotAllowed
from engine.store.db import Database
from engine.store.schema import cases, message_waits

BPMN = Path(__file__).parent / "bpmn"


@pytest.fixture
def fresh(gf: Govflow) -> Iterator[Callable[[], Govflow]]:
    """New engines on the test's database: nothing cached, as in another process."""
    made: list[Govflow] = []

    def new() -> Govflow:
        made.append(Govflow(Database(gf.db.url), clock=gf.clock, verify_state=True))
        return made[-1]

    gf.deploy_paths(sorted(BPMN.glob("msg_*.bpmn")))
    yield new
    for each in made:
        each.db.dispose()


def waits(gf: Govflow) -> set[tuple[int, str, str, str]]:
    with gf.db.read() as conn:
        return {(r.case_id, r.message, r.corr_key, r.corr_value)
                for r in conn.execute(select(message_waits))}


def actions(gf: Govflow, case_id: int) -> list[str]:
    return [e.action for e in gf.get_case(case_id).events]


def test_correlation_picks_the_one_waiting_case(gf: Govflow, fresh) -> None:
    one = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    two = fresh().start_case("msg_receiver", {"request_no": "R-2"})
    assert waits(gf) == {(one.id, "answer", "request_no", "R-1"),
                         (two.id, "answer", "request_no", "R-2")}
    delivered = fresh().send_message("answer", {"decision": "granted"},
                                     correlation={"request_no": "R-2"}, user="carl")
    assert (delivered.case_id, delivered.element_id, delivered.started) == (
        two.id, "Receive_answer", False)
    assert fresh().get_case(two.id).status == "completed"
    assert fresh().get_case(two.id).data["outcome"] == "granted"
    assert fresh().get_case(one.id).status == "running"
    assert waits(gf) == {(one.id, "answer", "request_no", "R-1")}
    received = [e for e in fresh().get_case(two.id).events if e.action == "message_received"]
    assert received[0].actor == "carl" and received[0].details["correlation"] == {
        "request_no": "R-2"}
    assert gf.verify_audit() == []


def test_a_message_matching_several_cases_or_none_is_refused_and_changes_nothing(
        gf: Govflow, fresh) -> None:
    one = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    two = fresh().start_case("msg_receiver", {"request_no": "R-2"})
    with pytest.raises(MessageNotDelivered, match="more than one case waits"):
        fresh().send_message("answer", {"decision": "granted"})
    with pytest.raises(MessageNotDelivered, match=r"no running case waits .*request_no=R-9"):
        fresh().send_message("answer", {"decision": "granted"},
                             correlation={"request_no": "R-9"})
    with pytest.raises(MessageNotDelivered, match="no running case waits"):
        fresh().send_message("no_such_message", {})
    for case in (one, two):
        assert fresh().get_case(case.id).status == "running"
        assert "message_received" not in actions(gf, case.id)


def test_a_message_names_its_case(gf: Govflow, fresh) -> None:
    one = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    fresh().start_case("msg_receiver", {"request_no": "R-2"})
    fresh().send_message("answer", {"decision": "refused"}, case_id=one.id)
    assert fresh().get_case(one.id).data["outcome"] == "refused"
    with pytest.raises(MessageNotDelivered, match=f"in case {one.id}"):
        fresh().send_message("answer", {"decision": "refused"}, case_id=one.id)


def test_an_intermediate_catch_takes_the_payload_into_the_case(gf: Govflow, fresh) -> None:
    case = fresh().start_case("msg_catch", {})
    done = fresh().send_message("reminder", {"note": "两周内答复"})
    assert done.case_id == case.id and done.status == "completed"
    assert fresh().get_case(case.id).data["note"] == "两周内答复"


def test_a_message_without_what_its_receiver_correlates_on_is_refused(gf: Govflow,
                                                                       fresh) -> None:
    # The message's correlation property reads request_no from every payload.
    receiver = (BPMN / "msg_receiver.bpmn").read_bytes().replace(
        b'<bpmn:process ', b'<bpmn:correlationProperty id="request_no" name="No.">'
        b'<bpmn:correlationPropertyRetrievalExpression messageRef="Message_answer">'
        b'<bpmn:formalExpression>request_no</bpmn:formalExpression>'
        b'</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>'
        b'<bpmn:process ')
    gf.deploy(receiver, "msg_receiver.bpmn")
    case = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    with pytest.raises(InvalidMessage, match=f"lacks what case {case.id} correlates on"):
        fresh().send_message("answer", {"decision": "granted"}, case_id=case.id)
    with pytest.raises(InvalidMessage, match="a message needs a name"):
        fresh().send_message(" ", {})
    assert "message_received" not in actions(gf, case.id)
    fresh().send_message("answer", {"decision": "granted", "request_no": "R-1"},
                         correlation={"request_no": "R-1"})
    assert fresh().get_case(case.id).data["outcome"] == "granted"


def test_a_message_without_the_data_the_receiver_needs_is_an_incident_there(
        gf: Govflow, fresh) -> None:
    case = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    # The receiver's script reads answer["decision"]: the incident names it, and a
    # retry with the data supplied finishes the case.
    fresh().send_message("answer", {}, case_id=case.id)
    broken = fresh().get_case(case.id)
    assert broken.status == "error" and broken.incident["element_id"] == "Script_read"
    done = fresh().retry_case(case.id, "root", {"answer": {"decision": "granted"}})
    assert done.status == "completed" and done.data["outcome"] == "granted"


def test_a_message_start_event_creates_a_case(gf: Govflow, fresh) -> None:
    delivered = fresh().send_message("report_filed", {"reporter": "市民"}, user="dora")
    assert delivered.started and delivered.element_id == "Start_on_report"
    case = fresh().get_case(delivered.case_id)
    assert case.process_id == "msg_start" and case.data["reporter"] == "市民"
    assert [t.element_id for t in case.tasks] == ["Task_handle_report"]
    assert case.events[0].action == "case_started"
    assert case.events[0].details["message_name"] == "report_filed"
    assert case.started_by == "dora"
    with pytest.raises(NotAllowed, match="starts on message 'report_filed'"):
        fresh().start_case("msg_start", {})


def test_a_send_task_wakes_the_case_waiting_for_its_answer(gf: Govflow, fresh) -> None:
    one = fresh().start_case("msg_receiver", {"request_no": "R-1"})
    two = fresh().start_case("msg_receiver", {"request_no": "R-2"})
    sender = fresh().start_case("msg_sender", {"request_no": "R-1", "decision": "granted"})
    assert sender.status == "completed"
    [sent] = [e for e in fresh().get_case(sender.id).events if e.action == "message_sent"]
    assert sent.details["message_name"] == "answer"
    assert sent.details["correlation"] == {"request_no": "R-1"}
    woken = fresh().get_case(one.id)
    assert woken.status == "completed" and woken.data["outcome"] == "granted"
    assert [e.actor for e in woken.events if e.action == "message_received"] == [
        f"case {sender.id}"]
    assert fresh().get_case(two.id).status == "running"


def test_models_answering_each_other_without_end_are_stopped_and_change_nothing(
        gf: Govflow, fresh) -> None:
    pong = fresh().start_case("msg_pong", {})
    with pytest.raises(MessageNotDelivered, match="woke 20 cases in a row"):
        fresh().start_case("msg_ping", {})
    assert actions(gf, pong.id) == ["case_started"]


def test_a_send_with_no_receiver_stops_the_sender_until_retried(gf: Govflow, fresh) -> None:
    sender = fresh().start_case("msg_sender", {"request_no": "R-7", "decision": "granted"})
    assert sender.status == "error"
    assert sender.incident["element_id"] == "Send_answer"
    assert "no running case waits for message 'answer' (request_no=R-7)" in (
        sender.incident["message"])
    receiver = fresh().start_case("msg_receiver", {"request_no": "R-7"})
    assert fresh().retry_case(sender.id, "root").status == "completed"
    assert fresh().get_case(receiver.id).data["outcome"] == "granted"


def test_one_pool_of_a_collaboration_starts_a_case_of_the_other(gf: Govflow, fresh) -> None:
    asker = fresh().start_case("msg_asker", {"question": "能否共享出生医学证明?"})
    assert asker.status == "completed"
    [sent] = [e for e in asker.events if e.action == "message_sent"]
    with gf.db.read() as conn:
        started = conn.execute(select(cases.c.id).where(cases.c.process_id == "msg_answerer")
                               ).scalar_one()
    answerer = fresh().get_case(started)
    assert answerer.started_by == f"case {asker.id}"
    assert answerer.data["question"] == sent.details["data"]["question"]
    assert [t.element_id for t in answerer.tasks] == ["Task_answer"]


def test_a_boundary_message_interrupts_the_task_it_is_attached_to(gf: Govflow, fresh) -> None:
    case = fresh().start_case("msg_boundary", {})
    assert {(m, k) for c, m, k, _ in waits(gf) if c == case.id} == {("withdrawn", "")}
    done = fresh().send_message("withdrawn", {"reason": "申请人撤回"}, case_id=case.id)
    assert done.element_id == "Boundary_withdrawn" and done.status == "completed"
    shown = fresh().get_case(case.id)
    assert shown.data["outcome"] == "withdrawn" and shown.data["reason"] == "申请人撤回"
    assert [t.state for t in shown.tasks] == ["cancelled"]
    assert not [w for w in waits(gf) if w[0] == case.id]
