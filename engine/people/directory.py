"""Users, groups and memberships: who may work which task.

Departments and roles are both groups. A task names candidate groups; a user works
it through membership, or by holding its claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from engine.errors import EngineError, NotAllowed
from engine.store.rawsql import RawSQL
from engine.store.schema import groups, memberships, users

_hasher = PasswordHasher()
SYSTEM = "system"


def add_group(conn: Connection, name: str, title: str, kind: str = "department") -> None:
    if kind not in ("department", "role"):
        raise EngineError(f"group kind must be department or role, not {kind!r}")
    exists = conn.execute(select(groups.c.name).where(groups.c.name == name)).first()
    values = {"title": title, "kind": kind}
    if exists:
        conn.execute(update(groups).where(groups.c.name == name).values(**values))
    else:
        conn.execute(insert(groups).values(name=name, **values))


def add_user(conn: Connection, username: str, display_name: str, *, password: str | None,
             groups_: list[str] = (), now: dt.datetime) -> None:  # type: ignore[assignment]
    """Create or update a user and set their groups."""
    if not username or username == SYSTEM:
        raise EngineError(f"{username!r} cannot be a user name")
    values = {"display_name": display_name, "is_active": True,
              "password_hash": _hasher.hash(password) if password else None}
    if conn.execute(select(users.c.username).where(users.c.username == username)).first():
        conn.execute(update(users).where(users.c.username == username).values(**values))
    else:
        conn.execute(insert(users).values(username=username, created_at=now, **values))
    conn.execute(delete(memberships).where(memberships.c.username == username))
    if groups_:
        known = set(conn.execute(select(groups.c.name).where(groups.c.name.in_(groups_))).scalars())
        unknown = sorted(set(groups_) - known)
        if unknown:
            raise EngineError(f"unknown groups: {', '.join(unknown)}")
        conn.execute(insert(memberships), [{"username": username, "group_name": g}
                                           for g in groups_])


_GROUPS_OF = (
    "SELECT m.group_name FROM memberships m JOIN users u ON u.username = m.username"
    " WHERE m.username = :username AND u.is_active")


def groups_of(conn: Connection, username: str) -> frozenset[str]:
    """The groups of an active user; empty for an unknown or inactive one."""
    return frozenset(RawSQL.of(conn).column(conn, _GROUPS_OF, {"username": username}))


# What makes group `g` an active department: one place for the list and the check.
_ACTIVE_DEPARTMENT = (
    "g.kind = 'department' AND EXISTS (SELECT 1 FROM memberships m JOIN users u"
    " ON u.username = m.username WHERE m.group_name = g.name AND u.is_active)")
_ACTIVE_DEPARTMENTS = (
    f"SELECT g.name, g.title FROM groups g WHERE {_ACTIVE_DEPARTMENT} ORDER BY g.name")
_IS_ACTIVE_DEPARTMENT = f"SELECT 1 FROM groups g WHERE g.name = :name AND {_ACTIVE_DEPARTMENT}"


_GROUP_TITLE = "SELECT title FROM groups WHERE name = :name"


def group_title(conn: Connection, name: str) -> str | None:
    found = RawSQL.of(conn).one(conn, _GROUP_TITLE, {"name": name})
    return found[0] if found else None


def active_among(conn: Connection, names: Iterable[str]) -> set[str]:
    """Which of `names` are active departments (see `active_departments`), asked one by
    one: a form names one or two, and the directory may hold hundreds."""
    raw = RawSQL.of(conn)
    return {n for n in names if raw.one(conn, _IS_ACTIVE_DEPARTMENT, {"name": n})}


def active_departments(conn: Connection) -> dict[str, str]:
    """Departments a case may be routed to (name -> title).

    Role groups (administrators, reviewers) are not departments, and a department
    without one active member is inactive: a task routed there could never be claimed.
    """
    return dict(conn.exec_driver_sql(_ACTIVE_DEPARTMENTS).all())


def require_user(conn: Connection, username: str) -> None:
    row = conn.execute(select(users.c.is_active).where(users.c.username == username)).first()
    if row is None or not row.is_active:
        raise NotAllowed(f"unknown or inactive user {username!r}")


def check_password(conn: Connection, username: str, password: str) -> bool:
    stored = conn.execute(select(users.c.password_hash).where(
        users.c.username == username, users.c.is_active.is_(True))).scalar()
    if not stored:
        _hasher.hash(password)  # spend the same time whether or not the user exists
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
