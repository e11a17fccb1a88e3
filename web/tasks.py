"""One task: its form, the case data, instructions, files, comments and history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidTaskData

from . import formkit
from .auth import desk, login_required, safe_next
from .i18n import current_lang, department_titles, element_names, group_titles

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def render_task(task_id: str, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200,
                conflict: bool = False) -> Any:
    page = desk().task_page(g.user, task_id)
    departments = department_titles()
    if values is None:
        values = page.prefill
    form = formkit.fields(page.schema or {}, current_lang(), values, errors, departments)
    data = formkit.describe(page.start_schema, page.case.data, current_lang(), group_titles(),
                            element_names(page.case.version_id))
    formkit.offer_only(form, "decision", page.case.data.get("allowed_decisions"))
    return render_template("tasks/detail.html", page=page, form=form, data=data,
                           errors=errors, conflict=conflict,
                           ops=desk().task_operations(g.user, task_id)), status


@bp.route("/<task_id>")
@login_required
def detail(task_id: str) -> Any:
    return render_task(task_id)


@bp.route("/<task_id>", methods=("POST",))
@login_required
def complete(task_id: str) -> Any:
    task = desk().task(g.user, task_id)
    schema = desk().gf.forms.schema(task.form) if task.form else {}
    data = formkit.parse(schema, request.form)
    try:
        case = desk().complete(g.user, task_id, data)
    except InvalidTaskData as error:
        flash(_("The form has errors; see the marked fields."), "error")
        return render_task(task_id, _kept(schema),
                           error.errors, 422)
    except Conflict:
        # Someone finished or took the task first: show who, and keep what was typed.
        return render_task(task_id, _kept(schema), None, 409, conflict=True)
    flash(_("Task completed."), "info")
    still_mine = [t for t in case.tasks if t.state == "open" and t.assignee == g.user.username]
    return redirect(url_for("tasks.detail", task_id=still_mine[0].id) if still_mine
                    else url_for("inbox.index"))


def _kept(schema: dict[str, Any]) -> dict[str, Any]:
    """What the reviewer typed, as the form shows it again."""
    kept: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if "array" in formkit._types(prop) and "enum" in prop.get("items", {}):
            kept[name] = request.form.getlist(name)
        elif "boolean" in formkit._types(prop):
            kept[name] = name in request.form
        elif name in request.form:
            kept[name] = request.form[name]
    return kept


@bp.route("/<task_id>/claim", methods=("POST",))
@login_required
def claim(task_id: str) -> Any:
    desk().claim(g.user, task_id)
    flash(_("You claimed the task."), "info")
    return redirect(safe_next(request.form.get("next"), url_for("tasks.detail", task_id=task_id)))


@bp.route("/<task_id>/unclaim", methods=("POST",))
@login_required
def unclaim(task_id: str) -> Any:
    desk().unclaim(g.user, task_id)
    flash(_("The task is back in the group's queue."), "info")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@bp.route("/<task_id>/transfer", methods=("POST",))
@login_required
def transfer(task_id: str) -> Any:
    task = desk().transfer(g.user, task_id, request.form.get("to_user", ""),
                           request.form.get("reason", ""))
    flash(_("Task transferred to %(user)s.", user=task.assignee), "info")
    return redirect(url_for("inbox.index"))


@bp.route("/<task_id>/return", methods=("POST",))
@login_required
def send_back(task_id: str) -> Any:
    desk().return_task(g.user, task_id, request.form.get("to", ""), request.form.get("reason", ""))
    flash(_("The case was sent back to an earlier step."), "info")
    return redirect(url_for("inbox.index"))


@bp.route("/<task_id>/delegate", methods=("POST",))
@login_required
def delegate(task_id: str) -> Any:
    task = desk().delegate(g.user, task_id, request.form.get("to_user", ""),
                           request.form.get("reason", ""))
    flash(_("Task delegated to %(user)s; it comes back to you.", user=task.assignee), "info")
    return redirect(url_for("tasks.detail", task_id=task_id))


@bp.route("/<task_id>/resolve", methods=("POST",))
@login_required
def resolve(task_id: str) -> Any:
    task = desk().resolve(g.user, task_id, request.form.get("note", ""))
    flash(_("Task handed back to %(user)s.", user=task.assignee), "info")
    return redirect(url_for("inbox.index"))


@bp.route("/<task_id>/add-signer", methods=("POST",))
@login_required
def add_signer(task_id: str) -> Any:
    task = desk().add_signer(g.user, task_id, request.form.get("to_user", ""),
                             request.form.get("position", ""), request.form.get("note", ""))
    flash(_("Signer %(user)s added.", user=task.assignee), "info")
    return redirect(url_for("inbox.index"))
