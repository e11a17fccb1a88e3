"""The workflow class govflow runs cases on: SpiffWorkflow's, with a quicker walk of the
task tree for the two questions its engine loop keeps asking.

SpiffWorkflow's loop asks for the ready tasks before each round of engine tasks and for
the waiting ones after every task it completes. Its TaskIterator answers any question
(filters on spec, lane, time and event; depth counting; descent into subprocesses) and
costs about a fifth of a step doing it. For a task tree with no subprocess and under
500 tasks (half its depth limit), none of that applies, and a plain depth-first walk
gives the same tasks in the same order: children in order, below every task at least
FUTURE for a question about definite states (at least MAYBE for predicted ones).
Anything else goes to SpiffWorkflow.

`check=True` (the tests' `verify_state`) asks SpiffWorkflow the same question every time
and stops the step if the answers differ, in step with the walk while waiting tasks are
updated (each update can change the tree the rest of the walk sees).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState

# A tree with fewer tasks than half of SpiffWorkflow's depth limit (1,000) stays far from
# it, even as the tasks a walk updates add to the tree.
_SHALLOW = 500


def _lowest(state: int) -> int:
    """The least state of a task whose children TaskIterator looks at for `state`."""
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if state & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def walk(root: Any, state: int) -> Iterator[Any]:
    """The tasks under `root` (itself included) whose state is in `state`, in
    TaskIterator's order: depth first, each task's children taken when it is reached."""
    child, lowest = root.workflow.tasks.get, _lowest(state)
    stack = [root]
    while stack:
        task = stack.pop()
        if task._children and task._state >= lowest:
            stack.extend(map(child, reversed(task._children)))
        if task._state & state and task.last_state_change >= 0:   # TaskFilter's updated_ts
            yield task


class WalkDiffers(AssertionError):
    """The walk and SpiffWorkflow's iterator disagree (asked only with `check`)."""


class CaseWorkflow(BpmnWorkflow):
    check = False

    def get_tasks(self, first_task: Any = None, **kwargs: Any) -> list[Any]:
        if (first_task is not None or kwargs.keys() != {"state"} or self.subprocesses
                or len(self.tasks) >= _SHALLOW):
            return super().get_tasks(first_task, **kwargs)
        found = list(walk(self.task_tree, kwargs["state"]))
        if self.check and found != super().get_tasks(**kwargs):
            raise WalkDiffers(f"the walk for state {kwargs['state']} differs from "
                              "SpiffWorkflow's iterator")
        return found

    def update_waiting_tasks(self) -> None:
        if len(self.tasks) >= _SHALLOW:
            super().update_waiting_tasks()
            return
        waiting = walk(self.task_tree, TaskState.WAITING)
        if self.check:
            waiting = _in_step(waiting, TaskIterator(self.task_tree, state=TaskState.WAITING))
        for task in waiting:
            task.task_spec._update(task)


def _in_step(ours: Iterator[Any], theirs: Iterator[Any]) -> Iterator[Any]:
    for task in ours:
        if next(theirs, None) is not task:
            raise WalkDiffers("the walk of waiting tasks differs from SpiffWorkflow's")
        yield task
    if next(theirs, None) is not None:
        raise WalkDiffers("the walk of waiting tasks missed one SpiffWorkflow finds")
