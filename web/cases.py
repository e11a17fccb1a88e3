"""Cases: the list, one case with its diagram and timeline, files, comments, new cases."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from engine.cases import letters
from engine.cases.results import result_of
from engine.errors import InvalidTaskData
from engine.people.access import case_number

from . import formkit
from .auth import desk, login_required, safe_next
from .i18n import current_lang, department_titles, element_names, group_titles
from .params import int_arg

bp = Blueprint("cases", __name__, url_prefix="/cases")
STATUSES = ("running", "completed", "error", "withdrawn")


@bp.route("")
@login_required
def index() -> Any:
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    found = desk().cases(g.user, status=status, process_id=request.args.get("process") or None,
                         search=request.args.get("q"), page=int_arg(request.args, "page", 1))
    return render_template("cases/index.html", found=found, status=status,
                           processes=desk().processes(), starters=_startable())


def _startable() -> list[Any]:
    return [p for p in desk().processes() if "department" in p.starters and p.start_form]


@bp.route("/<int:case_id>")
@login_required
def detail(case_id: int) -> Any:
    page = desk().case_page(g.user, case_id)
    data = formkit.describe(page.start_schema, page.case.data, current_lang(),
                            group_titles(), element_names(page.case.version_id))
    return render_template("cases/detail.html", page=page, data=data,
                           result=result_of(page.case.data, group_titles()),
                           notices=desk().gf.case_notices(g.user.username, case_id),
                           may_withdraw=desk().may_withdraw(g.user, page.case))


@bp.route("/<int:case_id>/withdraw", methods=("POST",))
@login_required
def withdraw(case_id: int) -> Any:
    desk().withdraw(g.user, case_id, request.form.get("reason", ""))
    flash(_("Case %(number)s was withdrawn.", number=case_number(case_id)), "info")
    return redirect(url_for(".detail", case_id=case_id))


@bp.route("/<int:case_id>/letter/<kind>")
@login_required
def letter(case_id: int, kind: str) -> Any:
    """The receipt or decision letter, to print (print stylesheet) or save as PDF."""
    if kind not in ("receipt", "decision"):
        abort(404)
    c = desk().case(g.user, case_id)
    found = letters.letter(kind, number=case_number(c.id), process_id=c.process_id,
                           process_name=_title(c.process_id),
                           result=result_of(c.data, group_titles()),
                           received_at=c.started_at, decided_at=c.completed_at)
    return render_template("letters/letter.html", letter=found, issued=desk().gf.now())


@bp.route("/<int:case_id>/diagram.json")
@login_required
def diagram(case_id: int) -> Any:
    xml, path = desk().diagram(g.user, case_id, current_lang())
    return jsonify(xml=xml.decode("utf-8"), completed=path.completed, active=path.active)


@bp.route("/<int:case_id>/comments", methods=("POST",))
@login_required
def comment(case_id: int) -> Any:
    desk().comment(g.user, case_id, request.form.get("body", ""),
                   request.form.get("task_id") or None)
    flash(_("Comment added."), "info")
    return redirect(safe_next(request.form.get("next"), url_for(".detail", case_id=case_id)))


@bp.route("/<int:case_id>/attachments", methods=("POST",))
@login_required
def upload(case_id: int) -> Any:
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        abort(400, _("Choose a file to upload."))
    desk().attach(g.user, case_id, sent.filename, sent.read(),
                  request.form.get("task_id") or None)
    flash(_("File uploaded."), "info")
    return redirect(safe_next(request.form.get("next"), url_for(".detail", case_id=case_id)))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    item, path = desk().attachment(g.user, attachment_id)
    return send_file(path, mimetype=item.content_type, as_attachment=True,
                     download_name=item.file_name, max_age=0)


@bp.route("/new/<process_id>", methods=("GET", "POST"))
@login_required
def new(process_id: str) -> Any:
    info = desk().process(process_id, "department")
    schema = desk().gf.forms.schema(info.start_form) if info.start_form else {}
    departments = department_titles()
    own = [d for d in departments if d in g.user.groups]
    values, errors = {"requester_dept": own[0]} if own else {}, None
    source = request.args.get("from", "")
    if request.method == "GET" and source.isdigit() and len(source) <= 18:
        values = desk().coordination_draft(g.user, int(source))
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            case = desk().start(g.user, process_id, formkit.parse(schema, request.form))
        except InvalidTaskData as error:
            errors = error.errors
        else:
            flash(_("Submitted as case %(number)s.", number=case_number(case.id)), "info")
            return redirect(url_for(".detail", case_id=case.id))
    form = formkit.fields(schema, current_lang(), values, errors, department_titles(),
                          desk().dataset_choices(group_titles()))
    return render_template("cases/new.html", info=info, form=form, errors=errors,
                           schema=schema, limits=desk().process_limits(process_id)
                           ), 422 if errors else 200


def _title(process_id: str) -> str:
    return next((p.name for p in desk().processes() if p.process_id == process_id), process_id)


@bp.route("/<int:case_id>/copy", methods=("POST",))
@login_required
def copy(case_id: int) -> Any:
    to = [f"{kind}:{name.strip()}" for kind in ("user", "group")
          for name in request.form.get(f"{kind}s", "").replace("，", ",").split(",")
          if name.strip()]
    desk().copy(g.user, case_id, to, request.form.get("note", ""))
    flash(_("Case copied."), "info")
    return redirect(url_for(".detail", case_id=case_id))
