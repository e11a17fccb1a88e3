"""Deploy refuses what could not run, naming the file, the element and the line.

Broken files are variants of `bpmn/share_request.bpmn`, as in test_bpmn_validation.py.
"""

from __future__ import annotations

import pytest

from engine.bpmn.parse import parse_bpmn
from tests.engine.test_bpmn_validation import FILE, line_of, rejects, variant

TIMER = (b'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
         b'deadline(received_at, limits["share_answer_days"])</bpmn:timeDate>')
SCRIPT = b'grant_reason = "approved" if decision == "approve" else "deemed approved (S5)"'
END = b'<bpmn:endEvent id="End_refused" name="\xe5\xb7\xb2\xe6\x8b\x92\xe7\xbb\x9d">'


def test_a_service_task_is_refused() -> None:
    xml = variant((END, b'<bpmn:serviceTask id="Service_call" />' + END))
    error = rejects(xml, element="Service_call", line=line_of(xml, b"<bpmn:serviceTask"))
    assert error.reason == ("govflow does not run service tasks; use a script task or a "
                            "message")


def test_an_ad_hoc_subprocess_is_refused() -> None:
    xml = variant((END, b'<bpmn:adHocSubProcess id="AdHoc_x"><bpmn:task id="Task_x" />'
                        b'</bpmn:adHocSubProcess>' + END))
    error = rejects(xml, element="AdHoc_x", line=line_of(xml, b"<bpmn:adHocSubProcess"))
    assert "does not run ad hoc subprocesses" in error.reason


@pytest.mark.parametrize(("script", "says"), [
    ("granted_at = datetime.now()", "uses module 'datetime'"),
    ("started = time.time()", "uses module 'time'"),
    ("answer = lookup(decision)", "calls 'lookup'"),
    ("when = timedelta(days=2)", "calls 'timedelta'"),
])
def test_a_script_that_uses_a_name_no_script_has_is_refused(script: str, says: str) -> None:
    xml = variant((SCRIPT, script.encode()))
    error = rejects(xml, element="Script_grant", line=line_of(xml, b"<bpmn:scriptTask"))
    assert error.reason.startswith("script is rejected: ") and says in error.reason


@pytest.mark.parametrize("script", [
    "def twice(n):\n    return 2 * n\nanswer = twice(len(decision))",
    "slot = time if time else 'morning'",            # a field of case data named time
    "due = deadline(received_at, limits['share_answer_days'])",
    "answer = sorted(set(decision.split()))",        # methods of data are fine
])
def test_scripts_using_builtins_helpers_data_and_their_own_functions_deploy(script) -> None:
    parse_bpmn(variant((SCRIPT, script.encode())), FILE)


def test_a_bare_iso_duration_is_taken_as_a_string() -> None:
    parsed = parse_bpmn(variant((TIMER, b"<bpmn:timeDate>PT30S</bpmn:timeDate>")), FILE)
    timer = parsed.spec.task_specs["Timer_deadline"].event_definition
    assert timer.expression == "'PT30S'"


@pytest.mark.parametrize(("kind", "value"), [
    ("timeDuration", "PT30X"), ("timeDuration", '"soon"'), ("timeDate", "'next monday'"),
    ("timeCycle", "'R3/every hour'"),
])
def test_a_timer_literal_that_is_no_iso_value_is_refused(kind: str, value: str) -> None:
    xml = variant((TIMER, f"<bpmn:{kind}>{value}</bpmn:{kind}>".encode()))
    error = rejects(xml, element="Timer_deadline", line=line_of(xml, b"<bpmn:boundaryEvent"))
    assert error.reason.startswith(f"timer {kind}: ") and "is not an ISO 8601" in error.reason


@pytest.mark.parametrize(("kind", "value", "says"), [
    ("timeDuration", "P99999999Y", "more than 100 years away"),
    ("timeCycle", "R/PT0S", "a cycle needs a positive interval"),
    ("timeCycle", "'R5/PT0S'", "a cycle needs a positive interval"),
])
def test_a_timer_literal_that_could_never_work_is_refused(kind, value, says) -> None:
    xml = variant((TIMER, f"<bpmn:{kind}>{value}</bpmn:{kind}>".encode()))
    error = rejects(xml, element="Timer_deadline", line=line_of(xml, b"<bpmn:boundaryEvent"))
    assert says in error.reason


def test_a_data_field_named_like_a_module_can_be_used() -> None:
    parse_bpmn(variant((SCRIPT, b"contact = email.strip()")), FILE)


