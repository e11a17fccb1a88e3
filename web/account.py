"""The signed-in user's API tokens: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .auth import desk, login_required

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/tokens", methods=("GET", "POST"))
@login_required
def tokens() -> Any:
    created = None
    if request.method == "POST":
        created = desk().create_token(g.user, request.form.get("name", ""))
    return render_template("account/tokens.html", tokens=desk().tokens(g.user), created=created)


@bp.route("/tokens/<int:token_id>/revoke", methods=("POST",))
@login_required
def revoke(token_id: int) -> Any:
    desk().revoke_token(g.user, token_id)
    flash(_("Token revoked."), "info")
    return redirect(url_for(".tokens"))
