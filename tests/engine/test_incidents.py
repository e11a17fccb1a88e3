"""Failing scripts and gateways become incidents that keep the case, and can be retried."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import insert

from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError, CaseNotRetryable
from engine.store.schema import process_versions

MODELS = Path(__file__).parent / "models"


def deploy_probe(gf: Govflow) -> None:
    gf.deploy((MODELS / "probe.bpmn").read_bytes(), "probe.bpmn")


def script_probe(script: str) -> bytes:
    text = (MODELS / "script_probe.bpmn").read_text(encoding="utf-8")
    return text.replace("SCRIPT", script).encode()


def store_unchecked(gf: Govflow, xml: bytes) -> None:
    """Store a version as an older release might have, without today's deploy checks."""
    with gf.db.write() as conn:
        conn.execute(insert(process_versions).values(
            process_id="script_probe", version=1, name="Script probe", file_name="old.bpmn",
            xml=xml, content_hash=hashlib.sha256(xml).hexdigest(), deployed_at=gf.now()))


def test_a_failing_script_puts_the_case_in_error_and_keeps_it(gf: Govflow) -> None:
    deploy_probe(gf)
    case = gf.start_case("probe", {"total": 10, "divisor": 0, "threshold": 1, "limit_days": 2})
    assert case.status == "error"
    assert case.incident["element_id"] == "ScriptTask_compute"
    assert "division by zero" in case.incident["message"]
    assert [e.action for e in case.events] == ["case_started", "incident"]
    assert case.tasks == ()


def test_an_incident_is_retried_once_the_data_is_fixed(gf: Govflow) -> None:
    deploy_probe(gf)
    case = gf.start_case("probe", {"total": 10, "divisor": 0, "threshold": 1, "limit_days": 2})
    fixed = gf.retry_case(case.id, "root", {"divisor": 2})
    assert fixed.status == "running" and fixed.incident is None
    assert fixed.data["ratio"] == 5
    assert [t.element_id for t in fixed.tasks] == ["UserTask_review"]
    assert [e.action for e in fixed.events][-2:] == ["case_retried", "incident_resolved"]


def test_a_failing_gateway_condition_is_an_incident_at_the_gateway(gf: Govflow) -> None:
    deploy_probe(gf)
    case = gf.start_case("probe", {"total": 10, "divisor": 2, "limit_days": 2})
    assert case.status == "error" and case.incident["element_id"] == "Gateway_big"
    assert "threshold" in case.incident["message"]
    fixed = gf.retry_case(case.id, "root", {"threshold": 1})
    assert fixed.status == "running" and fixed.tasks[0].element_id == "UserTask_review"


def test_retrying_a_healthy_case_is_refused(gf: Govflow) -> None:
    deploy_probe(gf)
    case = gf.start_case("probe", {"total": 1, "divisor": 1, "threshold": 5, "limit_days": 2})
    assert case.status == "completed"
    with pytest.raises(CaseNotRetryable):
        gf.retry_case(case.id, "root", {})


def test_an_endless_loop_is_stopped_and_becomes_an_incident(gf: Govflow) -> None:
    fast = Govflow(gf.db, clock=gf.clock, script_time_limit=0.2)
    fast.deploy(script_probe("n = 0\nwhile True:\n    n = n + 1"), "script_probe.bpmn")
    case = fast.start_case("script_probe", {})
    assert case.status == "error" and "time limit" in case.incident["message"]
    assert case.incident["element_id"] == "ScriptTask_body"


@pytest.mark.parametrize("script", [
    "import os\nos.system('touch {marker}')",
    "__import__('os').system('touch {marker}')",
    "().__class__.__base__.__subclasses__()",
    "open('{marker}', 'w').write('x')",
])
def test_sandbox_escapes_are_refused_at_deploy_and_at_run_time(gf, tmp_path, script) -> None:
    marker = tmp_path / "escaped"
    xml = script_probe(script.format(marker=marker))
    with pytest.raises(BpmnValidationError) as refused:
        gf.deploy(xml, "script_probe.bpmn")
    assert refused.value.element == "ScriptTask_body"
    store_unchecked(gf, xml)
    case = gf.start_case("script_probe", {})
    assert case.status == "error" and case.incident["element_id"] == "ScriptTask_body"
    assert not marker.exists()


def test_a_non_interrupting_limit_raises_the_sla_state_without_deciding(gf, clock) -> None:
    deploy_probe(gf)
    case = gf.start_case("probe", {"total": 10, "divisor": 1, "threshold": 1, "limit_days": 1})
    clock.advance(days=4)
    assert [c for c, _ in gf.fire_due_timers().fired] == [case.id]
    later = gf.get_case(case.id)
    assert later.status == "running" and later.data["sla_state"] == "overdue"
    assert later.sla["state"] == "overdue"
    assert [(b["rule"], b["element_id"]) for b in later.sla["breaches"]] == [
        ("J2", "BoundaryEvent_remind")]
    assert [t.state for t in later.tasks] == ["open"]
    fired = [e for e in later.events if e.action == "timer_fired"][0]
    assert fired.rule == "J2" and fired.details["changes"]["sla_state"] == [None, "overdue"]
    assert gf.fire_due_timers().fired == ()
