"""会签 and 或签: a multi-instance user task's `approvalMode` (all, any or a number k of
signatures) becomes the SpiffWorkflow completion condition of the task. When it holds,
SpiffWorkflow cancels the instances still open and the case moves on.

The condition is evaluated on the instance that just completed, which cannot see its
siblings: govflow tells it how many instances are done (`signed_count`) as it completes.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

from engine.errors import BpmnValidationError

#: Data key a 会签 instance sees as it completes: how many instances are then done.
SIGNED_KEY = "signed_count"


def _property(task_spec: Any, name: str) -> str | None:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)


def approval_condition(mode: str, element: str) -> str | None:
    """The completion condition an `approvalMode` stands for (None: every instance)."""
    mode = mode.strip().lower()
    if mode == "all":
        return None
    if mode == "any":
        return "True"
    if mode.isdigit() and int(mode) >= 1:
        return f"{SIGNED_KEY} >= {int(mode)}"
    raise BpmnValidationError(f"approvalMode {mode!r} of task {element} is not all, any "
                              "or a number of signatures")


def apply_approval_mode(spec: Any, loop: Any) -> None:
    """Give a multi-instance task the completion condition of its `approvalMode`."""
    if not isinstance(loop, MultiInstanceTask):
        return
    mode = _property(spec.task_specs[loop.task_spec], "approvalMode") or _property(
        loop, "approvalMode")
    if mode is not None:
        loop.condition = approval_condition(mode, loop.bpmn_id or loop.name)


def count_signature(task: Any) -> None:
    """Before a 会签 instance completes, tell it how many instances are then done."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask) \
            and parent.task_spec.condition is not None:
        task.data[SIGNED_KEY] = len(parent.internal_data.get("merged", [])) + 1
