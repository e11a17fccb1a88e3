"""The govflow web app: reviewer inbox, case pages, submission portal and JSON API.

`create_app` builds one `Govflow` per app (or takes a ready one as
`test_config["GOVFLOW"]`) and never starts a scheduler: the `serve` command does.
Config comes, in order, from the defaults below, `instance/config.py`, `GOVFLOW_*`
environment variables and the test overrides.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from engine.cases.desk import Desk
from engine.cases.govflow import Govflow
from engine.store.db import default_url

from . import (
    account,
    admin,
    admin_calendar,
    admin_decisions,
    admin_modeler,
    admin_ops,
    admin_people,
    admin_versions,
    api,
    assets,
    auth,
    cases,
    catalog,
    errors,
    health,
    i18n,
    inbox,
    notifications,
    params,
    portal,
    security,
    supervision,
    tasks,
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=None,
        DATABASE_URL=None,
        ATTACHMENTS_DIR=None,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE="auto",  # Secure over HTTPS; True/False force it
        PROXY_FIX=0,  # proxies in front that set X-Forwarded-For/-Proto/-Host
        SESSION_COOKIE_NAME="govflow_session",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        PORTAL_SUBMIT_LIMIT="5 per minute;30 per hour",
        PORTAL_LOOKUP_LIMIT="10 per minute;60 per hour",
        SIGN_IN_LIMIT="10 per minute",
        BPMN_JS_DIR=str(Path(__file__).resolve().parent.parent / "node_modules" / "bpmn-js"),
        INBOX_PER_PAGE=25,
        PROCESS_STARTERS={},  # process id -> ["public"] / ["department"]; adds to the defaults
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("GOVFLOW")
    if test_config is not None:
        app.config.update(test_config)

    _ensure_secret_key(app)
    app.url_map.converters["int"] = params.IdConverter
    app.before_request(params.refuse_nul)
    gf = app.config.get("GOVFLOW") or Govflow.open(app.config["DATABASE_URL"] or default_url())
    files = app.config["ATTACHMENTS_DIR"] or str(Path(app.instance_path) / "attachments")
    app.extensions["govflow"] = gf
    app.extensions["desk"] = Desk(gf, files, {
        k: tuple(v) for k, v in app.config["PROCESS_STARTERS"].items()})

    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    admin.init_app(app)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, cases.bp, portal.bp, account.bp, assets.bp,
                      api.bp, catalog.bp, notifications.bp, supervision.bp, admin_ops.bp,
                      admin_people.bp, admin_calendar.bp, admin_versions.bp, admin_modeler.bp,
                      admin_decisions.bp, health.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", endpoint="home", view_func=portal.home)
    return app


def _ensure_secret_key(app: Flask) -> None:
    """Use the configured key; in development keep a generated one in the instance folder."""
    if app.config["SECRET_KEY"]:
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Several worker processes may start at once: each writes a whole key aside and
        # links it into place, so every worker reads the one key that won.
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f"secret_key.{os.getpid()}")
        aside.write_text(secrets.token_hex(32), encoding="utf-8")
        aside.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
        aside.unlink()
    app.config["SECRET_KEY"] = path.read_text(encoding="utf-8").strip()
