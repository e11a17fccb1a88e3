"""Turn a running workflow into the JSON kept in `cases.state`, and back.

Two choices keep persistence off the critical path:

* The process spec is not stored per case. It belongs to the deployed version and is
  handed back in on load, so a case's JSON holds only its tasks and data.
* Tasks are serialized incrementally. Live tasks (ready, waiting, started, failed)
  and the instances of a running loop or multi-instance task are serialized at every
  save; predicted and settled ones only when their signature changed (see `_signature`).
  A task that has settled (completed or cancelled) is appended once to the case's state
  chunks; each save rewrites only the active part (header and unsettled tasks). So the
  cost of a step, in CPU and in bytes written, depends on the tasks that moved, not on
  the length of the case's history. `verify=True` (used by the tests) checks every save
  against a full serialization.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.walk import CaseWorkflow
from engine.store.rawsql import dumps

_SETTLED = TaskState.COMPLETED | TaskState.CANCELLED
# Tasks that code outside SpiffWorkflow may change in place (a form's data, a timer's
# fire time, a retry's fix): these are serialized at every save.
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def _dumps(value: Any) -> str:
    return dumps(value)


Signature = tuple[int, float, int, int, int, float, int]


@dataclass
class TaskJsonCache:
    """What was saved of a case's tasks: each task's `"id":{...}` fragment and signature,
    and which settled tasks already sit in the case's append-only chunks."""

    entries: dict[UUID, tuple[Signature, str]] = field(default_factory=dict)
    chunked: set[UUID] = field(default_factory=set)
    # Task ids as text: a task's id is written again as its children's parent and in its
    # parent's children, and UUID.__str__ is Python code.
    texts: dict[UUID, str] = field(default_factory=dict)

    def text(self, task_id: UUID) -> str:
        found = self.texts.get(task_id)
        if found is None:
            found = self.texts[task_id] = str(task_id)
        return found


@dataclass(frozen=True)
class SavedState:
    """One save: the active part (header and unsettled tasks) and what chunks get.

    `chunk` holds the tasks that settled since the last save; `rewrite` says that a task
    already in a chunk changed or went away (a retry reset it), so the chunks must be
    replaced by `chunk`, which then holds every settled task."""

    active: str
    chunk: str | None
    rewrite: bool


def _volatile(task: Any) -> bool:
    """Serialized at every save: a live task, or a child of a running loop or
    multi-instance task, which merges its children's data into its own in place, so a
    child's saved data (a delta against its parent's) changes without the child moving."""
    parent = task.parent
    return bool(task.state & _LIVE or (parent is not None and parent.state == TaskState.STARTED))


def _signature(task: Any) -> Signature:
    """What changes when SpiffWorkflow changes a task: state (with its time), children,
    the number of keys in its data and internal data, and its parent's state and data,
    which its saved data is a delta against."""
    parent = task.parent
    return (task.state, task.last_state_change, len(task._children), len(task.data),
            len(task.internal_data), parent.last_state_change if parent else 0.0,
            len(parent.data) if parent else 0)


