"""Administration: only members of `administrators` reach any page under /admin.

Each admin area is its own blueprint made by `admin_blueprint`, which turns away
everyone else (sign in first; signed in without the role: 403) before any view runs.
Every admin page shows how far the working-day calendar reaches when that is less
than 60 days away.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, url_for

from engine.bpmn.versions import Versions
from engine.cases.operations import Operations
from engine.people.admin import People
from engine.time import calendar_admin

from .auth import desk


def admin_blueprint(name: str, prefix: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=prefix)

    @bp.before_request
    def only_administrators() -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not g.user.is_admin:
            abort(403)
        g.horizon = calendar_admin.horizon(desk().gf)
        return None

    return bp


def init_app(app: Flask) -> None:
    gf = app.extensions["govflow"]
    app.extensions["people"] = People(gf.db, gf.now)
    app.extensions["operations"] = Operations(gf)
    app.extensions["versions"] = Versions(gf)
    app.context_processor(lambda: {"profile_in_use": lambda: gf.profile})


def people() -> People:
    return current_app.extensions["people"]  # type: ignore[no-any-return]


def operations() -> Operations:
    return current_app.extensions["operations"]  # type: ignore[no-any-return]


def versions() -> Versions:
    return current_app.extensions["versions"]  # type: ignore[no-any-return]


def reason() -> str:
    return request.form.get("reason", "")
