"""Turn a running workflow into the JSON kept in `cases.state`, and back.

Two choices keep persistence off the critical path:

* The process spec is not stored per case. It belongs to the deployed version and is
  handed back in on load, so a case's JSON holds only its tasks and data.
* Tasks are serialized incrementally. A task that has finished (completed or
  cancelled) and has not changed since the last save keeps its cached JSON, so the
  cost of a step depends on the tasks that moved, not on the length of the case's
  history. `verify=True` (used by the tests) checks every save against a full
  serialization.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .rawsql import dumps

_SETTLED = TaskState.COMPLETED | TaskState.CANCELLED


def _dumps(value: Any) -> str:
    return dumps(value)


@dataclass
class TaskJsonCache:
    """The `"id":{...}` JSON fragment of each task as last saved, with its signature."""

    entries: dict[UUID, tuple[tuple[int, float, int], str]] = field(default_factory=dict)


class StateCodec:
    """Serialize and restore workflows without their spec."""

    def __init__(self, *, verify: bool = False) -> None:
        self.registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        self._workflow_converter = BpmnWorkflowConverter(BpmnWorkflow, self.registry)
        self.verify = verify

    def dump(self, workflow: BpmnWorkflow, cache: TaskJsonCache) -> str:
        """Return the workflow's state as JSON, reusing cached JSON of settled tasks."""
        registry = self.registry
        entries = cache.entries
        parts = []
        for task_id, task in workflow.tasks.items():
            signature = (task.state, task.last_state_change, len(task._children))
            cached = entries.get(task_id)
            if cached is None or cached[0] != signature or not task.state & _SETTLED:
                cached = (signature, f'"{task_id}":{_dumps(registry.convert(task))}')
                entries[task_id] = cached
            parts.append(cached[1])
        if len(entries) != len(workflow.tasks):
            for stale in entries.keys() - workflow.tasks.keys():
                del entries[stale]
        header = _dumps(self._header(workflow))
        text = f'{header[:-1]},"tasks":{{{",".join(parts)}}}}}'
        if self.verify:
            self._check_against_full_dump(workflow, text)
        return text

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

    def _check_against_full_dump(self, workflow: BpmnWorkflow, text: str) -> None:
        full = self._workflow_converter.to_dict(workflow)
        saved = json.loads(text)
        expected = json.loads(_dumps(full["tasks"]))
        if saved["tasks"] != expected:
            changed = [k for k in expected if saved["tasks"].get(k) != expected[k]]
            raise AssertionError(f"incremental state differs from a full dump in tasks {changed}")

    def load(
        self, text: str, spec: Any, subprocess_specs: dict[str, Any],
    ) -> tuple[BpmnWorkflow, TaskJsonCache]:
        """Restore a workflow on the spec of its deployed version."""
        dct = json.loads(text)
        converter = self._workflow_converter
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        converter.set_default_attributes(workflow, dct)
        converter.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        cache = TaskJsonCache()
        for task_id, task in workflow.tasks.items():
            if task.state & _SETTLED:
                signature = (task.state, task.last_state_change, len(task._children))
                cache.entries[task_id] = (
                    signature, f'"{task_id}":{_dumps(dct["tasks"][str(task_id)])}')
        return workflow, cache
