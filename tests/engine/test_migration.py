"""Running cases move to a newer version when every step they reached still exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bpmn.migration import Migrations
from engine.cases.govflow import Govflow
from engine.errors import InvalidInput

PROBE = (Path(__file__).parent / "models" / "probe.bpmn").read_bytes()
DATA = {"total": 10, "divisor": 2, "threshold": 1, "limit_days": 2}


def deploy(gf: Govflow, xml: bytes) -> int:
    return gf.deploy(xml, "probe.bpmn").version_id


def test_a_dry_run_lists_changes_and_blockers_then_migration_recomputes_dates(gf) -> None:
    v1 = deploy(gf, PROBE)
    waiting = gf.start_case("probe", DATA)
    task = waiting.tasks[0]
    gf.claim_task(task.id, "alice")
    broken = gf.start_case("probe", {**DATA, "divisor": 0})
    v2 = deploy(gf, PROBE.replace(b'value="limit_days"', b'value="limit_days + 3"')
                .replace(b"working_days=limit_days", b"working_days=limit_days + 3"))
    migrations = Migrations(gf)
    plan = {p.case_id: p for p in migrations.plan(v1, v2)}
    assert plan[waiting.id].ok and "“Review” (ready)" in plan[waiting.id].changes[0]
    assert not plan[broken.id].ok and "error" in plan[broken.id].blockers[0]
    assert gf.get_case(waiting.id).version_id == v1        # a dry run changes nothing
    with pytest.raises(InvalidInput):
        migrations.migrate(v1, v2, "root", " ")

    migrations.migrate(v1, v2, "root", "时限按新规定")
    after = gf.get_case(waiting.id)
    [moved] = [t for t in after.tasks if t.state == "open"]
    assert after.version_id == v2 and moved.assignee == "alice"
    assert moved.due_at == gf.deadline(gf.now(), 5).due != task.due_at
    assert [t.fire_at for t in after.timers] == [gf.deadline(DATA_RECEIVED(after), 5).runs_out]
    assert after.events[-1].action == "case_migrated"
    assert after.events[-1].details == {"reason": "时限按新规定", "from": 1, "to": 2}
    assert gf.get_case(broken.id).version_id == v1
    done = gf.complete_task(moved.id, "alice", {})
    assert done.status == "completed" and gf.verify_audit() == []


def DATA_RECEIVED(case):  # noqa: N802 - reads like the value it is
    return case.data["received_at"]


def test_a_case_whose_step_was_removed_is_blocked(gf) -> None:
    v1 = deploy(gf, PROBE)
    case = gf.start_case("probe", DATA)
    v2 = deploy(gf, PROBE.replace(b"UserTask_review", b"UserTask_check"))
    [plan] = Migrations(gf).plan(v1, v2)
    assert not plan.ok and "“Review” does not exist in the new version" in plan.blockers
    Migrations(gf).migrate(v1, v2, "root", "试试")
    assert gf.get_case(case.id).version_id == v1
    with pytest.raises(InvalidInput):
        Migrations(gf).plan(v2, v1)
