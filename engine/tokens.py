"""API bearer tokens: random, shown once, stored as a SHA-256 hash, revocable.

A token acts as the user who made it, with exactly that user's rights; the API applies
the same access rules as the pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from . import directory
from .errors import EngineError, InvalidToken, NotFound
from .schema import api_tokens

PREFIX = "gft_"
TOUCH_EVERY = dt.timedelta(minutes=1)

@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, username: str, name: str, *, now: dt.datetime) -> str:
    """Make a token for `username` and return it; it cannot be shown again."""
    directory.require_user(conn, username)
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(api_tokens).values(
        token_hash=_digest(token), username=username, name=(name or "API").strip()[:200],
        created_at=now))
    return token


def authenticate(conn: Connection, token: str, *, now: dt.datetime) -> tuple[str, int, bool]:
    """Return the user a token acts as, its id and whether `touch` is due; or raise.

    Only reads: a request with a token used within the last minute writes nothing, so
    API reads never wait for the write lock just to note when the token was used.
    """
    row = conn.execute(select(api_tokens.c.id, api_tokens.c.username, api_tokens.c.revoked_at,
                              api_tokens.c.last_used_at)
                       .where(api_tokens.c.token_hash == _digest(token or ""))).first()
    if row is None or row.revoked_at is not None:
        raise InvalidToken("the bearer token is unknown or revoked")
    if not _active(conn, row.username):
        raise InvalidToken("the token's user is inactive")
    stale = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
    return str(row.username), int(row.id), stale


def touch(conn: Connection, token_id: int, *, now: dt.datetime) -> None:
    """Note when a token was last used (at most once per `TOUCH_EVERY`)."""
    conn.execute(update(api_tokens).where(
        api_tokens.c.id == token_id,
        (api_tokens.c.last_used_at.is_(None)) | (api_tokens.c.last_used_at < now - TOUCH_EVERY)
    ).values(last_used_at=now))


def _active(conn: Connection, username: str) -> bool:
    try:
        directory.require_user(conn, username)
    except EngineError:
        return False
    return True


def of_user(conn: Connection, username: str) -> list[TokenInfo]:
    rows = conn.execute(select(api_tokens).where(api_tokens.c.username == username)
                        .order_by(api_tokens.c.id))
    return [TokenInfo(r.id, r.username, r.name, r.created_at, r.last_used_at, r.revoked_at)
            for r in rows]


def revoke(conn: Connection, username: str, token_id: int, *, now: dt.datetime) -> None:
    done = conn.execute(update(api_tokens).where(
        api_tokens.c.id == token_id, api_tokens.c.username == username,
        api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    if done != 1:
        raise NotFound(f"no active token {token_id}")
