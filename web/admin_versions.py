"""Process versions: who deployed each and when, the cases on it, a readable diff,
deploying an uploaded model and rolling back by redeploying an earlier version."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from engine.bpmn.migration import Migrations
from engine.bpmn.versions import MAX_MODEL_BYTES

from .admin import admin_blueprint, versions

bp = admin_blueprint("admin_versions", "/admin/versions")


@bp.route("")
def index() -> Any:
    return render_template("admin/versions.html", processes=versions().all())


@bp.route("/diff")
def diff() -> Any:
    old, new = request.args.get("old", ""), request.args.get("new", "")
    if not (old.isdigit() and new.isdigit()):
        abort(400, _("Choose two versions to compare."))
    return render_template("admin/diff.html", diff=versions().diff(int(old), int(new)))


@bp.route("/<int:version_id>.bpmn")
def download(version_id: int) -> Any:
    row = versions().row(version_id)
    return Response(versions().xml(version_id), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{row.process_id}-v{row.version}.bpmn"'})


@bp.route("/<int:version_id>/rollback", methods=("POST",))
def rollback(version_id: int) -> Any:
    done = versions().rollback(version_id, g.user.username)
    flash(_("Deployed as version %(version)d; new cases start on it.", version=done.version)
          if done.created else _("That version is already the newest."), "info")
    return redirect(url_for(".index") + f"#{done.process_id}")


@bp.route("/deploy", methods=("POST",))
def deploy() -> Any:
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        abort(400, _("Choose a BPMN file to deploy."))
    done = versions().deploy_upload(sent.read(MAX_MODEL_BYTES + 1), sent.filename,
                                    g.user.username)
    flash(_("Deployed as version %(version)d; new cases start on it.", version=done.version)
          if done.created else _("Nothing changed: the file equals the newest version."), "info")
    return redirect(url_for(".index") + f"#{done.process_id}")


@bp.route("/<int:version_id>/migrate", methods=("GET", "POST"))
def migrate(version_id: int) -> Any:
    """A dry run of moving this version's cases to the newest version; POST does it."""
    row = versions().row(version_id)
    newest = versions().of(row.process_id)[0]
    if request.method == "POST":
        plans = migrations().migrate(version_id, newest.id, g.user.username,
                                     request.form.get("reason", ""))
        flash(_("%(done)d of %(all)d cases moved to version %(version)d.",
                done=sum(p.ok for p in plans), all=len(plans), version=newest.version), "info")
        return redirect(url_for(".index") + f"#{row.process_id}")
    plans = migrations().plan(version_id, newest.id) if newest.id != version_id else []
    return render_template("admin/migrate.html", row=row, newest=newest, plans=plans)


def migrations() -> Migrations:
    if "migrations" not in current_app.extensions:
        current_app.extensions["migrations"] = Migrations(versions().gf)
    return current_app.extensions["migrations"]  # type: ignore[no-any-return]
