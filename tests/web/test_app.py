"""`create_app`: config in the flaskr order, one Govflow per app, no scheduler inside."""

from __future__ import annotations

import threading

from engine.cases.govflow import Govflow
from web import create_app


def test_the_app_opens_its_own_govflow_from_the_database_url(database_url) -> None:
    url = database_url
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k", "TESTING": True})
    gf = app.extensions["govflow"]
    assert isinstance(gf, Govflow) and gf.db.url == url
    # no scheduler: the only thread besides ours may be the rate limiter's expiry timer
    assert all(isinstance(t, (threading.Timer, threading._MainThread)) or t.daemon
               and "scheduler" not in t.name.lower() for t in threading.enumerate())
    assert not any("APScheduler" in t.name for t in threading.enumerate())
    gf.db.dispose()


def test_environment_settings_come_before_test_overrides(monkeypatch, wgf) -> None:
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", "from-env")
    monkeypatch.setenv("GOVFLOW_INBOX_PER_PAGE", "10")
    app = create_app({"GOVFLOW": wgf, "INBOX_PER_PAGE": 7})
    assert app.config["SECRET_KEY"] == "from-env" and app.config["INBOX_PER_PAGE"] == 7
    assert app.extensions["govflow"] is wgf
