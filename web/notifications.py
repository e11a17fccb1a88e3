"""The bell (in-app notifications), manual reminders (催办) and the outbox for administrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from notifications.render import render

from .auth import desk, login_required, safe_next
from .i18n import current_lang

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    def unread() -> int:
        return desk().gf.unread_count(g.user.username) if g.get("user") else 0
    return {"bell_unread": unread}


@bp.route("")
@login_required
def index() -> Any:
    """The bell's list in the language the reader chose, whatever language the notice
    was delivered in: each is worded again from its parameters."""
    lang = current_lang()
    items = [(n, render(n.kind, lang, n.payload)) for n in
             desk().gf.notifications_of(g.user.username)]
    return render_template("notifications/index.html", items=items)


@bp.route("/count.json")
@login_required
def count() -> Any:
    return jsonify(unread=desk().gf.unread_count(g.user.username))


@bp.route("/read", methods=("POST",))
@login_required
def mark_read() -> Any:
    desk().gf.mark_read(g.user.username)
    return redirect(url_for(".index"))


@bp.route("/urge/<task_id>", methods=("POST",))
@login_required
def urge(task_id: str) -> Any:
    desk().task(g.user, task_id)  # out of sight is not found
    desk().gf.urge_task(task_id, g.user.username, request.form.get("note", ""))
    flash(_("Reminder sent."), "info")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@bp.route("/outbox")
@login_required
def outbox() -> Any:
    if not g.user.is_admin:
        abort(404)
    status = request.args.get("status") if request.args.get("status") in OUTBOX_STATUSES else None
    return render_template("notifications/outbox.html", status=status,
                           messages=desk().gf.outbox_messages(status),
                           counts=desk().gf.outbox_counts())


@bp.route("/outbox/<int:message_id>/resend", methods=("POST",))
@login_required
def resend(message_id: int) -> Any:
    if not g.user.is_admin:
        abort(404)
    desk().gf.resend_message(message_id)
    flash(_("Message queued again."), "info")
    return redirect(url_for(".outbox", status=request.form.get("status") or None))
