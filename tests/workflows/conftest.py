"""Groups and users the shipped workflows need, and helpers to drive cases by element id."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import MappingProxyType
from typing import Any

import pytest

from engine.cases.govflow import Govflow
from engine.cases.models import CaseView, TaskView
from engine.people import directory
from engine.rules.profile import JurisdictionProfile, load_profile
from engine.time.clock import SHANGHAI

#: Role groups the models name in candidateGroups (departments come from case data).
WORKFLOW_GROUPS = {
    "legal_review": ("合法性审查", "role"),
    "expert_panel": ("专家论证", "role"),
    "confidentiality": ("保密审查", "role"),
    "competent_authority": ("有权国家机关", "role"),
    "hearing": ("听证和征求意见", "role"),
}
WORKFLOW_USERS = {
    "pete": ["dept_public_security"], "lena": ["legal_review"], "evan": ["expert_panel"],
    "sara": ["confidentiality"], "cara": ["competent_authority"], "hugo": ["hearing"],
}


@pytest.fixture
def workflow_cache() -> bool:
    """Every step of a shipped process restores its case and spec from the database."""
    return False


@pytest.fixture(autouse=True)
def workflow_directory(gf: Govflow, clock) -> None:
    with gf.db.write() as conn:
        for name, (title, kind) in WORKFLOW_GROUPS.items():
            directory.add_group(conn, name, title, kind)
        for user, groups in WORKFLOW_USERS.items():
            directory.add_user(conn, user, user.title(), password=None, groups_=groups,
                               now=clock.now())


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def with_limits(gf: Govflow, clock, switches: dict[str, Any] | None = None,
                **limits: int) -> Govflow:
    """A second engine on the same database with a jurisdiction profile that differs."""
    base = load_profile()
    profile: JurisdictionProfile = dataclasses.replace(
        base, limits=MappingProxyType({**base.limits, **limits}),
        switches=MappingProxyType({**base.switches, **(switches or {}), **{
            k: bool(v) for k, v in limits.items() if k in base.switches}}))
    return Govflow(gf.db, clock=clock, verify_state=True, profile=profile,
                   cache=gf.cache)


def with_profile(gf: Govflow, clock, name: str) -> Govflow:
    """A second engine on the same database running one of the shipped profiles."""
    return Govflow(gf.db, clock=clock, verify_state=True, profile=load_profile(name),
                   cache=gf.cache)


def runs_out(y: int, m: int, d: int) -> dt.datetime:
    """The moment a limit whose last working day is y-m-d has run out: midnight after it."""
    return dt.datetime(y, m, d, tzinfo=SHANGHAI) + dt.timedelta(days=1)


def open_task(case: CaseView, element_id: str) -> TaskView:
    found = [t for t in case.tasks if t.element_id == element_id and t.state == "open"]
    assert len(found) == 1, [(t.element_id, t.state) for t in case.tasks]
    return found[0]


def open_elements(case: CaseView) -> list[str]:
    return sorted(t.element_id for t in case.tasks if t.state == "open")


def complete(gf: Govflow, case: CaseView, element_id: str, user: str,
             data: dict[str, Any]) -> CaseView:
    return gf.complete_task(open_task(gf.get_case(case.id), element_id).id, user, data)


def fired(case: CaseView) -> list[tuple[str, str | None]]:
    return [(e.element_id, e.rule) for e in case.events if e.action == "timer_fired"]
