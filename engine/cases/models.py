"""What the engine hands out: frozen snapshots, never SpiffWorkflow objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    version_id: int
    content_hash: str
    created: bool


@dataclass(frozen=True)
class TaskView:
    id: str
    case_id: int
    process_id: str
    version_id: int
    element_id: str
    title: str
    lane: str | None
    candidate_groups: tuple[str, ...]
    assignee: str | None
    requester: str | None
    form: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    due_provisional: bool
    due_basis: dict[str, Any] | None
    state: str
    completed_at: dt.datetime | None = None
    completed_by: str | None = None


@dataclass(frozen=True)
class TimerView:
    case_id: int
    task_id: str
    element_id: str
    fire_at: dt.datetime | None
    provisional: bool
    rule: str | None
    basis: dict[str, Any] | None


@dataclass(frozen=True)
class AuditEvent:
    case_id: int
    seq: int
    at: dt.datetime
    actor: str
    action: str
    task_id: str | None
    element_id: str | None
    rule: str | None
    details: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class CaseView:
    id: int
    process_id: str
    version: int
    version_id: int
    status: str
    requester: str | None
    data: dict[str, Any]
    incident: dict[str, Any] | None
    started_at: dt.datetime
    started_by: str | None
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    tasks: tuple[TaskView, ...] = field(default=())
    timers: tuple[TimerView, ...] = field(default=())
    events: tuple[AuditEvent, ...] = field(default=())
    sla: dict[str, Any] | None = None


@dataclass(frozen=True)
class InboxPage:
    tasks: tuple[TaskView, ...]
    total: int            # counted up to engine.cases.inbox.COUNT_CAP (200)
    page: int
    per_page: int


@dataclass(frozen=True)
class TimerFiring:
    """What one `fire_due_timers` pass did."""

    fired: tuple[tuple[int, str], ...]   # (case id, timer element id)
    conflicts: tuple[int, ...]           # cases changed meanwhile (or unrecordable); next pass
    incidents: tuple[int, ...] = ()      # cases whose timers could not be fired: now in error
    selected: int = 0                    # cases the pass found due (at most its limit)


@dataclass(frozen=True)
class MessageDelivery:
    """Where a message went: the case it woke or started, and the element that caught it."""

    message: str
    case_id: int
    element_id: str
    started: bool     # a message start event created the case
    status: str       # the case's status after the step
