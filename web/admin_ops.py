"""The operations console: cases by process, version, state, department and overdue;
incidents explained, fixed and retried; cases held, resumed or cancelled; tasks moved."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.cases.operations import STATUSES, CaseFilter
from engine.people.access import public_data

from .admin import admin_blueprint, operations, people, reason
from .auth import desk

bp = admin_blueprint("admin_ops", "/admin")
ACTIONS = ("suspend", "resume", "cancel")


def _filter(args: Any) -> CaseFilter:
    version, page = args.get("version", ""), args.get("page", "1")
    return CaseFilter(process_id=args.get("process") or None,
                      version=int(version) if version.isdigit() else None,
                      status=args.get("status") if args.get("status") in STATUSES else None,
                      department=args.get("department") or None,
                      overdue=args.get("overdue") == "1",
                      page=int(page) if page.isdigit() else 1)


@bp.route("/")
def console() -> Any:
    wanted = _filter(request.args)
    rows, total = operations().cases(wanted)
    return render_template("admin/console.html", rows=rows, total=total, wanted=wanted,
                           incidents=operations().incidents(), tasks=operations().open_tasks(),
                           statuses=STATUSES, processes=desk().processes(),
                           departments=desk().departments(), **_targets())


@bp.route("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    found, incident = operations().incident(case_id)
    data = json.dumps(public_data(found.data), ensure_ascii=False, indent=2, sort_keys=True)
    return render_template("admin/case.html", case=found, incident=incident, data=data,
                           **_targets())


@bp.route("/cases/<int:case_id>/retry", methods=("POST",))
def retry(case_id: int) -> Any:
    done = operations().fix_and_retry(case_id, _admin(), request.form.get("data", "{}"))
    if done.status == "error":
        flash(_("The step failed again; see the incident below."), "error")
    else:
        flash(_("Retried: the case continues."), "info")
    return redirect(url_for(".case", case_id=case_id))


@bp.route("/cases/<int:case_id>/<action>", methods=("POST",))
def hold(case_id: int, action: str) -> Any:
    if action not in ACTIONS:
        abort(404)
    getattr(operations(), action)(case_id, _admin(), reason())
    flash({"suspend": _("Case suspended."), "resume": _("Case resumed."),
           "cancel": _("Case cancelled.")}[action], "info")
    return redirect(url_for(".case", case_id=case_id))


@bp.route("/tasks/<task_id>/reassign", methods=("POST",))
def reassign(task_id: str) -> Any:
    target = request.form.get("to", "")
    kind, _sep, name = target.partition(":")
    task = operations().reassign(task_id, _admin(), reason(),
                                 to_user=name if kind == "user" else None,
                                 to_group=name if kind == "group" else None)
    flash(_("Task reassigned."), "info")
    back = request.form.get("back")
    return redirect(url_for(".console") + "#tasks" if back == "console"
                    else url_for(".case", case_id=task.case_id))


def _targets() -> dict[str, Any]:
    """Whom a task can be reassigned to: active users, and groups with an active member."""
    return {"users": [u for u in people().users() if u.is_active],
            "groups": [gr for gr in people().groups() if gr.members]}


def _admin() -> str:
    from flask import g

    return str(g.user.username)
