"""Fixtures for the web tests: an app on a fresh database, a client, and `AuthActions`.

The Govflow here runs the models in tests/web/models/: `share_probe` (a snapshot of the
share request model, so these tests do not move while the shipped models grow) and
`public_probe`, a small public procedure with a start form. test_shipped.py checks
the pages against whatever models workflows/ holds.
CSRF is off in most tests (each view is tested for what it does) and on in the tests
that say `csrf_app`; sign-in goes through the session except in the sign-in tests,
because argon2 is slow on purpose.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.cases.govflow import Govflow
from engine.store.db import Database
from engine.time.clock import FrozenClock
from govflow.demo import seed_directory
from web import create_app

MODELS = Path(__file__).parent / "models"
CONDITIONAL = {"share_class": "conditional", "provider_dept": "dept_health",
               "requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
               "dataset": "出生医学证明"}
OBJECTION = {"requester_name": "张三", "contact": "13800000000", "reason": "wrong",
             "details": "我的出生日期登记错误"}


@pytest.fixture
def wgf(database_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Govflow]:
    forms = tmp_path / "forms"
    forms.mkdir()
    for source in MODELS.glob("*.json"):
        shutil.copy(source, forms / source.name)
    govflow = Govflow(Database(database_url), clock=clock, forms_dir=forms)
    govflow.init_schema()
    govflow.deploy_directory(MODELS)
    seed_directory(govflow, passwords=False)
    yield govflow
    govflow.db.dispose()


def make_app(wgf: Govflow, tmp_path: Path, **config: Any) -> Flask:
    return create_app({
        "TESTING": True, "SECRET_KEY": "test", "GOVFLOW": wgf, "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "ATTACHMENTS_DIR": str(tmp_path / "files"),
        "PROCESS_STARTERS": {"public_probe": ["public"]}, **config})


@pytest.fixture
def app(wgf: Govflow, tmp_path: Path) -> Flask:
    return make_app(wgf, tmp_path)


@pytest.fixture
def csrf_app(wgf: Govflow, tmp_path: Path) -> Flask:
    return make_app(wgf, tmp_path, WTF_CSRF_ENABLED=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str = "alice") -> None:
        desk = self.client.application.extensions["desk"]
        session_id = desk.open_session(username, dt.timedelta(hours=8))
        with self.client.session_transaction() as session:
            session["sid"] = session_id

    def logout(self) -> None:
        with self.client.session_transaction() as session:
            session.clear()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def start_share(gf: Govflow, **changes: Any) -> Any:
    """A conditional share request waiting for the provider (dept_health by default)."""
    return gf.start_case("share_probe", {**CONDITIONAL, **changes}, user="carl")


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)
