"""Fixtures shared by every test: a fresh database per test, a frozen clock, a directory.

Engine tests (under tests/engine/) run twice, on SQLite and on a real PostgreSQL
server started for the session; everything else runs on SQLite.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import directory, resources
from engine.clock import SHANGHAI, FrozenClock
from engine.db import Database
from engine.services import Govflow
from bench.postgres import PostgresServer

DEMO_GROUPS = {
    "data_authority": ("数据主管部门", "role"),
    "dept_health": ("卫生健康委", "department"),
    "dept_civil": ("民政厅", "department"),
    "dept_public_security": ("公安厅", "department"),
    "dept_natural_resources": ("自然资源厅", "department"),
    "administrators": ("系统管理员", "role"),
}
#: The demo's resource catalog: every share and open class, for every department.
DEMO_CATALOG = Path(__file__).resolve().parent.parent / "govflow" / "demo_catalog.json"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        engine_test = "tests/engine/" in str(metafunc.definition.path).replace(os.sep, "/")
        metafunc.parametrize("backend", ["sqlite", "postgres"] if engine_test else ["sqlite"],
                             indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'govflow.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    name = f"t_{abs(hash(request.node.nodeid)) % 10**12}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url(name)


@pytest.fixture
def clock() -> FrozenClock:
    """Friday 2026-11-20, 09:00 in Shanghai: the day before 'today' in the product brief."""
    return FrozenClock(dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def workflow_cache() -> bool:
    """Whether `gf` keeps workflows and specs in memory between steps; test folders that
    must see every step restored from the database, as in a fresh process, return False."""
    return True


@pytest.fixture
def gf(database_url: str, clock: FrozenClock, workflow_cache: bool) -> Iterator[Govflow]:
    """A Govflow with the shipped workflows deployed and a small directory of users."""
    govflow = Govflow(Database(database_url), clock=clock, verify_state=True,
                      cache=workflow_cache)
    govflow.init_schema()
    govflow.deploy_directory()
    with govflow.db.write() as conn:
        for name, (title, kind) in DEMO_GROUPS.items():
            directory.add_group(conn, name, title, kind)
        for user, groups in {
            "alice": ["dept_health"], "amy": ["dept_health"], "carl": ["dept_civil"],
            "dora": ["data_authority"], "root": ["administrators"],
            "pete": ["dept_public_security"], "rita": ["dept_natural_resources"],
        }.items():
            directory.add_user(conn, user, user.title(), password=None, groups_=groups,
                               now=clock.now())
        resources.save(conn, resources.read_file(DEMO_CATALOG), by="dora", now=clock.now())
    yield govflow
    govflow.db.dispose()
