"""API bearer tokens: random, shown once, stored as a SHA-256 hash, revocable.

A token acts as the user who made it, with exactly that user's rights; the API applies
the same access rules as the pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, insert, select, update

from engine.errors import InvalidToken, NotFound
from engine.people import directory
from engine.store.rawsql import RawSQL
from engine.store.schema import api_tokens

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


class Bearer(NamedTuple):
    username: str
    token_id: int
    display_name: str
    stale: bool  # last noted as used more than TOUCH_EVERY ago: `touch` is due


# Every API request runs this lookup: one indexed statement on the raw cursor (see
# engine/store/rawsql.py), the token and its user together.
_AUTHENTICATE = (
    "SELECT t.id, t.username, t.revoked_at, t.last_used_at, u.display_name, u.is_active"
    " FROM api_tokens t JOIN users u ON u.username = t.username"
    " WHERE t.token_hash = :token_hash")
_TOUCH = (
    "UPDATE api_tokens SET last_used_at = :now WHERE id = :token_id"
    " AND (last_used_at IS NULL OR last_used_at < :stale_before)")


def authenticate(conn: Connection, token: str, *, now: dt.datetime) -> Bearer:
    """Return the user a token acts as and whether `touch` is due; or raise.

    Only reads: a request with a token used within the last minute writes nothing, so
    API reads never wait for the write lock just to note when the token was used.
    """
    raw = RawSQL.of(conn)
    row = raw.one(conn, _AUTHENTICATE, {"token_hash": _digest(token or "")})
    if row is None or row[2] is not None:
        raise InvalidToken("the bearer token is unknown or revoked")
    token_id, username, _, last_used, display_name, active = row
    if not active:
        raise InvalidToken("the token's user is inactive")
    last_used = raw.read_when(last_used)
    stale = last_used is None or now - last_used >= TOUCH_EVERY
    return Bearer(str(username), int(token_id), str(display_name), stale)


def touch(conn: Connection, token_id: int, *, now: dt.datetime) -> None:
    """Note when a token was last used (at most once per `TOUCH_EVERY`)."""
    raw = RawSQL.of(conn)
    raw.run(conn, _TOUCH, {"now": raw.when(now), "token_id": token_id,
                           "stale_before": raw.when(now - TOUCH_EVERY)})


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
