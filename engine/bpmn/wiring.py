"""Give a freshly parsed spec the runtime hooks SpiffWorkflow otherwise adds lazily.

SpiffWorkflow connects some task specs while a case runs, on the spec object itself:

* a loop or multi-instance task connects its child's `completed_event` to its
  `merge_child` when it creates the first instance;
* the start task connects an event subprocess triggered by a message or signal to the
  process's end when the event first arrives.

A case restored onto a spec parsed in another process finds none of these
connections: multi-instance and loop tasks stall after the first instance and a
triggered event subprocess never lets its process finish. SpiffWorkflow's own spec
deserializer re-creates the connections (`BpmnProcessSpecConverter.from_dict`, which
also keeps each spec's inputs and outputs); govflow parses the stored XML instead, so
`wire` does the same once per parsed spec, before any case runs on it.

Only the hooks that concern instances are added up front. The start task's own
outputs are left alone: connecting the start to an event subprocess would make every
later case start it. So an event subprocess gets the start among its inputs (which
also tells SpiffWorkflow the connection exists) and the end among its outputs.
(Ad hoc subprocesses, whose paths SpiffWorkflow connects the same way, are refused at
deploy: see engine/bpmn/checks.py.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from engine.bpmn.limits import BoundedInput
from engine.cases.countersign import apply_approval_mode


def wire(specs: Iterable[Any]) -> None:
    """Connect what SpiffWorkflow would connect while running, for every spec given."""
    for spec in specs:
        if spec is None:
            continue
        for task_spec in list(spec.task_specs.values()):
            if isinstance(task_spec, LoopTask):
                _wire_instances(spec, task_spec)
                _bound_input(task_spec)
                apply_approval_mode(spec, task_spec)
        for name in getattr(spec.start, "trigger_specs", ()):
            _wire_event_subprocess(spec, spec.task_specs[name])


def _wire_instances(spec: Any, loop: Any) -> None:
    child = spec.task_specs[loop.task_spec]
    if not child.completed_event.is_connected(loop.merge_child):
        child.completed_event.connect(loop.merge_child)


def _bound_input(loop: Any) -> None:
    """A multi-instance over an input list is capped as its cardinality would be."""
    if getattr(loop, "data_input", None) is not None and \
            not isinstance(loop.data_input, BoundedInput):
        loop.data_input = BoundedInput(loop.data_input)


def _wire_event_subprocess(spec: Any, task_spec: Any) -> None:
    """Record the start as an input without adding an output to the start."""
    if spec.start not in task_spec.inputs:
        task_spec._inputs.append(spec.start.name)
    if spec.end not in task_spec.outputs:
        task_spec.connect(spec.end)
