"""The reviewer's inbox: open tasks in scope, filtered, sorted and paged, with SLA states.

Each source of work is read on its own index in due-date order and stops after the
rows the page needs: the tasks a user holds (`ix_human_tasks_assignee`) and the
unclaimed open tasks of each of their groups (`ix_task_candidates_group`); the sources
are merged in Python. Totals are counted up to COUNT_CAP (shown as "200+"). No read
touches closed tasks or scans a whole group, so the cost follows the page, not the
size of the history nor of the backlog (see bench/inbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, or_, select, true

from .access import Viewer, case_number, parse_case_number
from .models import TaskView
from .queries import task_from_row
from .schema import human_tasks, task_candidates
from .sla import STATES, Sla, SlaClock

VIEWS = ("all", "mine", "groups", "overdue")
SORTS = ("due", "received")
COUNT_CAP = 200


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


def _sources(viewer: Viewer, view: str) -> list[tuple[Select[Any], Any]]:
    """One SELECT per source of work, with the (due, created, id) columns of its index.

    The tasks a user holds walk `ix_human_tasks_assignee` (assignee, state, due_at,
    created_at, id); each of their groups walks `ix_task_candidates_group` (group,
    is_open, due_at, created_at, task_id). Both carry the whole inbox order.
    """
    sources: list[tuple[Select[Any], Any]] = []
    if view != "groups":
        sources.append((select(human_tasks).where(human_tasks.c.assignee == viewer.username,
                                                  human_tasks.c.state == "open"),
                        (human_tasks.c.due_at, human_tasks.c.created_at, human_tasks.c.id)))
    if view == "overdue" and viewer.oversees_all:  # every department's late work
        sources.append((select(human_tasks).where(human_tasks.c.state == "open"),
                        (human_tasks.c.due_at, human_tasks.c.created_at, human_tasks.c.id)))
        return sources
    if view == "overdue":  # the groups a user supervises, claimed or not
        for group in sorted(viewer.supervises):
            sources.append((
                select(human_tasks).select_from(task_candidates)
                .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                .where(task_candidates.c.group_name == group,
                       task_candidates.c.is_open == true()),
                (task_candidates.c.due_at, task_candidates.c.created_at,
                 task_candidates.c.task_id)))
    if view != "mine":
        for group in sorted(viewer.groups):
            sources.append((
                select(human_tasks).select_from(task_candidates)
                .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                .where(task_candidates.c.group_name == group,
                       task_candidates.c.is_open == true(), human_tasks.c.assignee.is_(None)),
                (task_candidates.c.due_at, task_candidates.c.created_at,
                 task_candidates.c.task_id)))
    return sources


def _narrow(stmt: Select[Any], order: Any, query: InboxQuery, clock: SlaClock,
            dated: bool) -> Select[Any] | None:
    """Apply the filters to one source; None when no task of it can match."""
    due = order[0]
    state = "overdue" if query.view == "overdue" else query.state
    if not dated:
        if state not in (None, "no_deadline"):
            return None
        stmt = stmt.where(due.is_(None))
    elif state == "no_deadline":
        return None
    else:
        stmt = stmt.where(due.is_not(None))
    if state == "overdue":
        stmt = stmt.where(due <= clock.last_second)
    elif state == "due_soon":
        stmt = stmt.where(due > clock.last_second, due <= clock.due_soon_until(),
                          human_tasks.c.due_provisional.is_(False))
    elif state == "on_time":
        stmt = stmt.where(due > clock.due_soon_until(), human_tasks.c.due_provisional.is_(False))
    elif state == "provisional":
        stmt = stmt.where(due > clock.last_second, human_tasks.c.due_provisional.is_(True))
    if query.process_id:
        stmt = stmt.where(human_tasks.c.process_id == query.process_id)
    if query.search and query.search.strip():
        text = query.search.strip()
        number = parse_case_number(text)
        by_number = [human_tasks.c.case_id == number] if number is not None else []
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # any letter case, as SQLite's LIKE always did and PostgreSQL's LIKE does not
        stmt = stmt.where(or_(human_tasks.c.requester.ilike(f"%{escaped}%", escape="\\"),
                              *by_number))
    return stmt


def _parts(viewer: Viewer, query: InboxQuery, clock: SlaClock, dated: bool) -> list[
        tuple[Select[Any], Any]]:
    found = []
    for stmt, order in _sources(viewer, query.view):
        narrowed = _narrow(stmt, order, query, clock, dated)
        if narrowed is not None:
            found.append((narrowed, order))
    return found


def _count(conn: Connection, parts: list[tuple[Select[Any], Any]]) -> int:
    """Distinct tasks over all parts, counting at most COUNT_CAP + 1.

    Each part reads at most COUNT_CAP + 1 ids off its index range; a task offered to
    two of the user's groups counts once.
    """
    seen: set[str] = set()
    for stmt, _ in parts:
        seen.update(conn.execute(stmt.with_only_columns(human_tasks.c.id)
                                 .limit(COUNT_CAP + 1)).scalars())
        if len(seen) > COUNT_CAP:
            break
    return len(seen)


def _sort_key(task: TaskView, sort: str) -> tuple[Any, ...]:
    key = task.due_at if sort == "due" else task.created_at
    return (key is None, key or task.created_at, task.created_at, task.id)


def _top(conn: Connection, viewer: Viewer, query: InboxQuery, clock: SlaClock,
         k: int) -> list[TaskView]:
    """The first k tasks in order: each source gives its own first k, walking its index."""
    found: dict[str, TaskView] = {}
    for dated in (True, False):
        for stmt, order in _parts(viewer, query, clock, dated):
            ordering = order if query.sort == "due" and dated else (
                human_tasks.c.created_at, human_tasks.c.id)
            rows = conn.execute(stmt.order_by(*ordering).limit(k))
            for row in rows:
                found.setdefault(row.id, task_from_row(row))
        if len(found) >= k and query.sort == "due":
            break      # undated tasks sort after every dated one
    return sorted(found.values(), key=lambda t: _sort_key(t, query.sort))[:k]


def inbox(conn: Connection, viewer: Viewer, query: InboxQuery, clock: SlaClock) -> Inbox:
    total = _count(conn, _parts(viewer, query, clock, True) + _parts(viewer, query, clock, False))
    first = (query.page - 1) * query.per_page
    tasks = _top(conn, viewer, query, clock, first + query.per_page)[first:]
    rows = tuple(InboxRow(t, clock.of(t), case_number(t.case_id)) for t in tasks)
    return Inbox(rows, min(total, COUNT_CAP), total > COUNT_CAP, query.page, query.per_page)


def tab_counts(conn: Connection, viewer: Viewer, clock: SlaClock) -> dict[str, int]:
    """How many tasks each tab holds, capped like the inbox total."""
    counts = {}
    for view in ("mine", "groups", "overdue"):
        query = InboxQuery(view=view)
        parts = _parts(viewer, query, clock, True) + _parts(viewer, query, clock, False)
        counts[view] = min(_count(conn, parts), COUNT_CAP)
    return counts
