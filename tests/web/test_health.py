"""Liveness and readiness probes answer without a sign-in, in JSON."""

from __future__ import annotations

import os
from pathlib import Path

from engine.cases.govflow import Govflow
from engine.store.db import Database
from tests.web.conftest import make_app


def test_a_served_database_at_head_is_live_and_ready(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "pid": os.getpid()}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (200, {"status": "ready"})


def test_a_database_without_the_schema_is_live_but_not_ready(wgf, tmp_path: Path) -> None:
    empty = Govflow(Database(f"sqlite:///{tmp_path / 'empty.sqlite'}"), clock=wgf.clock)
    client = make_app(empty, tmp_path).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"].startswith("schema at nothing, govflow needs ")


def test_an_unreachable_database_is_not_ready(wgf, tmp_path: Path) -> None:
    gone = Govflow(Database(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}"),
                   clock=wgf.clock)
    ready = make_app(gone, tmp_path).test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not ready",
                                "reason": "database unreachable: OperationalError"}


def test_a_worker_without_the_audit_key_is_not_ready(client, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GOVFLOW_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"].startswith("no audit key: set GOVFLOW_AUDIT_KEY")
