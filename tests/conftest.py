"""Fixtures shared by every test: a fresh database per test, a frozen clock, a directory.

Every test on a database runs twice, on SQLite and on a real PostgreSQL server started
once per test session (per xdist worker); each test gets its own database, a copy of one
migrated at the start of the session.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.postgres import PostgresServer
from engine.cases.govflow import Govflow
from engine.people import directory
from engine.rules import resources
from engine.store.db import Database
from engine.time.clock import SHANGHAI, FrozenClock

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


#: Every test that takes `backend` (or a fixture built on it) runs once per backend.
BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("backend", only.args if only else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A database migrated to the newest schema once; each test gets a copy."""
    migrate(postgres_server.create_database(POSTGRES_TEMPLATE))
    return POSTGRES_TEMPLATE


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "govflow.sqlite"
    migrate(f"sqlite:///{path}")
    return path


def migrate(url: str) -> None:
    database = Database(url)
    database.create_schema()
    database.dispose()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database at the newest schema, copied from the session's template."""
    yield from fresh_database(backend, tmp_path, request)


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fresh database for all the tests of a module that set it up at length
    (through the real `govflow` command), on each backend in turn."""
    yield from fresh_database(request.param, tmp_path_factory.mktemp("db"), request)


def fresh_database(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        path = folder / "govflow.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{next(_database_numbers)}"
    yield server.create_database(name, template=request.getfixturevalue("postgres_template"))
    server.drop_database(name)


_database_numbers = itertools.count(1)
POSTGRES_TEMPLATE = "govflow_template"


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
