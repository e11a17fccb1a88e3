"""Administering people: a deactivated user can neither sign in nor use a token."""

from __future__ import annotations

import pytest

from engine.cases.govflow import Govflow
from engine.errors import Conflict, GroupNotFound, InvalidInput, InvalidToken
from engine.people import directory, tokens
from engine.people.admin import People


def test_a_user_is_created_edited_deactivated_and_reactivated(gf: Govflow) -> None:
    people = People(gf.db, gf.now)
    people.add_user("bob", "  鲍 勃 ", "correct horse", ["dept_health"])
    assert people.user("bob").display_name == "鲍 勃"
    with gf.db.write() as conn:
        assert directory.check_password(conn, "bob", "correct horse")
        token = tokens.create(conn, "bob", "sync", now=gf.now())
    people.set_password("bob", "battery staple")
    people.set_active("bob", False)
    with gf.db.write() as conn:
        assert not directory.check_password(conn, "bob", "battery staple")
        assert directory.groups_of(conn, "bob") == frozenset()
        with pytest.raises(InvalidToken):
            tokens.authenticate(conn, token, now=gf.now())
    people.set_active("bob", True)
    with gf.db.write() as conn:
        assert directory.check_password(conn, "bob", "battery staple")
        assert tokens.authenticate(conn, token, now=gf.now())[0] == "bob"


def test_bad_entries_are_refused_and_change_nothing(gf: Govflow) -> None:
    people = People(gf.db, gf.now)
    before = people.users()
    for args in (("Bob", "B", "long enough pw"), ("system", "S", "long enough pw"),
                 ("bob", " ", "long enough pw"), ("bob", "B", "short")):
        with pytest.raises(InvalidInput):
            people.add_user(*args)
    with pytest.raises(GroupNotFound):
        people.add_user("bob", "Bob", "long enough pw", ["nowhere"])
    with pytest.raises(Conflict):
        people.add_user("alice", "Alice", "long enough pw")
    assert people.users() == before


def test_a_group_has_a_supervisor_and_members(gf: Govflow) -> None:
    people = People(gf.db, gf.now)
    people.add_group("dept_stats", "统计局", "department", supervisor="root")
    people.add_member("carl", "dept_stats")
    assert people.group("dept_stats").members == ("carl",)
    assert people.edit_group("dept_stats", "统计局", None).supervisor is None
    people.remove_member("carl", "dept_stats")
    with pytest.raises(InvalidInput):
        people.remove_member("carl", "dept_stats")
