"""The migrations build exactly the schema the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.schema import metadata
from engine.services import Govflow


def test_migrating_a_new_database_yields_the_declared_schema(gf: Govflow) -> None:
    with gf.db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_running_init_twice_is_harmless(gf: Govflow) -> None:
    gf.init_schema()
    assert gf.deploy_directory()[0].created is False
