"""The reviewer's inbox: my tasks, my groups' unclaimed tasks, overdue; claim in bulk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases.inbox import InboxQuery

from .auth import desk, login_required, safe_next
from .i18n import group_titles
from .params import int_arg

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


def query_from(args: Any, per_page: int) -> InboxQuery:
    return InboxQuery(view=args.get("view", "all"), process_id=args.get("process") or None,
                      state=args.get("state") or None, search=args.get("q") or None,
                      sort=args.get("sort", "due"),
                      page=int_arg(args, "page", 1), per_page=per_page)


@bp.route("")
@login_required
def index() -> Any:
    from flask import current_app
    query = query_from(request.args, current_app.config["INBOX_PER_PAGE"])
    found, counts = desk().inbox(g.user, query)
    return render_template("inbox/index.html", inbox=found, counts=counts, query=query,
                           processes=desk().processes(), groups=group_titles())


@bp.route("/claim", methods=("POST",))
@login_required
def bulk_claim() -> Any:
    claimed, failed = desk().bulk_claim(g.user, request.form.getlist("task"))
    if claimed:
        flash(_("Claimed %(n)d tasks.", n=claimed), "info")
    for message in failed:
        flash(message, "error")
    if not claimed and not failed:
        flash(_("Select the tasks to claim first."), "error")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@bp.route("/copies")
@login_required
def copies() -> Any:
    """Cases copied to me (抄送我的): read-only, for information."""
    return render_template("inbox/copies.html", copies=desk().copies(g.user),
                           processes=desk().processes())
