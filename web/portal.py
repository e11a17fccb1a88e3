"""The public portal: citizens and organisations submit without an account, then track.

Submission and lookup are rate-limited per client address. A lookup needs the case
number and its tracking code; any mismatch answers exactly like an unknown case.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from engine.cases import letters
from engine.errors import InvalidTaskData, NotFound

from . import formkit
from .auth import desk
from .i18n import current_lang, department_titles
from .security import rate_limit

bp = Blueprint("portal", __name__, url_prefix="/portal")


def home() -> Any:
    return redirect(url_for("inbox.index") if g.user else url_for("portal.index"))


@bp.route("")
def index() -> Any:
    offered = [p for p in desk().processes() if "public" in p.starters and p.start_form]
    return render_template("portal/index.html", offered=offered)


@bp.route("/apply/<process_id>", methods=("GET", "POST"))
def apply(process_id: str) -> Any:
    info = desk().process(process_id, "public")
    schema = desk().gf.forms.schema(info.start_form) if info.start_form else {}
    values, errors = {}, None
    if request.method == "POST":
        rate_limit("PORTAL_SUBMIT_LIMIT")
        values = request.form.to_dict()
        try:
            case, code = desk().submit_public(process_id, formkit.parse(schema, request.form))
        except InvalidTaskData as error:
            errors = error.errors
        else:
            status = desk().track(f"{case.id}", code)
            return render_template("portal/submitted.html", status=status, code=code,
                                   info=info, submitted=_echo(status))
    form = formkit.fields(schema, current_lang(), values, errors, department_titles())
    return render_template("portal/apply.html", info=info, form=form, errors=errors,
                           schema=schema, limits=desk().process_limits(process_id)
                           ), 422 if errors else 200


@bp.route("/letter/<kind>", methods=("POST",))
def letter(kind: str) -> Any:
    """The receipt or decision letter of a tracked case, to print."""
    rate_limit("PORTAL_LOOKUP_LIMIT")
    if kind not in ("receipt", "decision"):
        abort(404)
    status = desk().track(request.form.get("number", ""), request.form.get("code", ""))
    found = letters.letter(kind, number=status.number, process_id=status.process_id,
                           process_name=_title(status.process_id), result=status.result,
                           received_at=status.received_at, decided_at=status.completed_at)
    return render_template("letters/letter.html", letter=found, issued=desk().gf.now())


@bp.route("/track", methods=("GET", "POST"))
def track() -> Any:
    status, missing = None, False
    if request.method == "POST":
        rate_limit("PORTAL_LOOKUP_LIMIT")
        try:
            status = desk().track(request.form.get("number", ""), request.form.get("code", ""))
        except NotFound:
            missing = True
    return render_template("portal/track.html", status=status, missing=missing,
                           submitted=_echo(status) if status else [],
                           number=request.form.get("number", ""),
                           code=request.form.get("code", "")), 404 if missing else 200


def _echo(status: Any) -> list[tuple[str, str]]:
    """What the applicant sent, labelled by the procedure's form, in their language."""
    info = desk().process(status.process_id)
    schema = desk().gf.forms.schema(info.start_form) if info.start_form else None
    return formkit.describe(schema, status.submitted, current_lang(), department_titles())


def _title(process_id: str) -> str:
    return next((p.name for p in desk().processes() if p.process_id == process_id), process_id)
