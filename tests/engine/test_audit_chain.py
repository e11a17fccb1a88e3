"""The audit trail resists someone who can write to the database but lacks the audit key:
a re-chained forgery, a deleted case, an edited outcome or completer are all found."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from engine.cases.govflow import Govflow
from engine.errors import EngineError
from engine.store import audit
from engine.store.schema import (
    audit_anchors,
    audit_checkpoints,
    audit_events,
    cases,
    human_tasks,
    metadata,
)

REQUEST = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
           "data_items": ["姓名", "出生日期"]}


@pytest.fixture(autouse=True)
def checkpoint_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "checkpoints.log"
    monkeypatch.setenv("GOVFLOW_AUDIT_CHECKPOINT_LOG", str(path))
    return path


def granted_case(gf: Govflow) -> tuple[int, str]:
    task = gf.start_case("share_request", REQUEST, user="carl").tasks[0]
    case = gf.complete_task(task.id, "alice", {"decision": "approve"})
    assert case.status == "completed" and case.data["outcome"] == "granted"
    return case.id, task.id


def delete_case(gf: Govflow, case_id: int) -> None:
    """Remove a case and every row that names it or its tasks, as a forger would."""
    with gf.db.write() as conn:
        tasks = list(conn.execute(select(human_tasks.c.id)
                                  .where(human_tasks.c.case_id == case_id)).scalars())
        for table in reversed(metadata.sorted_tables):
            if table.name in ("cases", "audit_anchors"):
                continue
            if "case_id" in table.c:
                conn.execute(delete(table).where(table.c.case_id == case_id))
            elif "task_id" in table.c and tasks:
                conn.execute(delete(table).where(table.c.task_id.in_(tasks)))
        conn.execute(delete(cases).where(cases.c.id == case_id))


def test_an_untouched_trail_verifies_and_a_quiet_checkpoint_writes_nothing(gf: Govflow,
                                                                          checkpoint_log) -> None:
    granted_case(gf)
    first = gf.checkpoint_audit()
    assert first is not None and (first.id, first.cases) == (1, 1)
    assert gf.checkpoint_audit() is None
    gf.start_case("share_request", REQUEST, user="carl")
    assert gf.checkpoint_audit().id == 2
    assert len(checkpoint_log.read_text().splitlines()) == 2
    assert gf.verify_audit() == []


def test_a_chain_recomputed_with_plain_sha256_is_found(gf: Govflow) -> None:
    case_id, _ = granted_case(gf)
    with gf.db.write() as conn:
        rows = list(conn.execute(select(audit_events).where(audit_events.c.case_id == case_id)
                                 .order_by(audit_events.c.seq)))
        head = audit.GENESIS
        for row in rows:  # forge the completer, then re-chain everything after it
            actor = "mallory" if row.action == "task_completed" else row.actor
            event = audit.PendingEvent(row.at, actor, row.action, row.task_id, row.element_id,
                                       row.rule, row.details)
            digest = hashlib.sha256(audit._body(head, case_id, row.seq, event)).hexdigest()
            conn.execute(update(audit_events).where(audit_events.c.id == row.id)
                         .values(actor=actor, prev_hash=head, hash=digest))
            head = digest
        conn.execute(update(cases).where(cases.c.id == case_id).values(audit_head=head))
        conn.execute(update(human_tasks).where(human_tasks.c.case_id == case_id)
                     .values(completed_by="mallory"))
    problems = gf.verify_audit()
    assert any("unkeyed SHA-256" in p for p in problems), problems
    assert not any("follow" in p or "ends at" in p for p in problems)  # the links are whole


def test_a_deleted_case_is_found_through_the_checkpoint(gf: Govflow, checkpoint_log) -> None:
    kept, _ = granted_case(gf)
    removed, _ = granted_case(gf)
    gf.checkpoint_audit()
    delete_case(gf, removed)
    assert gf.verify_audit() == [
        f"case {removed} was deleted (checkpoint 1 anchored its event 5)"]
    with gf.db.write() as conn:  # removing its anchors too breaks the checkpoint's MAC
        conn.execute(delete(audit_anchors).where(audit_anchors.c.case_id == removed))
    assert gf.verify_audit() == ["audit checkpoint 1 was altered"]
    with gf.db.write() as conn:  # and removing the checkpoint is seen in the log file
        conn.execute(delete(audit_anchors))
        conn.execute(delete(audit_checkpoints))
    assert gf.verify_audit() == [
        f"audit checkpoint 1 of {checkpoint_log} is missing from the database"]
    assert kept


def test_a_case_rewritten_after_its_checkpoint_is_found(gf: Govflow) -> None:
    case_id, _ = granted_case(gf)
    gf.checkpoint_audit()
    with gf.db.write() as conn:  # drop the last event: a shorter chain that is still whole
        conn.execute(delete(audit_events).where(audit_events.c.case_id == case_id,
                                                audit_events.c.seq == 5))
        last = conn.execute(select(audit_events.c.hash).where(
            audit_events.c.case_id == case_id, audit_events.c.seq == 4)).scalar_one()
        conn.execute(update(cases).where(cases.c.id == case_id)
                     .values(audit_head=last, audit_seq=4))
    assert f"case {case_id}: event 5 is missing (checkpoint 1 anchored its event 5)" in (
        gf.verify_audit())


def test_an_edited_outcome_is_found(gf: Govflow) -> None:
    case_id, _ = granted_case(gf)
    with gf.db.write() as conn:
        data = conn.execute(select(cases.c.data).where(cases.c.id == case_id)).scalar_one()
        conn.execute(update(cases).where(cases.c.id == case_id)
                     .values(data={**data, "outcome": "refused"}))
    assert gf.verify_audit() == [
        f"case {case_id}: its outcome 'refused' is not the one its audit trail records "
        "('granted')"]


def test_an_edited_completer_is_found(gf: Govflow) -> None:
    case_id, task_id = granted_case(gf)
    with gf.db.write() as conn:
        conn.execute(update(human_tasks).where(human_tasks.c.id == task_id)
                     .values(completed_by="amy"))
    assert gf.verify_audit() == [
        f"case {case_id} task {task_id}: completed by 'amy', the audit trail records 'alice'"]


def test_another_key_cannot_vouch_for_the_trail(gf: Govflow, monkeypatch) -> None:
    granted_case(gf)
    gf.checkpoint_audit()
    monkeypatch.setenv("GOVFLOW_AUDIT_KEY", "x" * 40)
    problems = gf.verify_audit()
    assert any("content was altered" in p for p in problems)
    assert any("audit checkpoint 1 was altered (signed with key" in p for p in problems)


def unkeyed(gf: Govflow) -> None:
    """Rewrite every chain as a database written before the audit key existed held it."""
    with gf.db.write() as conn:
        for case_id in conn.execute(select(cases.c.id)).scalars():
            prev, seq = audit.GENESIS, 0
            for row in conn.execute(select(audit_events).where(audit_events.c.case_id == case_id)
                                    .order_by(audit_events.c.seq)).all():
                event = audit.PendingEvent(row.at, row.actor, row.action, row.task_id,
                                           row.element_id, row.rule, row.details)
                digest = hashlib.sha256(audit._body(prev, case_id, row.seq, event)).hexdigest()
                conn.execute(update(audit_events).where(audit_events.c.id == row.id)
                             .values(prev_hash=prev, hash=digest))
                prev, seq = digest, row.seq
            conn.execute(update(cases).where(cases.c.id == case_id)
                         .values(audit_head=prev, audit_seq=seq))


def test_a_legacy_unkeyed_trail_is_resealed_once_on_the_record(gf: Govflow) -> None:
    granted, _ = granted_case(gf)
    running = gf.start_case("share_request", REQUEST, user="carl").id
    unkeyed(gf)
    assert any("unkeyed SHA-256" in p for p in gf.verify_audit())

    assert gf.reseal_audit("root") == {granted: 5, running: 2}
    assert gf.verify_audit() == []
    last = gf.get_case(granted).events[-1]
    assert (last.action, last.actor, last.details["events"]) == ("audit_resealed", "root", 5)
    with pytest.raises(EngineError, match="anchored already"):
        gf.reseal_audit("root")  # once: a keyed, anchored trail is never rewritten


def test_a_damaged_unkeyed_trail_is_not_resealed(gf: Govflow) -> None:
    granted, _ = granted_case(gf)
    unkeyed(gf)
    with gf.db.write() as conn:  # edited after it was written, without recomputing
        conn.execute(update(audit_events).where(audit_events.c.case_id == granted,
                                                audit_events.c.seq == 2)
                     .values(actor="mallory"))
    before = gf.verify_audit()
    with pytest.raises(EngineError, match=f"case {granted} event 2"):
        gf.reseal_audit("root")
    assert gf.verify_audit() == before  # nothing changed
