"""Call activities and multi-file deploys: all or nothing, and a pinned called version per case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bpmn.definitions import BpmnFile
from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError
from engine.store.db import Database
from engine.store.schema import case_calls, process_versions

BPMN = Path(__file__).parent / "bpmn"
PARENT, CHILD = BPMN / "call_parent.bpmn", BPMN / "call_child.bpmn"


@pytest.fixture
def fresh(gf: Govflow) -> Iterator[Callable[[Govflow], Govflow]]:
    """New engines on the same database: nothing cached, as in another process."""
    made: list[Govflow] = []

    def new(_: Govflow) -> Govflow:
        made.append(Govflow(Database(gf.db.url), clock=gf.clock, verify_state=True))
        return made[-1]

    yield new
    for each in made:
        each.db.dispose()


def versions(gf: Govflow, process_id: str) -> int:
    with gf.db.read() as conn:
        return conn.execute(select(func.count()).select_from(process_versions)
                            .where(process_versions.c.process_id == process_id)).scalar_one()


def open_task(gf: Govflow, case_id: int) -> str:
    (task,) = [t for t in gf.get_case(case_id).tasks if t.state == "open"]
    return task.id


def test_a_process_calling_another_deployed_together_runs_end_to_end_step_by_step(
        gf: Govflow, fresh: Callable[[Govflow], Govflow]) -> None:
    results = gf.deploy_paths([PARENT, CHILD])
    assert {(r.process_id, r.version) for r in results} == {("call_parent", 1),
                                                          ("call_child", 1)}
    case = fresh(gf).start_case("call_parent", {"ref": "R1"})
    child_task = fresh(gf).get_case(case.id).tasks[0]
    assert child_task.element_id == "Task_child_review"
    fresh(gf).complete_task(child_task.id, "alice", {"ok": True})
    shown = fresh(gf).get_case(case.id)
    assert [t.element_id for t in shown.tasks if t.state == "open"] == ["Task_confirm"]
    done = fresh(gf).complete_task(open_task(gf, case.id), "alice", {})
    assert done.status == "completed"
    assert done.data["child_version"] == "v1" and done.data["prepared"] is True
    assert done.data["ok"] is True and done.data["ref"] == "R1"


def test_a_later_deploy_of_the_called_process_does_not_change_a_running_case(
        gf: Govflow, fresh: Callable[[Govflow], Govflow]) -> None:
    gf.deploy_paths([PARENT, CHILD])
    old = gf.start_case("call_parent", {})
    changed = CHILD.read_bytes().replace(b'"v1"', b'"v2"')
    assert gf.deploy(changed, "call_child.bpmn").version == 2
    new = gf.start_case("call_parent", {})
    with gf.db.read() as conn:
        pinned = {r.case_id: r.version_id for r in conn.execute(select(case_calls))}
    assert pinned[old.id] != pinned[new.id]
    for case, expected in ((old, "v1"), (new, "v2")):
        fresh(gf).complete_task(open_task(gf, case.id), "alice", {})
        done = fresh(gf).complete_task(open_task(gf, case.id), "alice", {})
        assert done.data["child_version"] == expected


def test_a_call_to_a_process_that_is_nowhere_is_refused_naming_the_call_activity(
        gf: Govflow) -> None:
    with pytest.raises(BpmnValidationError) as info:
        gf.deploy_paths([PARENT])
    assert info.value.file == "call_parent.bpmn" and info.value.element == "Call_child"
    assert info.value.line is not None and "call_child" in info.value.reason
    assert versions(gf, "call_parent") == 0


def test_a_failed_multi_file_deploy_leaves_nothing_deployed(gf: Govflow) -> None:
    broken = BpmnFile("call_child.bpmn", CHILD.read_bytes().replace(b"</bpmn:process>", b""))
    with pytest.raises(BpmnValidationError):
        gf.deploy_files([BpmnFile("call_parent.bpmn", PARENT.read_bytes()), broken])
    assert versions(gf, "call_parent") == 0 and versions(gf, "call_child") == 0
    # The same parent deploys once the batch is whole, with fresh version numbers.
    assert [r.version for r in gf.deploy_paths([PARENT, CHILD])] == [1, 1]


def test_two_files_defining_one_process_are_refused(gf: Govflow) -> None:
    with pytest.raises(BpmnValidationError, match="also in"):
        gf.deploy_files([BpmnFile("a.bpmn", CHILD.read_bytes()),
                         BpmnFile("b.bpmn", CHILD.read_bytes())])
    assert versions(gf, "call_child") == 0


def test_each_executable_pool_of_a_collaboration_becomes_a_process(
        gf: Govflow, fresh: Callable[[Govflow], Govflow]) -> None:
    results = gf.deploy_paths([BPMN / "call_collaboration.bpmn"])
    assert [r.process_id for r in results] == ["call_pool_asking", "call_pool_answering"]
    assert fresh(gf).start_case("call_pool_answering", {}).status == "completed"
    assert versions(gf, "call_pool_citizen") == 0


def test_a_folder_deploys_with_the_decision_tables_next_to_its_files(
        gf: Govflow, tmp_path: Path) -> None:
    workflows = Path(__file__).parents[2] / "workflows"
    (tmp_path / "share_request.bpmn").write_bytes(
        (workflows / "share_request.bpmn").read_bytes().replace(b"Share request", b"Share"))
    with pytest.raises(BpmnValidationError, match="share_scenarios.dmn"):
        gf.deploy_paths([tmp_path])
    (tmp_path / "share_scenarios.dmn").write_bytes((workflows / "share_scenarios.dmn")
                                                  .read_bytes())
    assert [r.created for r in gf.deploy_paths([tmp_path])] == [True]
