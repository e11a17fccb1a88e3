"""Sign in and out; `g.user` holds the signed-in `Viewer` for the rest of the request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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
    """Read the signed-in user (the API authenticates by token instead, see web/api.py).

    The session cookie carries a server-side session id; a session closed by signing
    out, or a user deactivated since, reads as signed out.
    """
    g.user = None
    if request.path.startswith(("/static/", "/assets/", "/api/")):
        return
    session_id = session.get("sid")
    if session_id:
        g.user = desk().session_viewer(session_id)
        if g.user is None:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang


def sign_in_session(username: str) -> None:
    """Start a fresh session for `username`, keeping the language chosen before."""
    chosen = session.get("lang")
    session.clear()
    session.permanent = True
    session["sid"] = desk().open_session(username, current_app.permanent_session_lifetime)
    if chosen:
        desk().set_language(username, chosen)
        session["lang"] = chosen
    else:
        remembered = desk().language(username)
        if remembered:
            session["lang"] = remembered


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never redirect a signed-in user to another site.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/%09/evil.example` (a tab) would become `//evil.example`: any such character refuses the
    target outright, and what is left must be a path with no scheme and no host.
    """
    if not target or any(ch.isspace() or ch == "\\" or ord(ch) < 32 or ord(ch) == 127
                         for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") \
            or parts.path.startswith("//"):
        return default
    return target


@bp.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        rate_limit("SIGN_IN_LIMIT")
        username = request.form.get("username", "").strip()
        viewer = desk().sign_in(username, request.form.get("password", ""))
        if viewer is not None:
            sign_in_session(viewer.username)
            return redirect(safe_next(request.args.get("next"), url_for("inbox.index")))
        flash(_("Wrong user name or password."), "error")
    return render_template("auth/login.html")


@bp.route("/logout", methods=("POST",))
def logout() -> Any:
    lang = session.get("lang")
    if session.get("sid"):
        desk().close_session(session["sid"])
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
