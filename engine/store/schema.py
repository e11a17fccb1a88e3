"""The database tables, as SQLAlchemy Core: the same schema on SQLite and PostgreSQL.

The workflow state lives in `cases.state`; every other case table is derived from it
and written in the same transaction (human tasks, task candidates, timers, audit
events, outbox). The inbox and the scheduler read only the derived tables, so they
never deserialize a workflow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store moments in UTC and always hand back aware datetimes, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone first")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite's INTEGER PRIMARY KEY is its rowid (BIGINT is not), PostgreSQL gets a 64-bit serial.
Id = BigInteger().with_variant(Integer(), "sqlite")

process_versions = Table(
    "process_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("process_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(500)),
    Column("file_name", String(500), nullable=False),
    Column("xml", LargeBinary, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("deployed_at", UTCDateTime, nullable=False),
    Column("deployed_by", String(200)),
    UniqueConstraint("process_id", "version"),
)

cases = Table(
    "cases", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("process_id", String(200), nullable=False),
    Column("version_id", ForeignKey("process_versions.id"), nullable=False),
    # running | completed | error | suspended | cancelled (by an administrator) | withdrawn
    Column("status", String(20), nullable=False),
    Column("requester", String(300)),
    Column("data", Json, nullable=False),
    Column("state", Text, nullable=False),
    # optimistic concurrency: every save is `UPDATE ... WHERE revision = :seen`
    Column("revision", Integer, nullable=False),
    Column("audit_head", String(64), nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Column("incident", Json),
    # limits breached so far: {"state": "overdue", "breaches": [{rule, element_id, at}]}
    Column("sla", Json),
    Column("started_at", UTCDateTime, nullable=False),
    Column("started_by", String(200)),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
)
Index("ix_cases_status", cases.c.status)
Index("ix_cases_process", cases.c.process_id, cases.c.started_at)

# Settled tasks of a case's workflow state, appended once as they settle (engine/cases/state.py);
# cases.state holds the rest. Loading a case reads its chunks in order.
case_state_chunks = Table(
    "case_state_chunks", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),
    sqlite_with_rowid=False,
)

human_tasks = Table(
    "human_tasks", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("process_id", String(200), nullable=False),
    Column("version_id", ForeignKey("process_versions.id"), nullable=False),
    Column("element_id", String(200), nullable=False),
    Column("title", String(500), nullable=False),
    Column("lane", String(200)),
    Column("candidate_groups", Json, nullable=False),
    Column("assignee", String(200)),
    Column("requester", String(300)),
    Column("form", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime),
    Column("due_provisional", Boolean, nullable=False, default=False),
    # how the due date was computed: {"received": ISO, "working_days": N}, to recompute it
    Column("due_basis", Json),
    # open | completed | cancelled
    Column("state", String(20), nullable=False),
    Column("completed_at", UTCDateTime),
    Column("completed_by", String(200)),
    sqlite_with_rowid=False,
)
Index("ix_human_tasks_open_due", human_tasks.c.state, human_tasks.c.due_at)
Index("ix_human_tasks_assignee", human_tasks.c.assignee, human_tasks.c.state,
      human_tasks.c.due_at, human_tasks.c.created_at, human_tasks.c.id)
Index("ix_human_tasks_case", human_tasks.c.case_id, human_tasks.c.state)

# One row per (task, candidate group), carrying the task's open flag and due date so
# that "my groups' open tasks by due date" is one index range scan per group.
task_candidates = Table(
    "task_candidates", metadata,
    Column("task_id", ForeignKey("human_tasks.id"), primary_key=True),
    Column("group_name", String(200), primary_key=True),
    Column("is_open", Boolean, nullable=False),
    Column("due_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    sqlite_with_rowid=False,
)
# Limits end at the end of a day, so many tasks share a due time: the index carries the
# whole inbox order (due, created, id), and reading the first page never sorts a day.
Index("ix_task_candidates_group", task_candidates.c.group_name, task_candidates.c.is_open,
      task_candidates.c.due_at, task_candidates.c.created_at, task_candidates.c.task_id)

timers = Table(
    "timers", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("task_id", String(36), primary_key=True),
    Column("element_id", String(200), nullable=False),
    Column("fire_at", UTCDateTime),
    Column("provisional", Boolean, nullable=False, default=False),
    Column("basis", Json),
    Column("rule", String(100)),
    sqlite_with_rowid=False,
)
Index("ix_timers_fire_at", timers.c.fire_at)

# Message catches a case waits on (receive tasks, intermediate catches), with the
# correlation values the case expects: one row per (task, correlation property), or one
# row with an empty `corr_key` for an uncorrelated wait. Delivery finds its case here.
message_waits = Table(
    "message_waits", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("task_id", String(36), primary_key=True),
    Column("corr_key", String(200), primary_key=True),
    Column("message", String(200), nullable=False),
    Column("element_id", String(200), nullable=False),
    Column("corr_value", String(500), nullable=False),
    sqlite_with_rowid=False,
)
Index("ix_message_waits_match", message_waits.c.message, message_waits.c.corr_key,
      message_waits.c.corr_value)

# The version of each called process (call activity) a case runs, fixed when it starts.
case_calls = Table(
    "case_calls", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("process_id", String(200), primary_key=True),
    Column("version_id", ForeignKey("process_versions.id"), nullable=False),
    sqlite_with_rowid=False,
)

# 抄送: a case copied to a user or a group for information. They see the case read-only
# (engine/people/access.py) and in the inbox's "copied to me" view; they never act on it.
case_copies = Table(
    "case_copies", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    # "user:<username>" or "group:<group name>"
    Column("recipient", String(200), primary_key=True),
    Column("copied_by", String(200), nullable=False),
    Column("copied_at", UTCDateTime, nullable=False),
    Column("note", Text),
    sqlite_with_rowid=False,
)
Index("ix_case_copies_recipient", case_copies.c.recipient, case_copies.c.copied_at)

audit_events = Table(
    "audit_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("task_id", String(36)),
    Column("element_id", String(200)),
    Column("rule", String(100)),
    Column("details", Json, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq"),
)

# Notifications to deliver, written in the transaction of the change that caused them.
outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("case_id", ForeignKey("cases.id")),
    Column("kind", String(100), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("payload", Json, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("task_id", String(36)),
    # the reminder rung that caused the message (due_soon, due, overdue_2, manual...)
    Column("rung", String(50)),
    # one message, one key: a channel that can recognise a resend drops the second copy
    Column("idempotency_key", String(200)),
    # pending -> sending (claimed, lease running) -> sent | dead (after max attempts)
    Column("status", String(20), nullable=False, default="pending", server_default="pending"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
    # sends that may have reached the recipient before a crash kept them from being marked
    Column("duplicates", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_case", outbox.c.case_id)

# The in-app channel: one row per user and message, behind the bell in the web UI.
notifications = Table(
    "notifications", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", ForeignKey("outbox.id"), nullable=False),
    Column("username", ForeignKey("users.username"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("case_id", ForeignKey("cases.id")),
    Column("task_id", String(36)),
    Column("kind", String(100), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("read_at", UTCDateTime),
    UniqueConstraint("outbox_id", "username"),
)
Index("ix_notifications_user", notifications.c.username, notifications.c.read_at,
      notifications.c.id)

# The SLA ladder (催办): one row per rung of an open task, fired once by the sweep.
reminders = Table(
    "reminders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("task_id", ForeignKey("human_tasks.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("rung", String(50), nullable=False),
    Column("fire_at", UTCDateTime, nullable=False),
    Column("provisional", Boolean, nullable=False, default=False),
    # pending | sent | cancelled
    Column("state", String(20), nullable=False),
    Column("sent_at", UTCDateTime),
    Column("sent_by", String(200)),
    Column("note", Text),
    UniqueConstraint("task_id", "rung"),
)
Index("ix_reminders_due", reminders.c.state, reminders.c.fire_at)
Index("ix_reminders_task", reminders.c.task_id, reminders.c.state)

# Who supervises a group's work (the group's leader); the data authority oversees all.
group_supervisors = Table(
    "group_supervisors", metadata,
    Column("group_name", ForeignKey("groups.name"), primary_key=True),
    Column("username", ForeignKey("users.username"), primary_key=True),
)
Index("ix_group_supervisors_user", group_supervisors.c.username)

# How to reach a user besides the bell: an e-mail address and the language to write in.
contacts = Table(
    "contacts", metadata,
    Column("username", ForeignKey("users.username"), primary_key=True),
    Column("email", String(300)),
    Column("language", String(5), nullable=False, default="zh", server_default="zh"),
)

# The model an administrator is editing in the modeler, one per process, until deployed.
model_drafts = Table(
    "model_drafts", metadata,
    Column("process_id", String(200), primary_key=True),
    Column("file_name", String(500), nullable=False),
    Column("xml", LargeBinary, nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("saved_by", String(200), nullable=False),
)

calendar_years = Table(
    "calendar_years", metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("table", Json, nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("entered_by", String(200)),
)

users = Table(
    "users", metadata,
    Column("username", String(200), primary_key=True),
    Column("display_name", String(300), nullable=False),
    Column("password_hash", String(300)),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

groups = Table(
    "groups", metadata,
    Column("name", String(200), primary_key=True),
    Column("title", String(300), nullable=False),
    # department | role
    Column("kind", String(20), nullable=False),
)

memberships = Table(
    "memberships", metadata,
    Column("username", ForeignKey("users.username"), primary_key=True),
    Column("group_name", ForeignKey("groups.name"), primary_key=True),
)
Index("ix_memberships_group", memberships.c.group_name)

# -- the web's tables: files, comments, API tokens and the portal's tracking codes ------

# Files attached to a case; the bytes live outside the database, named by their hash.
attachments = Table(
    "attachments", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("task_id", String(36)),
    Column("file_name", String(300), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
)
Index("ix_attachments_case", attachments.c.case_id)

comments = Table(
    "comments", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("task_id", String(36)),
    Column("author", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_comments_case", comments.c.case_id, comments.c.id)

# Bearer tokens for other systems; only a hash of each token is kept.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("username", ForeignKey("users.username"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)
Index("ix_api_tokens_user", api_tokens.c.username)

# A case submitted through the public portal, and the hash of its tracking code.
portal_tickets = Table(
    "portal_tickets", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True, autoincrement=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# -- the resource catalog (政务数据资源目录), kept by the data authority ------------------

# The current catalog: one row per dataset. `version` is the catalog version that last
# changed the row; share and open classes decide how requests for it are routed.
catalog_datasets = Table(
    "catalog_datasets", metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("provider_dept", ForeignKey("groups.name"), nullable=False),
    # unconditional | conditional | not_shared
    Column("share_class", String(20), nullable=False),
    # open_unconditional | open_conditional | not_open
    Column("open_class", String(20), nullable=False),
    Column("data_items", Json, nullable=False),
    Column("restriction_basis", Text),
    Column("version", Integer, nullable=False),
)
Index("ix_catalog_datasets_provider", catalog_datasets.c.provider_dept)

# Every change to the catalog is a new version: who, when, why, and each dataset's
# record before and after. Cases record the version they were decided on.
catalog_versions = Table(
    "catalog_versions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("reason", Text),
    Column("changes", Json, nullable=False),
)

# A signed-in browser session; signing out deletes its row, so a copied cookie is dead.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", ForeignKey("users.username"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_web_sessions_user", web_sessions.c.username)

# What a user chose for themselves (the UI language), kept across sign-ins.
user_preferences = Table(
    "user_preferences", metadata,
    Column("username", ForeignKey("users.username"), primary_key=True),
    Column("language", String(8)),
)

# Signed checkpoints of the audit chains (engine/store/checkpoints.py): each anchors the heads of
# the cases whose trail grew since the previous one, and carries that one's MAC.
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("previous", String(64), nullable=False),
    Column("cases", Integer, nullable=False),
    Column("mac", String(64), nullable=False),
)

# No foreign key to cases: an anchor must outlive a deleted case to tell of it.
audit_anchors = Table(
    "audit_anchors", metadata,
    Column("checkpoint_id", ForeignKey("audit_checkpoints.id"), primary_key=True),
    Column("case_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    sqlite_with_rowid=False,
)
Index("ix_audit_anchors_case", audit_anchors.c.case_id, audit_anchors.c.seq)
