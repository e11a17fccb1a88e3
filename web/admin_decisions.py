"""Decision tables: the table in force, edited in dmn-js and deployed with its processes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _

from engine.bpmn.decisions import MAX_TABLE_BYTES, Decisions
from engine.bpmn.lint import ModelRefused

from .admin import admin_blueprint
from .auth import desk
from .lint_messages import shown

bp = admin_blueprint("admin_decisions", "/admin/decisions")


def decisions() -> Decisions:
    if "decisions" not in current_app.extensions:
        current_app.extensions["decisions"] = Decisions(desk().gf)
    return current_app.extensions["decisions"]  # type: ignore[no-any-return]


@bp.route("")
def index() -> Any:
    return render_template("admin/decisions.html", decisions=decisions().all())


@bp.route("/<decision_id>")
def edit(decision_id: str) -> Any:
    found = {d.id: d for d in decisions().all()}
    if decision_id not in found:
        return render_template("error.html", status=404, code="not_found",
                               message=_("No such decision table.")), 404
    return render_template("admin/decision.html", decision=found[decision_id])


@bp.route("/<decision_id>/table.dmn")
def xml(decision_id: str) -> Any:
    return Response(decisions().xml(decision_id), mimetype="application/xml")


@bp.route("/<decision_id>", methods=("POST",))
def deploy(decision_id: str) -> Any:
    body = request.get_data(cache=False)[:MAX_TABLE_BYTES + 1]
    try:
        done = decisions().deploy(decision_id, body, g.user.username)
    except ModelRefused as refused:
        return jsonify(problems=shown(refused.problems)), 422
    return jsonify(deployed=[f"{d.process_id} v{d.version}" for d in done], problems=[])
