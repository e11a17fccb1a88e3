"""The resource catalog pages: search and read for every signed-in user, edit for the
data authority. Every saved edit is a new catalog version with its reason."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from engine.errors import InvalidTaskData

from .auth import desk, login_required

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
SHARE_CLASSES = {"unconditional": _l("Unconditional sharing"),
                 "conditional": _l("Conditional sharing"), "not_shared": _l("Not shared")}
OPEN_CLASSES = {"open_unconditional": _l("Open unconditionally"),
                "open_conditional": _l("Open on conditions"), "not_open": _l("Not open")}


@bp.context_processor
def labels() -> dict[str, Any]:
    return {"share_classes": SHARE_CLASSES, "open_classes": OPEN_CLASSES,
            "titles": desk().group_titles(), "may_edit": desk().may_edit_catalog(g.user)}


@bp.route("")
@login_required
def index() -> Any:
    query = request.args.get("q", "")
    return render_template("catalog/index.html", datasets=desk().catalog(g.user, query),
                           query=query)


@bp.route("/<dataset_id>")
@login_required
def detail(dataset_id: str) -> Any:
    dataset, versions = desk().dataset(g.user, dataset_id)
    return render_template("catalog/detail.html", dataset=dataset, versions=versions)


@bp.route("/new", methods=("GET", "POST"), defaults={"dataset_id": None})
@bp.route("/<dataset_id>/edit", methods=("GET", "POST"))
@login_required
def edit(dataset_id: str | None) -> Any:
    if not desk().may_edit_catalog(g.user):
        abort(403)
    values = desk().dataset(g.user, dataset_id)[0].record() if dataset_id else {}
    errors = None
    if request.method == "POST":
        values = _record(dataset_id)
        try:
            desk().save_dataset(g.user, values, request.form.get("reason"))
        except InvalidTaskData as error:
            errors = error.errors
        else:
            flash(_l("The catalog is saved as a new version."), "info")
            return redirect(url_for(".detail", dataset_id=values["id"]))
    return render_template("catalog/edit.html", values=values, errors=errors or {},
                           dataset_id=dataset_id, reason=request.form.get("reason", ""),
                           departments=desk().department_choices()), 422 if errors else 200


def _record(dataset_id: str | None) -> dict[str, Any]:
    form = request.form
    return {"id": dataset_id or form.get("id", "").strip(), "name": form.get("name", ""),
            "provider_dept": form.get("provider_dept", ""),
            "share_class": form.get("share_class", ""), "open_class": form.get("open_class", ""),
            "data_items": [i.strip() for i in form.get("data_items", "").splitlines()
                           if i.strip()],
            "restriction_basis": form.get("restriction_basis", "").strip() or None}
