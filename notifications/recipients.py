"""Who a recipient is: `user:NAME`, `group:NAME`, `email:ADDRESS`, `phone:NUMBER`.

Staff are reached by user name (their bell, and their e-mail when one is on file);
a group means its active members; parties outside govflow by e-mail or phone.
A bare name (older rows: "administrators") is read as a group.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from engine.store.schema import contacts, memberships, users


@dataclass(frozen=True)
class Person:
    username: str | None
    email: str | None
    language: str


def parse(recipient: str) -> tuple[str, str]:
    kind, sep, value = recipient.partition(":")
    if not sep or kind not in ("user", "group", "email", "phone"):
        return "group", recipient
    return kind, value


def people(conn: Connection, recipient: str, default_language: str = "zh") -> list[Person]:
    """The persons a recipient stands for, with their address and language."""
    kind, value = parse(recipient)
    if kind in ("email", "phone"):
        return [Person(None, value if kind == "email" else None, default_language)]
    query = (select(users.c.username, contacts.c.email, contacts.c.language)
             .select_from(users.outerjoin(contacts, contacts.c.username == users.c.username))
             .where(users.c.is_active.is_(True)))
    if kind == "user":
        query = query.where(users.c.username == value)
    else:
        query = query.join(memberships, memberships.c.username == users.c.username).where(
            memberships.c.group_name == value)
    return [Person(row.username, row.email, row.language or default_language)
            for row in conn.execute(query.order_by(users.c.username))]
