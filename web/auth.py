"""Sign in and out; `g.user` holds the signed-in `Viewer` for the rest of the request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from .security import rate_limit

bp = Blueprint("auth", __name__, url_prefix="/auth")


def desk() -> Any:
    return current_app.extensions["desk"]


def init_app(app: Flask) -> None:
    app.before_request(load_user)


def load_user() -> None:
    """Read the signed-in user (the API authenticates by token instead, see web/api.py)."""
    g.user = None
    if request.path.startswith(("/static/", "/assets/", "/api/")):
        return
    username = session.get("user")
    if username:
        g.user = desk().viewer(username)
        if g.user is None:   # deactivated since signing in
            session.clear()


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never redirect a signed-in user to another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


@bp.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        rate_limit("SIGN_IN_LIMIT")
        username = request.form.get("username", "").strip()
        viewer = desk().sign_in(username, request.form.get("password", ""))
        if viewer is not None:
            session.clear()
            session.permanent = True
            session["user"] = viewer.username
            return redirect(safe_next(request.args.get("next"), url_for("inbox.index")))
        flash(_("Wrong user name or password."), "error")
    return render_template("auth/login.html")


@bp.route("/logout", methods=("POST",))
def logout() -> Any:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
