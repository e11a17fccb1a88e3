"""The reviewer's inbox: open tasks in scope, filtered, sorted and paged, with SLA states.

Each source of work is read on its own index in due-date order and stops after the
rows the page needs: the tasks a user holds (`ix_human_tasks_assignee`) and the
unclaimed open tasks of each of their groups (`ix_task_candidates_group`); the sources
are merged in Python. Totals are counted in SQL up to COUNT_CAP (shown as "200+"). No read
touches closed tasks or scans a whole group, so the cost follows the page, not the
size of the history nor of the backlog (see bench/inbox.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, func, or_, select, true, union

from engine.cases.models import TaskView
from engine.cases.queries import task_from_raw
from engine.people.access import Viewer, case_number, parse_case_number
from engine.store.rawsql import Compiled, RawSQL
from engine.store.schema import human_tasks, task_candidates
from engine.time.sla import STATES, Sla, SlaClock

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


@dataclass(frozen=True)
class _Shape:
    """What decides the statements of an inbox read; the values go in as parameters."""

    view: str
    state: str | None
    sort: str
    groups: int           # how many groups the user is in
    supervises: int       # how many groups the user supervises
    oversees_all: bool
    process: bool         # filtered by process
    search: bool          # searched by requester
    number: bool          # ... or by a case number


@dataclass(frozen=True)
class _Plan:
    """The SQL of one shape of read, for one backend's raw cursor."""

    count: Compiled | None          # distinct tasks, up to COUNT_CAP + 1
    dated: tuple[Compiled, ...]     # each source's first :k tasks with a due date
    undated: tuple[Compiled, ...]   # ... and without


def _sources(shape: _Shape) -> list[tuple[Select[Any], Any]]:
    """One SELECT per source of work, with the (due, created, id) columns of its index.

    The tasks a user holds walk `ix_human_tasks_assignee` (assignee, state, due_at,
    created_at, id); each of their groups walks `ix_task_candidates_group` (group,
    is_open, due_at, created_at, task_id). Both carry the whole inbox order.
    """
    view = shape.view
    sources: list[tuple[Select[Any], Any]] = []
    if view != "groups":
        sources.append((select(human_tasks).where(
            human_tasks.c.assignee == bindparam("username"), human_tasks.c.state == "open"),
            (human_tasks.c.due_at, human_tasks.c.created_at, human_tasks.c.id)))
    if view == "overdue" and shape.oversees_all:  # every department's late work
        sources.append((select(human_tasks).where(human_tasks.c.state == "open"),
                        (human_tasks.c.due_at, human_tasks.c.created_at, human_tasks.c.id)))
        return sources
    if view == "overdue":  # the groups a user supervises, claimed or not
        for i in range(shape.supervises):
            sources.append((
                select(human_tasks).select_from(task_candidates)
                .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                .where(task_candidates.c.group_name == bindparam(f"supervised{i}"),
                       task_candidates.c.is_open == true()),
                (task_candidates.c.due_at, task_candidates.c.created_at,
                 task_candidates.c.task_id)))
    if view != "mine":
        for i in range(shape.groups):
            sources.append((
                select(human_tasks).select_from(task_candidates)
                .join(human_tasks, human_tasks.c.id == task_candidates.c.task_id)
                .where(task_candidates.c.group_name == bindparam(f"group{i}"),
                       task_candidates.c.is_open == true(), human_tasks.c.assignee.is_(None)),
                (task_candidates.c.due_at, task_candidates.c.created_at,
                 task_candidates.c.task_id)))
    return sources


def _narrow(stmt: Select[Any], order: Any, shape: _Shape, dated: bool) -> Select[Any] | None:
    """Apply the filters to one source; None when no task of it can match."""
    due = order[0]
    state = "overdue" if shape.view == "overdue" else shape.state
    if not dated:
        if state not in (None, "no_deadline"):
            return None
        stmt = stmt.where(due.is_(None))
    elif state == "no_deadline":
        return None
    else:
        stmt = stmt.where(due.is_not(None))
    last_second, due_soon_until = bindparam("last_second"), bindparam("due_soon_until")
    if state == "overdue":
        stmt = stmt.where(due <= last_second)
    elif state == "due_soon":
        stmt = stmt.where(due > last_second, due <= due_soon_until,
                          human_tasks.c.due_provisional.is_(False))
    elif state == "on_time":
        stmt = stmt.where(due > due_soon_until, human_tasks.c.due_provisional.is_(False))
    elif state == "provisional":
        stmt = stmt.where(due > last_second, human_tasks.c.due_provisional.is_(True))
    if shape.process:
        stmt = stmt.where(human_tasks.c.process_id == bindparam("process_id"))
    if shape.search:
        by_number = [human_tasks.c.case_id == bindparam("number")] if shape.number else []
        # any letter case, as SQLite's LIKE always did and PostgreSQL's LIKE does not
        stmt = stmt.where(or_(human_tasks.c.requester.ilike(bindparam("like"), escape="\\"),
                              *by_number))
    return stmt


