"""Signed-in browser sessions kept on the server, and each user's chosen language.

The browser's cookie holds a random session id; only its hash is stored. Every request
checks that the row still exists, so signing out (which deletes it) ends the session
even for a copy of the cookie saved before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, delete, insert, select, update

from engine.store.rawsql import RawSQL
from engine.store.schema import user_preferences, web_sessions

LANGUAGES = ("zh", "en")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(conn: Connection, username: str, *, now: dt.datetime,
                 lifetime: dt.timedelta) -> str:
    conn.execute(delete(web_sessions).where(web_sessions.c.created_at < now - lifetime))
    session_id = secrets.token_urlsafe(32)
    conn.execute(insert(web_sessions).values(id_hash=_digest(session_id), username=username,
                                             created_at=now))
    return session_id


# Every page request runs this lookup: one indexed statement on the raw cursor (see
# engine/store/rawsql.py), the session and its user together.
_SESSION_USER = (
    "SELECT u.username, u.display_name FROM web_sessions s"
    " JOIN users u ON u.username = s.username WHERE s.id_hash = :id_hash AND u.is_active")


def session_user(conn: Connection, session_id: str) -> tuple[str, str] | None:
    """The active user (name, display name) a live session belongs to; None once the
    session was closed or the user deactivated.

    The cookie itself is signed with its time, and the web refuses one older than the
    session lifetime; the rows of such sessions go at the next sign-in.
    """
    row = RawSQL.of(conn).one(conn, _SESSION_USER, {"id_hash": _digest(session_id or "")})
    return None if row is None else (str(row[0]), str(row[1]))


def close_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(session_id)))


def language(conn: Connection, username: str) -> str | None:
    return conn.execute(select(user_preferences.c.language)
                        .where(user_preferences.c.username == username)).scalar()


def set_language(conn: Connection, username: str, lang: str) -> None:
    if lang not in LANGUAGES:
        return
    done = conn.execute(update(user_preferences).where(user_preferences.c.username == username)
                        .values(language=lang)).rowcount
    if not done:
        conn.execute(insert(user_preferences).values(username=username, language=lang))