class StateCodec:
    """Serialize and restore workflows without their spec."""

    def __init__(self, *, verify: bool = False) -> None:
        self.registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        self._workflow_converter = BpmnWorkflowConverter(BpmnWorkflow, self.registry)
        self.verify = verify

    def dump(self, workflow: BpmnWorkflow, cache: TaskJsonCache) -> SavedState:
        """Serialize what changed; settled tasks are written once, into a new chunk."""
        entries, chunked = cache.entries, cache.chunked
        active, fresh = [], []
        rewrite = not chunked <= workflow.tasks.keys()
        for task_id, task in workflow.tasks.items():
            signature = _signature(task)
            cached = entries.get(task_id)
            volatile = _volatile(task)
            settled = task.state & _SETTLED and not volatile
            if cached is not None and cached[0] == signature and not volatile:
                if not settled:
                    active.append(cached[1])
                elif task_id not in chunked:
                    fresh.append(task_id)
                continue
            entries[task_id] = (signature, self._fragment(task_id, task, cache))
            if task_id in chunked:
                rewrite = True
            elif settled:
                fresh.append(task_id)
            else:
                active.append(entries[task_id][1])
        if len(entries) != len(workflow.tasks):
            for stale in entries.keys() - workflow.tasks.keys():
                del entries[stale]
        if rewrite:
            settled_ids = [k for k, t in workflow.tasks.items()
                           if t.state & _SETTLED and not _volatile(t)]
            active = [entries[k][1] for k in workflow.tasks.keys() - set(settled_ids)]
            cache.chunked = set(settled_ids)
            chunk = ",".join(entries[k][1] for k in settled_ids)
        else:
            chunked.update(fresh)
            chunk = ",".join(entries[k][1] for k in fresh) if fresh else None
        header = _dumps(self._header(workflow))
        saved = SavedState(f'{header[:-1]},"tasks":{{{",".join(active)}}}}}', chunk, rewrite)
        if self.verify:
            self._check_against_full_dump(workflow, cache)
        return saved

    def _fragment(self, task_id: UUID, task: Any, cache: TaskJsonCache) -> str:
        if task.__class__ is not Task:
            return f'"{task_id}":{_dumps(self.registry.convert(task))}'
        # SpiffWorkflow's TaskConverter.to_dict, written out: it goes through the registry for
        # every task, and that was most of a step's serializing. `verify` holds the two equal.
        text, parent = cache.text, task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            inherited, own = parent.data, task.data
            data, delta = {}, {
                "updates": {k: v for k, v in own.items() if k not in inherited
                            or v != inherited[k]},
                "deletions": [k for k in inherited if k not in own],
            }
        internal = task.internal_data
        return f'"{text(task_id)}":' + _dumps({
            "id": text(task_id), "parent": None if parent is None else text(task._parent),
            "children": [text(child) for child in task._children],
            "last_state_change": task.last_state_change, "state": task.state,
            "task_spec": task.task_spec.name, "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data, "delta": delta, "typename": "Task",
        })

    def _header(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        registry = self.registry
        return {
            "serializer_version": VERSION,
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "root": str(workflow.task_tree.id),
            "subprocesses": {str(k): registry.convert(v) for k, v in workflow.subprocesses.items()},
            "bpmn_events": registry.convert(workflow.bpmn_events),
        }

    def _check_against_full_dump(self, workflow: BpmnWorkflow, cache: TaskJsonCache) -> None:
        full = self._workflow_converter.to_dict(workflow)
        expected = json.loads(_dumps(full["tasks"]))
        saved = json.loads("{" + ",".join(f for _, f in cache.entries.values()) + "}")
        if saved != expected:
            changed = [k for k in expected if saved.get(k) != expected[k]]
            raise AssertionError(f"incremental state differs from a full dump in tasks {changed}")

    def load(
        self, active: str, chunks: list[str], spec: Any, subprocess_specs: dict[str, Any],
    ) -> tuple[BpmnWorkflow, TaskJsonCache]:
        """Restore a workflow on the spec of its deployed version."""
        dct = orjson.loads(active)
        tasks = {}
        for chunk in chunks:
            tasks.update(orjson.loads("{" + chunk + "}"))
        chunked = {UUID(k) for k in tasks}
        tasks.update(dct["tasks"])
        dct["tasks"] = _parents_first(tasks, dct["root"])
        converter = self._workflow_converter
        workflow = CaseWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.check = self.verify
        workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        converter.set_default_attributes(workflow, dct)
        converter.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        cache = TaskJsonCache(chunked=chunked)
        for task_id, task in workflow.tasks.items():
            cache.entries[task_id] = (
                _signature(task), f'"{task_id}":{_dumps(dct["tasks"][str(task_id)])}')
        return workflow, cache


def _parents_first(tasks: dict[str, Any], root: str) -> dict[str, Any]:
    """Order tasks so each comes after its parent: a task restores its data from its parent's."""
    ordered, queue = {}, [root]
    while queue:
        task_id = queue.pop()
        ordered[task_id] = tasks[task_id]
        queue.extend(reversed(tasks[task_id]["children"]))
    ordered.update(tasks)  # anything off the tree keeps its place after the tree
    return ordered