@functools.lru_cache(maxsize=512)
def _plan(shape: _Shape, backend: str) -> _Plan:
    """The SQL of one shape of read, built and compiled once per backend: each read only
    binds its values and runs on the raw cursor (every inbox and API read passes here)."""
    parts: dict[bool, list[tuple[Select[Any], Any]]] = {True: [], False: []}
    for dated in (True, False):
        for stmt, order in _sources(shape):
            narrowed = _narrow(stmt, order, shape, dated)
            if narrowed is not None:
                parts[dated].append((narrowed, order))
    k = bindparam("k", type_=Integer)
    top = {dated: tuple(
        stmt.order_by(*(order if shape.sort == "due" and dated else (
            human_tasks.c.created_at, human_tasks.c.id))).limit(k)
        for stmt, order in found) for dated, found in parts.items()}
    raw = RawSQL.by_name(backend)
    count = _count_statement(parts[True] + parts[False])
    return _Plan(None if count is None else raw.compile(count),
                 tuple(map(raw.compile, top[True])), tuple(map(raw.compile, top[False])))


def _count_statement(parts: list[tuple[Select[Any], Any]]) -> Select[Any] | None:
    """Distinct tasks over all parts, counted in one statement up to COUNT_CAP + 1.

    Each part reads at most COUNT_CAP + 1 ids off its index range; the UNION counts a
    task offered to two of the user's groups once.
    """
    capped = [select(stmt.with_only_columns(human_tasks.c.id).limit(COUNT_CAP + 1)
                     .subquery().c.id) for stmt, _ in parts]
    if not capped:
        return None
    ids = union(*capped) if len(capped) > 1 else capped[0]
    return select(func.count()).select_from(ids.subquery())


def _bind(viewer: Viewer, query: InboxQuery, clock: SlaClock,
          raw: RawSQL) -> tuple[_Shape, dict[str, Any]]:
    """The shape of this read and the values it binds."""
    params: dict[str, Any] = {"username": viewer.username,
                              "last_second": raw.when(clock.last_second),
                              "due_soon_until": raw.when(clock.due_soon_until())}
    params.update((f"group{i}", g) for i, g in enumerate(sorted(viewer.groups)))
    params.update((f"supervised{i}", g) for i, g in enumerate(sorted(viewer.supervises)))
    text = (query.search or "").strip()
    number = parse_case_number(text) if text else None
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["like"] = f"%{escaped}%"
        params["number"] = number
    if query.process_id:
        params["process_id"] = query.process_id
    return _Shape(query.view, query.state, query.sort, len(viewer.groups),
                  len(viewer.supervises), viewer.oversees_all, bool(query.process_id),
                  bool(text), number is not None), params


def _count(conn: Connection, plan: _Plan, params: dict[str, Any]) -> int:
    if plan.count is None:
        return 0
    found = RawSQL.of(conn).one(conn, plan.count.sql, {**plan.count.fixed, **params})
    return int(found[0])  # type: ignore[index]


def _sort_key(task: TaskView, sort: str) -> tuple[Any, ...]:
    key = task.due_at if sort == "due" else task.created_at
    return (key is None, key or task.created_at, task.created_at, task.id)


def _top(conn: Connection, plan: _Plan, params: dict[str, Any], sort: str,
         k: int) -> list[TaskView]:
    """The first k tasks in order: each source gives its own first k, walking its index."""
    found: dict[str, TaskView] = {}
    params = {**params, "k": k}
    raw = RawSQL.of(conn)
    for statements in (plan.dated, plan.undated):
        for stmt in statements:
            for row in raw.rows(conn, stmt.sql, {**stmt.fixed, **params}):
                if row[0] not in found:
                    found[row[0]] = task_from_raw(raw, row)
        if len(found) >= k and sort == "due":
            break      # undated tasks sort after every dated one
    return sorted(found.values(), key=lambda t: _sort_key(t, sort))[:k]


def inbox(conn: Connection, viewer: Viewer, query: InboxQuery, clock: SlaClock) -> Inbox:
    shape, params = _bind(viewer, query, clock, RawSQL.of(conn))
    plan = _plan(shape, conn.dialect.name)
    total = _count(conn, plan, params)
    first = (query.page - 1) * query.per_page
    tasks = _top(conn, plan, params, query.sort, first + query.per_page)[first:]
    rows = tuple(InboxRow(t, clock.of(t), case_number(t.case_id)) for t in tasks)
    return Inbox(rows, min(total, COUNT_CAP), total > COUNT_CAP, query.page, query.per_page)


def tab_counts(conn: Connection, viewer: Viewer, clock: SlaClock) -> dict[str, int]:
    """How many tasks each tab holds, capped like the inbox total."""
    counts = {}
    for view in ("mine", "groups", "overdue"):
        shape, params = _bind(viewer, InboxQuery(view=view), clock, RawSQL.of(conn))
        counts[view] = min(_count(conn, _plan(shape, conn.dialect.name), params), COUNT_CAP)
    return counts
