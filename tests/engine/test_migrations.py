"""The migrations build exactly the schema the code declares, on every backend, and carry
a database filled at the first migration up to the newest schema."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, create_engine, insert, select, text

from engine.cases.govflow import Govflow
from engine.store.db import Database, alembic_config
from engine.store.schema import metadata


def test_migrating_a_new_database_yields_the_declared_schema(gf: Govflow) -> None:
    with gf.db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_running_init_twice_is_harmless(gf: Govflow) -> None:
    gf.init_schema()
    assert gf.deploy_directory()[0].created is False


def test_a_database_filled_at_the_first_migration_upgrades_to_head(
        gf: Govflow, clock, database_url: str, request) -> None:
    """Cases, tasks, timers, audit events, users and a token written under schema 0001
    (the rows a 0001 database holds, copied column by column) survive every migration to
    head: nothing lost, the audit chains verify, and the cases go on."""
    request_data = {"dataset_id": "HEALTH-BIRTH", "data_items": ["姓名"],
                    "requester_dept": "dept_civil"}
    running = gf.start_case("share_request", request_data)
    finished = gf.start_case("share_request", request_data)
    gf.complete_task(finished.tasks[0].id, "alice", {"decision": "approve"})

    old = Database(_second_database(database_url, request))
    config = alembic_config()
    with old.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    first = MetaData()
    first.reflect(old.engine)
    copied: dict[str, list[dict[str, object]]] = {}
    with gf.db.read() as source, old.engine.begin() as target:
        for table in first.sorted_tables:
            if table.name == "alembic_version":
                continue
            columns = [metadata.tables[table.name].c[c.name] for c in table.columns]
            rows = [dict(r._mapping) for r in source.execute(select(*columns))]
            copied[table.name] = rows
            # the 0001 columns with today's types, and none of today's defaults
            then = Table(table.name, MetaData(), *[Column(c.name, c.type) for c in columns])
            if rows:
                target.execute(insert(then), rows)
            if rows and target.dialect.name == "postgresql" and "id" in table.c \
                    and table.c.id.autoincrement is True:  # as if the rows were inserted
                target.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                    f"'id'), (SELECT max(id) FROM {table.name}))"))
    assert {"cases", "human_tasks", "timers", "audit_events", "users"} <= {
        name for name, rows in copied.items() if rows}

    upgraded = Govflow(old, clock=clock)
    upgraded.init_schema()  # 0001 -> head
    with old.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        for name, rows in copied.items():
            table = metadata.tables[name]
            names = list(rows[0]) if rows else []
            kept = [dict(r._mapping) for r in conn.execute(
                select(*[table.c[n] for n in names]))] if names else []
            assert _sorted(kept) == _sorted(rows), name
    assert upgraded.verify_audit() == []
    assert upgraded.get_case(finished.id).status == "completed"
    done = upgraded.complete_task(running.tasks[0].id, "alice", {"decision": "approve"})
    assert done.status == "completed" and upgraded.verify_audit() == []
    old.dispose()


def _sorted(rows: list[dict[str, object]]) -> list[str]:
    return sorted(repr(sorted(r.items())) for r in rows)


def _second_database(url: str, request) -> str:
    if url.startswith("sqlite"):
        return url.replace("govflow.sqlite", "first.sqlite")
    server = request.getfixturevalue("postgres_server")
    name = url.rsplit("/", 1)[1] + "_first"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url(name)
