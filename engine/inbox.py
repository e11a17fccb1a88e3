"""The reviewer's inbox: open tasks in scope, filtered, sorted and paged, with SLA states.

The query is two index range scans joined by UNION: the tasks a user holds
(`ix_human_tasks_assignee`) and the unclaimed open tasks of their groups
(`ix_task_candidates_group`). Neither touches closed tasks, so its cost follows the
open work of the user's groups, not the size of the history (see bench/inbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, literal, or_, select, union

from .access import Viewer, case_number, parse_case_number
from .models import TaskView
from .queries import task_from_row
from .schema import human_tasks, task_candidates
from .sla import STATES, Sla, SlaClock

VIEWS = ("all", "mine", "groups", "overdue")
SORTS = ("due", "received")
COUNT_CAP = 10_000


@dataclass(frozen=True)
class InboxRow:
    task: TaskView
    sla: Sla
    number: str


@dataclass(frozen=True)
class Inbox:
    rows: tuple[InboxRow, ...]
    total: int            # capped at COUNT_CAP; `capped` says so
    capped: bool
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class InboxQuery:
    view: str = "all"
    process_id: str | None = None
    state: str | None = None
    search: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 25

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", self.view if self.view in VIEWS else "all")
        object.__setattr__(self, "sort", self.sort if self.sort in SORTS else "due")
        object.__setattr__(self, "state", self.state if self.state in STATES else None)
        object.__setattr__(self, "page", max(int(self.page or 1), 1))
        object.__setattr__(self, "per_page", min(max(int(self.per_page or 25), 1), 200))


def _scope(viewer: Viewer, view: str) -> Any:
    """The ids (and sort keys) of open tasks in `viewer`'s scope, as a UNION subquery."""
    cols = (human_tasks.c.id, human_tasks.c.due_at, human_tasks.c.created_at)
    mine = select(*cols).where(human_tasks.c.assignee == viewer.username,
                               human_tasks.c.state == "open")
    groups = (select(*cols).select_from(task_candidates)
              .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
              .where(task_candidates.c.group_name.in_(sorted(viewer.groups)),
                     task_candidates.c.is_open.is_(True), human_tasks.c.assignee.is_(None)))
    parts = {"mine": [mine], "groups": [groups]}.get(view, [mine, groups])
    if not viewer.groups:
        parts = [p for p in parts if p is not groups] or [mine]
    return (union(*parts) if len(parts) > 1 else parts[0]).subquery("scope")


def _filtered(viewer: Viewer, query: InboxQuery, clock: SlaClock) -> Select[Any]:
    scope = _scope(viewer, query.view)
    stmt = select(human_tasks).join(scope, scope.c.id == human_tasks.c.id)
    if query.view == "overdue" or query.state == "overdue":
        stmt = stmt.where(human_tasks.c.due_at < clock.now)
    if query.state == "due_soon":
        stmt = stmt.where(human_tasks.c.due_at >= clock.now,
                          human_tasks.c.due_at <= clock.due_soon_until(),
                          human_tasks.c.due_provisional.is_(False))
    elif query.state == "on_time":
        stmt = stmt.where(human_tasks.c.due_at > clock.due_soon_until(),
                          human_tasks.c.due_provisional.is_(False))
    elif query.state == "provisional":
        stmt = stmt.where(human_tasks.c.due_provisional.is_(True),
                          human_tasks.c.due_at >= clock.now)
    elif query.state == "no_deadline":
        stmt = stmt.where(human_tasks.c.due_at.is_(None))
    if query.process_id:
        stmt = stmt.where(human_tasks.c.process_id == query.process_id)
    if query.search and query.search.strip():
        text = query.search.strip()
        number = parse_case_number(text)
        by_number = [human_tasks.c.case_id == number] if number is not None else []
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(human_tasks.c.requester.like(f"%{escaped}%", escape="\\"),
                              *by_number))
    return stmt


def inbox(conn: Connection, viewer: Viewer, query: InboxQuery, clock: SlaClock) -> Inbox:
    stmt = _filtered(viewer, query, clock)
    counted = select(literal(1)).select_from(stmt.limit(COUNT_CAP + 1).subquery())
    total = conn.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
    key = human_tasks.c.due_at if query.sort == "due" else human_tasks.c.created_at
    rows = conn.execute(stmt.order_by(key.is_(None), key, human_tasks.c.created_at,
                                      human_tasks.c.case_id, human_tasks.c.id)
                        .limit(query.per_page).offset((query.page - 1) * query.per_page))
    found = []
    for row in rows:
        task = task_from_row(row)
        found.append(InboxRow(task, clock.of(task), case_number(task.case_id)))
    return Inbox(tuple(found), min(total, COUNT_CAP), total > COUNT_CAP, query.page,
                 query.per_page)


def tab_counts(conn: Connection, viewer: Viewer, clock: SlaClock) -> dict[str, int]:
    """How many tasks each tab holds, capped like the inbox total."""
    counts = {}
    for view in ("mine", "groups", "overdue"):
        stmt = _filtered(viewer, InboxQuery(view=view), clock).limit(COUNT_CAP + 1)
        counts[view] = min(conn.execute(
            select(func.count()).select_from(stmt.subquery())).scalar_one(), COUNT_CAP)
    return counts
