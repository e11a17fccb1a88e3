"""The BPMN modeler: open any version, edit, save a draft (checked on every save),
download, upload, and deploy a draft that has no problems."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from engine.bpmn.lint import MAX_MODEL_BYTES, ModelRefused
from engine.bpmn.modeler import Modeler

from .admin import admin_blueprint, versions
from .auth import desk
from .lint_messages import shown

bp = admin_blueprint("admin_modeler", "/admin/modeler")


def modeler() -> Modeler:
    if "modeler" not in current_app.extensions:
        current_app.extensions["modeler"] = Modeler(desk().gf)
    return current_app.extensions["modeler"]  # type: ignore[no-any-return]


@bp.route("")
def index() -> Any:
    return render_template("admin/modeler_index.html", processes=versions().all(),
                           drafts={p: modeler().draft(p) for p in versions().all()})


@bp.route("/<process_id>")
def edit(process_id: str) -> Any:
    rows = versions().of(process_id)
    draft = modeler().draft(process_id)
    return render_template("admin/modeler.html", process_id=process_id, rows=rows, draft=draft,
                           limits=dict(desk().gf.profile.limits),
                           version=request.args.get("version", type=int))


@bp.route("/<process_id>/model.bpmn")
def xml(process_id: str) -> Any:
    draft = modeler().draft(process_id) if request.args.get("draft") else None
    body = draft.xml if draft else modeler().xml(process_id, request.args.get("version", type=int))
    headers = ({"Content-Disposition": f'attachment; filename="{process_id}.bpmn"'}
               if request.args.get("download") else {})
    return Response(body, mimetype="application/xml", headers=headers)


@bp.route("/<process_id>/draft", methods=("POST",))
def save(process_id: str) -> Any:
    body = request.get_data(cache=False)[:MAX_MODEL_BYTES + 1]
    _, problems = modeler().save_draft(body, g.user.username, expected=process_id)
    return jsonify(problems=shown(problems))


@bp.route("/<process_id>/deploy", methods=("POST",))
def deploy(process_id: str) -> Any:
    try:
        done = modeler().deploy_draft(process_id, g.user.username)
    except ModelRefused as refused:
        return jsonify(problems=shown(refused.problems)), 422
    return jsonify(version=done.version, created=done.created, problems=[])


@bp.route("/upload", methods=("POST",))
def upload() -> Any:
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        abort(400, _("Choose a BPMN file to upload."))
    process_id, problems = modeler().save_draft(sent.read(MAX_MODEL_BYTES + 1),
                                                g.user.username)
    flash(_("Uploaded as a draft; %(num)d problem(s) found.", num=len(problems)),
          "error" if problems else "info")
    return redirect(url_for(".edit", process_id=process_id, draft=1))
