"""Who may see which case and task: one set of rules for the pages, the API and the portal.

A signed-in user sees a case when they started it, when their department requested
it (`requester_dept`), when one of their groups is (or was) a candidate for one of its
tasks, when they hold or closed one of its tasks, or when it was copied (抄送) to them
or one of their groups. Administrators see every case.
Everyone else is told the case does not exist, so ids cannot be probed by guessing.
Acting on a task needs more than seeing it: the engine checks candidacy and claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, false, or_, select, true

from engine.cases.models import TaskView
from engine.errors import CaseNotFound, TaskNotFound
from engine.people import directory
from engine.store.rawsql import RawSQL
from engine.store.schema import case_copies, cases, human_tasks, task_candidates

ADMIN_GROUP = "administrators"
# The data authority oversees every department's work (supervision, overdue, 催办).
OVERSIGHT_GROUP = "data_authority"
CASE_PREFIX = "GF"


@dataclass(frozen=True)
class Viewer:
    """A signed-in user and their groups, read once per request."""

    username: str
    groups: frozenset[str]
    display_name: str = ""
    supervises: frozenset[str] = frozenset()  # groups whose work this user supervises

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @property
    def oversees_all(self) -> bool:
        return OVERSIGHT_GROUP in self.groups or self.is_admin

    @property
    def is_supervisor(self) -> bool:
        return self.oversees_all or bool(self.supervises)

    @property
    def seen_groups(self) -> frozenset[str]:
        """Groups whose tasks this user may look at: their own and those they supervise."""
        return self.groups | self.supervises


_SUPERVISED = "SELECT group_name FROM group_supervisors WHERE username = :username"


def load_viewer(conn: Connection, username: str, display_name: str = "") -> Viewer:
    """Read once per request: two indexed statements on the raw cursor (engine/store/rawsql.py)."""
    supervised = frozenset(RawSQL.of(conn).column(conn, _SUPERVISED, {"username": username}))
    return Viewer(username, directory.groups_of(conn, username), display_name or username,
                  supervised)


def case_number(case_id: int) -> str:
    """The number people quote, e.g. GF000042; `parse_case_number` reads it back."""
    return f"{CASE_PREFIX}{case_id:06d}"


def parse_case_number(text: str | int | None) -> int | None:
    if isinstance(text, int):
        return text
    match = re.fullmatch(rf"\s*(?:{CASE_PREFIX})?0*(\d{{1,12}})\s*", text or "", re.IGNORECASE)
    return int(match.group(1)) if match else None


def case_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause on `cases` selecting the cases `viewer` may see."""
    if viewer.oversees_all:
        return true()
    groups = sorted(viewer.seen_groups)
    touched = exists(select(human_tasks.c.id).where(
        human_tasks.c.case_id == cases.c.id,
        or_(human_tasks.c.assignee == viewer.username,
            human_tasks.c.completed_by == viewer.username)))
    candidate = exists(select(task_candidates.c.task_id)
                       .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                       .where(human_tasks.c.case_id == cases.c.id,
                              task_candidates.c.group_name.in_(groups))) if groups else false()
    requested = (cases.c.data["requester_dept"].as_string().in_(groups)
                 if groups else false())
    copied = exists(select(case_copies.c.case_id).where(
        case_copies.c.case_id == cases.c.id, case_copies.c.recipient.in_(
            [f"user:{viewer.username}", *(f"group:{g}" for g in sorted(viewer.groups))])))
    return or_(cases.c.started_by == viewer.username, requested, candidate, touched, copied)


def require_case(conn: Connection, viewer: Viewer, case_id: int) -> None:
    """Raise CaseNotFound unless the case exists and `viewer` may see it."""
    seen = conn.execute(select(cases.c.id).where(cases.c.id == case_id, case_scope(viewer)))
    if seen.first() is None:
        raise CaseNotFound(f"case {case_number(case_id)} does not exist")


def task_visible(viewer: Viewer, task: TaskView) -> bool:
    return (viewer.oversees_all or viewer.username in (task.assignee, task.completed_by)
            or bool(viewer.seen_groups & set(task.candidate_groups)))


def require_task(viewer: Viewer, task: TaskView) -> TaskView:
    if not task_visible(viewer, task):
        raise TaskNotFound(f"task {task.id} does not exist")
    return task


def may_work(viewer: Viewer, task: TaskView) -> bool:
    """Whether the task's action buttons apply: open, and theirs or free in their group."""
    if task.state != "open":
        return False
    if task.assignee is not None:
        return task.assignee == viewer.username
    return bool(viewer.groups & set(task.candidate_groups))


def public_data(data: dict[str, Any], hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """Case data without engine bookkeeping, for showing to the people working the case."""
    return {k: v for k, v in data.items() if not k.startswith("_") and k not in hidden}
