"""The saved state: settled tasks go once into append-only chunks, and every save loads
back to exactly the workflow that was saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from engine.cases.state import StateCodec, TaskJsonCache
from engine.people import directory

LOOP = Path(__file__).resolve().parents[2] / "bench" / "models" / "loop.bpmn"


@pytest.fixture(autouse=True)
def loop_reviewers(gf: Govflow) -> None:
    with gf.db.write() as conn:
        directory.add_group(conn, "bench", "Loop reviewers", "role")
        directory.add_user(conn, "alice", "Alice", password=None,
                           groups_=["dept_health", "bench"], now=gf.now())


def full_tasks(codec: StateCodec, workflow) -> dict:
    return json.loads(json.dumps(codec._workflow_converter.to_dict(workflow)["tasks"]))


def reload(gf: Govflow, case_id: int):
    with gf.db.read() as conn:
        return gf.store.read_workflow(conn, case_id, gf.definitions)[0]


def test_every_save_of_a_growing_case_loads_back_unchanged(gf: Govflow) -> None:
    gf.deploy(LOOP.read_bytes(), "loop.bpmn")
    case = gf.start_case("bench_loop", {"again": True})
    codec = gf.store.codec
    for round_ in range(12):
        task = next(t for t in case.tasks if t.state == "open")
        case = gf.complete_task(task.id, "alice", {"again": round_ < 11})
        with gf.db.read() as conn:
            cached = gf.store.load(conn, case.id, gf.definitions)
        gf.store.put_back(cached)
        assert full_tasks(codec, reload(gf, case.id)) == full_tasks(codec, cached.workflow)
    assert case.status == "completed"


def test_a_save_writes_only_tasks_that_settled_since_the_last_one(gf: Govflow) -> None:
    gf.deploy(LOOP.read_bytes(), "loop.bpmn")
    case = gf.start_case("bench_loop", {"again": True})
    with gf.db.read() as conn:
        workflow = gf.store.load(conn, case.id, gf.definitions).workflow
    codec, cache = StateCodec(verify=True), TaskJsonCache()
    first = codec.dump(workflow, cache)
    again = codec.dump(workflow, cache)
    assert first.chunk and not first.rewrite
    assert again.chunk is None  # nothing settled in between: nothing appended
    assert len(again.active) < len(first.active) + len(first.chunk)


def test_resetting_a_settled_task_rewrites_the_chunks(gf: Govflow) -> None:
    gf.deploy(LOOP.read_bytes(), "loop.bpmn")
    case = gf.start_case("bench_loop", {"again": True})
    for _ in range(3):
        task = next(t for t in case.tasks if t.state == "open")
        case = gf.complete_task(task.id, "alice", {"again": True})
    with gf.db.read() as conn:
        workflow = gf.store.load(conn, case.id, gf.definitions).workflow
    codec, cache = StateCodec(verify=True), TaskJsonCache()
    codec.dump(workflow, cache)
    earliest = next(t for t in workflow.get_tasks() if t.task_spec.name == "UserTask_round")
    workflow.reset_from_task_id(earliest.id)
    saved = codec.dump(workflow, cache)
    assert saved.rewrite and saved.chunk
    spec = workflow.spec
    restored, _ = codec.load(saved.active, [saved.chunk], spec, {})
    assert full_tasks(codec, restored) == full_tasks(codec, workflow)