@pytest.mark.parametrize(("old", "new", "element", "needle", "says"), [
    (b'attachedToRef="Task_review"', b'attachedToRef="NOPE"', "Timer_deadline",
     b"<bpmn:boundaryEvent", "attachedToRef 'NOPE' names no activity"),
    (b'attachedToRef="Task_review"', b'attachedToRef="Gateway_decision"', "Timer_deadline",
     b"<bpmn:boundaryEvent", "attachedToRef 'Gateway_decision' names no activity"),
    (b'default="Flow_refused"', b'default="Flow_approvedd"', "Gateway_decision",
     b"<bpmn:exclusiveGateway", "default flow 'Flow_approvedd' is not one of"),
    (b"<bpmn:flowNodeRef>Script_grant</bpmn:flowNodeRef>",
     b"<bpmn:flowNodeRef>NOPE</bpmn:flowNodeRef>", "Lane_provider", b"<bpmn:lane ",
     "flowNodeRef 'NOPE' names no element"),
])
def test_every_reference_must_resolve(old, new, element, needle, says) -> None:
    xml = variant((old, new))
    error = rejects(xml, element=element, line=line_of(xml, needle))
    assert says in error.reason


def test_a_signal_reference_must_resolve() -> None:
    throw = (b'<bpmn:intermediateThrowEvent id="Throw_ping"><bpmn:signalEventDefinition '
             b'id="Signal_def" signalRef="Signal_missing" /></bpmn:intermediateThrowEvent>')
    xml = variant((END, throw + END))
    error = rejects(xml, element="Signal_def", line=line_of(xml, b"<bpmn:signalEventDefinition"))
    assert "signalRef 'Signal_missing' names no bpmn:signal" in error.reason


EVENT_SUBPROCESS = (
    b'<bpmn:subProcess id="Sub_events" triggeredByEvent="true">'
    b'<bpmn:startEvent id="Start_events"{attrs}>{definition}</bpmn:startEvent>'
    b'<bpmn:sequenceFlow id="Flow_e" sourceRef="Start_events" targetRef="End_events" />'
    b'<bpmn:endEvent id="End_events" /></bpmn:subProcess>')
SIGNAL = b'<bpmn:signalEventDefinition id="Signal_def" signalRef="Signal_go" />'
ERROR = b'<bpmn:errorEventDefinition id="Error_def" errorRef="Error_go" />'
DECLARED = (b'<bpmn:signal id="Signal_go" name="go" /><bpmn:error id="Error_go" name="go" />'
            b'<bpmn:process id="share_request"')


START = b'<bpmn:startEvent id="Start_events"'


def event_subprocess(attrs: bytes, definition: bytes) -> bytes:
    sub = EVENT_SUBPROCESS.replace(b"{attrs}", attrs).replace(b"{definition}", definition)
    return variant((END, sub + END), (b'<bpmn:process id="share_request"', DECLARED))


def test_a_non_interrupting_signal_event_subprocess_deploys() -> None:
    parse_bpmn(event_subprocess(b' isInterrupting="false"', SIGNAL), FILE)


def test_an_interrupting_event_subprocess_is_refused() -> None:
    xml = event_subprocess(b"", SIGNAL)
    error = rejects(xml, element="Start_events", line=line_of(xml, START))
    assert 'isInterrupting="false"' in error.reason


def test_a_start_event_on_an_error_is_refused() -> None:
    xml = event_subprocess(b' isInterrupting="false"', ERROR)
    error = rejects(xml, element="Start_events", line=line_of(xml, START))
    assert "cannot wait for a errorEventDefinition" in error.reason


def test_an_event_based_gateway_with_two_timers_is_refused() -> None:
    timer = (b'<bpmn:intermediateCatchEvent id="Wait_{n}"><bpmn:timerEventDefinition>'
             b'<bpmn:timeDuration>PT{n}H</bpmn:timeDuration></bpmn:timerEventDefinition>'
             b'</bpmn:intermediateCatchEvent>'
             b'<bpmn:sequenceFlow id="Flow_w{n}" sourceRef="Race" targetRef="Wait_{n}" />'
             b'<bpmn:sequenceFlow id="Flow_d{n}" sourceRef="Wait_{n}" targetRef="End_race_{n}" />'
             b'<bpmn:endEvent id="End_race_{n}" />')
    race = (b'<bpmn:eventBasedGateway id="Race" />'
            + timer.replace(b"{n}", b"1") + timer.replace(b"{n}", b"2"))
    xml = variant((END, race + END))
    error = rejects(xml, element="Race", line=line_of(xml, b"<bpmn:eventBasedGateway"))
    assert "may wait for one timer only" in error.reason
