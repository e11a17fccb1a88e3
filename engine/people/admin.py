"""Administering people: users, groups, memberships and each group's supervisor.

A deactivated user keeps their name in the history of every case but can no longer
sign in; their session ends at their next request and their API tokens stop working
(both check `users.is_active`). Tasks they had claimed stay claimed and show up as
stuck in the operations console, where an administrator reassigns them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Connection, delete, insert, select, update

from engine.errors import Conflict, GroupNotFound, InvalidInput, UserNotFound
from engine.people.directory import SYSTEM
from engine.store.db import Database
from engine.store.schema import group_supervisors, groups, memberships, users

NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MIN_PASSWORD = 10
KINDS = ("department", "role")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    is_active: bool
    groups: tuple[str, ...]
    created_at: dt.datetime


@dataclass(frozen=True)
class GroupInfo:
    name: str
    title: str
    kind: str
    supervisor: str | None
    members: tuple[str, ...]   # active members only
    inactive_members: tuple[str, ...]


def _name(value: str, field: str) -> str:
    value = (value or "").strip()
    if not NAME.fullmatch(value) or value == SYSTEM:
        raise InvalidInput(f"{field.replace('_', ' ')} {value!r} is not allowed: use lower-case "
                           "letters, digits, '.', '_' or '-', starting with a letter",
                           reason="bad_name", field=field, value=value)
    return value


def _text(value: str, field: str) -> str:
    value = " ".join((value or "").split())
    if not value or len(value) > 300:
        raise InvalidInput(f"{field.replace('_', ' ')} must be 1 to 300 characters",
                           reason="text_length", field=field)
    return value


def _password_hash(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters",
                           reason="short_password", min=MIN_PASSWORD)
    return _hasher.hash(password)


class People:
    def __init__(self, db: Database, now: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.now = now

    # -- users ---------------------------------------------------------------------------
    def users(self) -> list[UserInfo]:
        with self.db.read() as conn:
            member_of: dict[str, list[str]] = {}
            for row in conn.execute(select(memberships).order_by(memberships.c.group_name)):
                member_of.setdefault(row.username, []).append(row.group_name)
            return [UserInfo(r.username, r.display_name, r.is_active,
                             tuple(member_of.get(r.username, ())), r.created_at)
                    for r in conn.execute(select(users).order_by(users.c.username))]

    def user(self, username: str) -> UserInfo:
        for found in self.users():
            if found.username == username:
                return found
        raise UserNotFound(f"no user {username!r}")

    def add_user(self, username: str, display_name: str, password: str,
                 groups_: list[str] | tuple[str, ...] = ()) -> UserInfo:
        username, display_name = _name(username, "user_name"), _text(display_name, "display_name")
        hashed = _password_hash(password)
        with self.db.write() as conn:
            if _exists(conn, username):
                raise Conflict(f"user {username!r} already exists")
            conn.execute(insert(users).values(username=username, display_name=display_name,
                                              password_hash=hashed, is_active=True,
                                              created_at=self.now()))
            for group in groups_:
                _add_member(conn, username, group)
        return self.user(username)

    def edit_user(self, username: str, display_name: str) -> UserInfo:
        display_name = _text(display_name, "display_name")
        with self.db.write() as conn:
            _require_user(conn, username)
            conn.execute(update(users).where(users.c.username == username)
                         .values(display_name=display_name))
        return self.user(username)

    def set_active(self, username: str, active: bool) -> UserInfo:
        with self.db.write() as conn:
            _require_user(conn, username)
            conn.execute(update(users).where(users.c.username == username)
                         .values(is_active=active))
        return self.user(username)

    def set_password(self, username: str, password: str) -> UserInfo:
        hashed = _password_hash(password)
        with self.db.write() as conn:
            _require_user(conn, username)
            conn.execute(update(users).where(users.c.username == username)
                         .values(password_hash=hashed))
        return self.user(username)

    # -- groups --------------------------------------------------------------------------
    def groups(self) -> list[GroupInfo]:
        with self.db.read() as conn:
            active: dict[str, list[str]] = {}
            inactive: dict[str, list[str]] = {}
            rows = conn.execute(select(memberships.c.group_name, users.c.username,
                                       users.c.is_active)
                                .join(users, users.c.username == memberships.c.username)
                                .order_by(users.c.username))
            for row in rows:
                (active if row.is_active else inactive).setdefault(
                    row.group_name, []).append(row.username)
            supervisors: dict[str, str] = {}
            for group, user in conn.execute(select(group_supervisors.c.group_name,
                                                   group_supervisors.c.username)
                                            .order_by(group_supervisors.c.username)):
                supervisors.setdefault(group, user)
            return [GroupInfo(r.name, r.title, r.kind, supervisors.get(r.name),
                              tuple(active.get(r.name, ())), tuple(inactive.get(r.name, ())))
                    for r in conn.execute(select(groups).order_by(groups.c.name))]

    def group(self, name: str) -> GroupInfo:
        for found in self.groups():
            if found.name == name:
                return found
        raise GroupNotFound(f"no group {name!r}")

    def add_group(self, name: str, title: str, kind: str = "department",
                  supervisor: str | None = None) -> GroupInfo:
        name, title = _name(name, "group_name"), _text(title, "title")
        if kind not in KINDS:
            raise InvalidInput(f"a group is a department or a role, not {kind!r}",
                               reason="group_kind")
        with self.db.write() as conn:
            if conn.execute(select(groups.c.name).where(groups.c.name == name)).first():
                raise Conflict(f"group {name!r} already exists")
            conn.execute(insert(groups).values(name=name, title=title, kind=kind))
            _set_supervisor(conn, name, supervisor)
        return self.group(name)

    def edit_group(self, name: str, title: str, supervisor: str | None) -> GroupInfo:
        title = _text(title, "title")
        with self.db.write() as conn:
            _require_group(conn, name)
            conn.execute(update(groups).where(groups.c.name == name).values(title=title))
            _set_supervisor(conn, name, supervisor)
        return self.group(name)

    def add_member(self, username: str, group: str) -> GroupInfo:
        with self.db.write() as conn:
            _require_user(conn, username)
            _add_member(conn, username, group)
        return self.group(group)

    def remove_member(self, username: str, group: str) -> GroupInfo:
        with self.db.write() as conn:
            _require_user(conn, username)
            _require_group(conn, group)
            gone = conn.execute(delete(memberships).where(
                memberships.c.username == username, memberships.c.group_name == group)).rowcount
            if gone != 1:
                raise InvalidInput(f"{username} is not a member of {group}", reason="not_member",
                                   user=username, group=group)
        return self.group(group)


def _exists(conn: Connection, username: str) -> bool:
    return conn.execute(select(users.c.username).where(users.c.username == username)).first() \
        is not None


def _require_user(conn: Connection, username: str) -> None:
    if not _exists(conn, username):
        raise UserNotFound(f"no user {username!r}")


def _require_group(conn: Connection, name: str) -> None:
    if conn.execute(select(groups.c.name).where(groups.c.name == name)).first() is None:
        raise GroupNotFound(f"no group {name!r}")


def _add_member(conn: Connection, username: str, group: str) -> None:
    _require_group(conn, group)
    already = conn.execute(select(memberships.c.username).where(
        memberships.c.username == username, memberships.c.group_name == group)).first()
    if already is None:
        conn.execute(insert(memberships).values(username=username, group_name=group))


def _set_supervisor(conn: Connection, group: str, supervisor: str | None) -> None:
    """The group's one supervisor, as reminders and supervision read it (or none)."""
    if supervisor:
        _require_user(conn, supervisor)
    conn.execute(delete(group_supervisors).where(group_supervisors.c.group_name == group))
    if supervisor:
        conn.execute(insert(group_supervisors).values(group_name=group, username=supervisor))
