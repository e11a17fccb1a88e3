"""Comments on a case: plain text, never markup; shown escaped wherever they appear."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from engine.errors import InvalidTaskData
from engine.store.schema import comments

MAX_LENGTH = 4000


@dataclass(frozen=True)
class Comment:
    id: int
    case_id: int
    task_id: str | None
    author: str
    body: str
    created_at: dt.datetime


def add(conn: Connection, *, case_id: int, task_id: str | None, author: str, body: str,
        now: dt.datetime) -> Comment:
    body = (body or "").strip()
    if not body:
        raise InvalidTaskData("a comment cannot be empty", {"body": "必填 (required)"})
    if len(body) > MAX_LENGTH:
        raise InvalidTaskData("the comment is too long",
                              {"body": f"至多 {MAX_LENGTH} 个字符 (at most {MAX_LENGTH})"})
    new_id = conn.execute(insert(comments).values(
        case_id=case_id, task_id=task_id, author=author, body=body, created_at=now,
    )).inserted_primary_key[0]
    return Comment(new_id, case_id, task_id, author, body, now)


def of_case(conn: Connection, case_id: int) -> tuple[Comment, ...]:
    rows = conn.execute(select(comments).where(comments.c.case_id == case_id)
                        .order_by(comments.c.id))
    return tuple(Comment(**r._mapping) for r in rows)
