"""engine.bpmn.parse: a valid file parses; every kind of broken file gives one BpmnValidationError.

Broken files are variants of `bpmn/share_request.bpmn` with one fragment replaced, and
expected line numbers are computed from the variant's own text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import engine.bpmn.parse
from engine.bpmn.parse import GOVFLOW_PROPERTIES, ParsedBpmn, iter_process_ids, parse_bpmn
from engine.errors import BpmnValidationError

FILE = "share_request.bpmn"
VALID = (Path(__file__).parent / "bpmn" / FILE).read_bytes()

TIMER = b'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">' \
        b'deadline(received_at, limits["share_answer_days"])</bpmn:timeDate>'
CONDITION = b'>decision == "approve"<'
GROUPS = b'<spiffworkflow:property name="candidateGroups" value="provider_reviewers" />'
RULE = b'<spiffworkflow:property name="rule" value="S3,S4" />'
END = b"</bpmn:definitions>"
# libxml2 gives an element the line of the ">" that closes its start tag; only the root's
# start tag spans several lines in the fixture.
DEFINITIONS_END = b'targetNamespace="http://govflow.example/bpmn">'


def variant(*replacements: tuple[bytes, bytes]) -> bytes:
    xml = VALID
    for old, new in replacements:
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml


def line_of(xml: bytes, needle: bytes, occurrence: int = 1) -> int:
    start = -1
    for _ in range(occurrence):
        start = xml.index(needle, start + 1)
    return xml[:start].count(b"\n") + 1


def rejects(xml: bytes, *, element: str | None, line: int | None) -> BpmnValidationError:
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn(xml, FILE)
    error = info.value
    assert (error.file, error.element, error.line) == (FILE, element, line)
    assert "\n" not in str(error) and "Traceback" not in str(error)
    assert error.reason and str(error).startswith(FILE)
    return error


def test_parses_a_share_request_with_lane_user_task_gateway_timer_and_diagram() -> None:
    parsed = parse_bpmn(VALID, FILE)

    assert isinstance(parsed, ParsedBpmn)
    assert parsed.process_id == "share_request"
    assert parsed.name == "政务数据共享申请"
    assert parsed.xml == VALID
    assert parsed.content_hash == hashlib.sha256(VALID).hexdigest()
    assert parsed.spec.name == "share_request"
    assert parsed.subprocess_specs == {}
    review = parsed.spec.task_specs["Task_review"]
    assert review.lane == "provider"
    assert review.extensions["properties"]["dueWorkingDays"] == 'limits["share_answer_days"]'
    assert set(review.extensions["properties"]) <= set(GOVFLOW_PROPERTIES)
    assert {"Timer_deadline", "Gateway_decision", "Script_grant"} <= set(parsed.spec.task_specs)


def test_same_bytes_give_the_same_hash_so_a_redeploy_is_recognised() -> None:
    first, second = parse_bpmn(VALID, FILE), parse_bpmn(bytes(VALID), "renamed.bpmn")
    assert first.content_hash == second.content_hash

    changed = parse_bpmn(VALID.replace(b"</bpmn:definitions>", b"</bpmn:definitions>\n"), FILE)
    assert changed.content_hash != first.content_hash


def test_lists_the_executable_process_ids_without_building_a_spec() -> None:
    assert iter_process_ids(VALID) == ["share_request"]


def test_malformed_xml_names_the_line_where_the_parser_stopped() -> None:
    xml = variant((b"</bpmn:scriptTask>", b""))
    error = rejects(xml, element=None, line=line_of(xml, b"</bpmn:process>"))
    assert "tag mismatch" in error.reason


def test_an_empty_file_is_malformed_xml_on_line_one() -> None:
    rejects(b"", element=None, line=1)


def test_an_unknown_attribute_is_reported_on_its_element() -> None:
    xml = variant((b'<bpmn:userTask id="Task_review"', b'<bpmn:userTask foo="1" id="Task_review"'))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert "'foo'" in error.reason and "{http" not in error.reason


def test_an_invalid_extension_element_is_reported_on_the_task_that_owns_it() -> None:
    xml = variant((RULE, RULE.replace(b" />", b"><x /></spiffworkflow:property>")))
    rejects(xml, element="Task_review", line=line_of(xml, b'name="rule"'))


def test_a_duplicate_id_is_reported_on_its_second_use() -> None:
    xml = variant((b'<bpmn:endEvent id="End_refused"', b'<bpmn:endEvent id="End_granted"'))
    rejects(xml, element="End_granted", line=line_of(xml, b'id="End_granted"', occurrence=2))


def test_a_file_without_a_process_is_rejected() -> None:
    xml = VALID.replace(b"bpmn:process", b"bpmn:category")
    error = rejects(xml, element="Definitions_share_request",
                    line=line_of(xml, DEFINITIONS_END))
    assert "no bpmn:process" in error.reason


def test_a_file_whose_only_process_is_not_executable_is_rejected() -> None:
    xml = variant((b'isExecutable="true"', b'isExecutable="false"'))
    rejects(xml, element="Definitions_share_request", line=line_of(xml, DEFINITIONS_END))


def test_a_second_executable_process_in_one_file_is_rejected() -> None:
    xml = variant((END, b'<bpmn:process id="other" isExecutable="true" />' + END))
    error = rejects(xml, element="other", line=line_of(xml, b'id="other"'))
    assert "share_request, other" in error.reason


def test_a_process_without_an_id_is_rejected() -> None:
    xml = variant((b'<bpmn:process id="share_request"', b"<bpmn:process"))
    rejects(xml, element=None, line=line_of(xml, b"<bpmn:process"))


@pytest.mark.parametrize("attribute, old", [
    ("targetRef", b'targetRef="End_refused"'), ("sourceRef", b'sourceRef="Script_grant"'),
])
def test_a_sequence_flow_pointing_at_no_element_is_reported_on_the_flow(
        attribute: str, old: bytes) -> None:
    xml = variant((old, old.replace(b'="', b'="Nowhere_')))
    line = line_of(xml, b'="Nowhere_')
    flow = xml.splitlines()[line - 1].split(b'id="')[1].split(b'"')[0].decode()
    error = rejects(xml, element=flow, line=line)
    assert attribute in error.reason and "Nowhere_" in error.reason


@pytest.mark.parametrize("condition", [b'decision ==== "approve"', b"().__class__"])
def test_a_condition_the_sandbox_rejects_is_reported_on_its_sequence_flow(
        condition: bytes) -> None:
    xml = variant((CONDITION, b">" + condition + b"<"))
    error = rejects(xml, element="Flow_approved", line=line_of(xml, b'id="Flow_approved"'))
    assert error.reason.startswith("conditionExpression is rejected: Line 1")


def test_an_empty_condition_is_rejected() -> None:
    xml = variant((CONDITION, b">  <"))
    rejects(xml, element="Flow_approved", line=line_of(xml, b'id="Flow_approved"'))


def test_a_script_task_error_names_the_task_and_the_line_within_the_script() -> None:
    xml = variant((b'grant_reason = "approved"', b'grant_reason = ("approved"'))
    error = rejects(xml, element="Script_grant", line=line_of(xml, b'<bpmn:scriptTask'))
    assert "Line 2" in error.reason


def test_an_empty_script_task_is_rejected() -> None:
    start = VALID.index(b"<bpmn:script>")
    xml = VALID[:start] + VALID[VALID.index(b"</bpmn:script>") + len(b"</bpmn:script>"):]
    rejects(xml, element="Script_grant", line=line_of(xml, b"<bpmn:scriptTask"))


@pytest.mark.parametrize("old", [b"review_started = True", b"reviewed = decision in"])
def test_pre_and_post_scripts_are_compiled_and_reported_on_their_task(old: bytes) -> None:
    xml = variant((old, b'__import__("os").system("id") or ' + old))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert "__import__" in error.reason


@pytest.mark.parametrize("kind", ["timeDate", "timeDuration", "timeCycle"])
def test_a_timer_expression_that_does_not_compile_is_reported_on_its_event(kind: str) -> None:
    xml = variant((TIMER, f"<bpmn:{kind}>deadline((</bpmn:{kind}>".encode()))
    error = rejects(xml, element="Timer_deadline", line=line_of(xml, b"<bpmn:boundaryEvent"))
    assert error.reason.startswith(f"timer {kind} is rejected")


def test_an_empty_timer_expression_is_rejected() -> None:
    xml = variant((TIMER, b"<bpmn:timeDate />"))
    error = rejects(xml, element="Timer_deadline", line=line_of(xml, b"<bpmn:boundaryEvent"))
    assert error.reason == "empty timer timeDate"


def test_a_timer_without_any_time_is_rejected() -> None:
    xml = variant((TIMER, b""))
    rejects(xml, element="Timer_deadline", line=line_of(xml, b"<bpmn:boundaryEvent"))


@pytest.mark.parametrize("name, old", [
    ("candidateGroupsExpression", GROUPS),
    ("dueWorkingDays", b'name="dueWorkingDays" value="limits[&quot;share_answer_days&quot;]" />'),
    ("dueFrom", b'name="dueFrom" value="received_at" />'),
])
def test_expression_valued_task_properties_are_compiled(name: str, old: bytes) -> None:
    bad = f'<spiffworkflow:property name="{name}" value="x[" />'.encode()
    xml = variant((old, bad if old == GROUPS else f'name="{name}" value="x[" />'.encode()))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert error.reason.startswith(f"property {name} is rejected")


@pytest.mark.parametrize("prop, words", [
    (b'<spiffworkflow:property name="dueWorkingDay" value="10" />', "unknown property"),
    (b'<spiffworkflow:property value="10" />', "needs both name and value"),
    (b'<spiffworkflow:property name="rule" value="S3 and S4" />', "rule ids"),
    (b'<spiffworkflow:property name="form" value="../secrets.json" />', "file name"),
    (b'<spiffworkflow:property name="candidateGroupsExpression" value="g" />', "not both"),
])
def test_malformed_govflow_properties_are_reported_on_their_task(prop: bytes, words: str) -> None:
    xml = variant((RULE, prop))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert words in error.reason


def test_static_candidate_groups_must_be_names_not_an_expression() -> None:
    xml = variant((GROUPS, GROUPS.replace(b"provider_reviewers", b"groups[0]")))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert "candidateGroupsExpression" in error.reason


LANE = b'<bpmn:lane id="Lane_provider" name="provider">'
LANE_GROUPS = LANE + (b'<bpmn:extensionElements><spiffworkflow:properties>'
                      b'<spiffworkflow:property name="candidateGroups" value="lane_a, lane_b" />'
                      b'</spiffworkflow:properties></bpmn:extensionElements>')


def test_a_user_task_without_groups_takes_the_candidate_groups_of_its_lane() -> None:
    parsed = parse_bpmn(variant((GROUPS, b""), (LANE, LANE_GROUPS)), FILE)
    properties = parsed.spec.task_specs["Task_review"].extensions["properties"]
    assert properties["candidateGroups"] == "lane_a, lane_b"
    # a task's own groups win over its lane's
    own = parse_bpmn(variant((LANE, LANE_GROUPS)), FILE)
    assert own.spec.task_specs["Task_review"].extensions["properties"]["candidateGroups"] == (
        "provider_reviewers")


def test_a_user_task_whose_lane_names_no_groups_is_rejected() -> None:
    xml = variant((GROUPS, b""))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert "its lane 'provider' names no candidateGroups property" in error.reason


def test_a_user_task_with_no_candidate_groups_and_no_lane_is_rejected() -> None:
    xml = variant((GROUPS, b""), (b"<bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>", b""))
    error = rejects(xml, element="Task_review", line=line_of(xml, b"<bpmn:userTask"))
    assert "nobody could claim it" in error.reason


def test_a_call_activity_to_a_process_outside_the_file_is_left_for_the_deploy_to_resolve(
        ) -> None:
    call = b'<bpmn:callActivity id="Call_other" calledElement="elsewhere" />'
    xml = variant((b"<bpmn:endEvent id=\"End_granted\"", call + b'<bpmn:endEvent id="End_granted"'))
    parsed = parse_bpmn(xml, FILE)
    assert parsed.calls == {"elsewhere": ("Call_other", line_of(xml, b"<bpmn:callActivity"))}


def test_a_call_activity_without_a_called_element_is_rejected() -> None:
    call = b'<bpmn:callActivity id="Call_other" />'
    xml = variant((b"<bpmn:endEvent id=\"End_granted\"", call + b'<bpmn:endEvent id="End_granted"'))
    rejects(xml, element="Call_other", line=line_of(xml, b"<bpmn:callActivity"))


def test_spiffworkflows_own_errors_keep_their_element_and_gain_a_line() -> None:
    # Without a default, the gateway's unconditioned flow is an error only SpiffWorkflow sees.
    xml = variant((b' default="Flow_refused"', b""))
    error = rejects(xml, element="Flow_refused", line=line_of(xml, b'id="Flow_refused"'))
    assert "without condition" in error.reason


def test_a_process_without_a_start_event_is_reported_on_the_process() -> None:
    xml = VALID.replace(b"bpmn:startEvent", b"bpmn:intermediateThrowEvent")
    error = rejects(xml, element="share_request", line=line_of(xml, b"<bpmn:process"))
    assert error.reason.startswith("No start event found")


def test_an_unexpected_exception_becomes_a_validation_error_without_its_stack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object, process_id: str) -> None:
        raise RuntimeError("boom\n  in the parser")

    monkeypatch.setattr(engine.bpmn.parse.SpiffBpmnParser, "get_spec", explode)
    error = rejects(VALID, element=None, line=None)
    assert error.reason == "RuntimeError: boom in the parser"
    assert error.__cause__ is None and error.__suppress_context__


SUBPROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_objection" targetNamespace="x">
  <bpmn:process id="objection" isExecutable="true">
    {lanes}
    <bpmn:startEvent id="Start_objection" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_objection" targetRef="Sub_check" />
    <bpmn:subProcess id="Sub_check">
      <bpmn:startEvent id="Sub_start" />
      <bpmn:sequenceFlow id="Flow_2" sourceRef="Sub_start" targetRef="Task_verify" />
      <bpmn:userTask id="Task_verify">{loop}</bpmn:userTask>
      <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_verify" targetRef="Sub_end" />
      <bpmn:endEvent id="Sub_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Sub_check" targetRef="End_objection" />
    <bpmn:endEvent id="End_objection" />
  </bpmn:process>
</bpmn:definitions>
"""
LANES = ('<bpmn:laneSet id="Lanes"><bpmn:lane id="Lane_authority" name="authority">'
         '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
         'name="candidateGroups" value="data_authority" /></spiffworkflow:properties>'
         '</bpmn:extensionElements>'
         "<bpmn:flowNodeRef>Sub_check</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
LOOP = ("<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{}"
        "</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>")


def test_a_user_task_inside_a_subprocess_takes_the_subprocess_lane() -> None:
    parsed = parse_bpmn(SUBPROCESS.format(lanes=LANES, loop="").encode(), FILE)
    assert parsed.subprocess_specs["Sub_check"].task_specs["Task_verify"].lane == "authority"
    verify = parsed.subprocess_specs["Sub_check"].task_specs["Task_verify"]
    assert verify.extensions["properties"]["candidateGroups"] == "data_authority"

    xml = SUBPROCESS.format(lanes="", loop="").encode()
    rejects(xml, element="Task_verify", line=line_of(xml, b"<bpmn:userTask"))


def test_a_loop_cardinality_is_compiled_like_any_expression() -> None:
    parse_bpmn(SUBPROCESS.format(lanes=LANES, loop=LOOP.format("3")).encode(), FILE)

    xml = SUBPROCESS.format(lanes=LANES, loop=LOOP.format("3 +")).encode()
    error = rejects(xml, element="Task_verify", line=line_of(xml, b"<bpmn:userTask"))
    assert error.reason.startswith("loopCardinality is rejected")


@pytest.mark.parametrize("reserved", ["Start", "End", "Task_review.BoundaryEventSplit"])
def test_ids_that_spiffworkflow_uses_for_its_own_task_specs_are_rejected(reserved: str) -> None:
    # SpiffWorkflow would take the element for its built-in spec and drop the rest.
    xml = VALID.replace(b"StartEvent_1", reserved.encode())
    rejects(xml, element=reserved, line=line_of(xml, b"<bpmn:startEvent"))
