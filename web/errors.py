"""Engine errors and HTTP errors become responses here, and only here.

API requests get `{"error": {"code": ..., "message": ...}}` with a status that says
what the caller must do; pages get the error page, except that a failed form action
(claim, transfer, comment, ...) flashes its message and goes back where it came from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    CalendarNotCovered,
    Conflict,
    EngineError,
    InvalidTaskData,
    NotAllowed,
    NotFound,
)

from .auth import safe_next
from .params import BadParameter, NulRefused

STATUS = ((NotFound, 404), (InvalidTaskData, 422), (NotAllowed, 403), (Conflict, 409),
          (CalendarNotCovered, 409))
EXTRA = {"invalid_token": 401, "attachment_rejected": 422, "message_not_delivered": 409,
         "invalid_message": 422}


def page_message(code: str, status: int, details: dict[str, Any] | None = None) -> str:
    """What a person reads for an error, in their language (the API keeps the engine's text)."""
    by_code = {
        "attachment_rejected": _("The file was not accepted: send a PDF, image, Word, Excel, "
                                 "OFD, text or CSV file that is not empty and at most 10 MB."),
        "calendar_not_covered": _("The working-day calendar does not cover this date yet; "
                                  "the administrators have been told."),
        "invalid_task_data": _("The form has errors; see the marked fields."),
        "task_already_claimed": _("A colleague has claimed this task first."),
        "csrf": _("The form had expired. Go back, reload the page and send it again."),
        "reminder_too_soon": _("This task was reminded a short while ago; remind it again "
                               "tomorrow."),
        "nul_refused": _("Text may not contain the NUL character (\\0). Remove it and try "
                         "again."),
    }
    by_status = {
        400: _("The request could not be understood."),
        403: _("You may not do this."),
        404: _("This page or record does not exist, or you may not see it."),
        405: _("This address does not accept that kind of request."),
        409: _("Someone else changed this first. Reload the page and try again."),
        413: _("The upload is too large."),
        422: _("The form has errors; see the marked fields."),
        429: _("Too many requests. Wait a minute and try again."),
    }
    if code == "invalid_input" and (details or {}).get("reason") in INPUT:
        return input_message(details or {})
    if code == "task_already_claimed" and (details or {}).get("assignee"):
        from .i18n import user_name
        return _("%(user)s has already claimed this task.",
                 user=user_name(str((details or {})["assignee"])))
    return by_code.get(code) or by_status.get(status) or _("Something went wrong.")


def input_message(details: dict[str, Any]) -> str:
    """An administrator's malformed entry, explained in their language."""
    fields = {"user_name": _("user name"), "display_name": _("name"),
              "group_name": _("group name"), "title": _("title")}
    params = {**details, "field": fields.get(str(details.get("field")), "")}
    return str(INPUT[str(details["reason"])]) % params


INPUT = {
    "no_reason": _l("Give a reason; it is kept in the case's history."),
    "not_newer": _l("Migrate to a newer version of the same process."),
    "not_bpmn": _l("Upload a .bpmn file."),
    "size": _l("The file must be 1 byte to %(kb)s KB."),
    "user_or_group": _l("Choose either a user or a group to reassign to."),
    "group_unstaffed": _l("Group %(group)s has no active member; the task would be stuck "
                          "again."),
    "not_json": _l("The case data is not valid JSON (line %(line)s, column %(column)s)."),
    "not_object": _l("The case data must be a JSON object."),
    "no_decision": _l("The table does not define decision %(decision)s."),
    "not_xml": _l("The table is not well-formed XML."),
    "bad_name": _l("The %(field)s “%(value)s” is not allowed: use lower-case letters, digits, "
                   "“.”, “_” or “-”, starting with a letter."),
    "text_length": _l("The %(field)s must be 1 to 300 characters."),
    "short_password": _l("A password needs at least %(min)s characters."),
    "group_kind": _l("A group is a department or a role."),
    "not_member": _l("%(user)s is not a member of %(group)s."),
    "wrong_process": _l("This model is process %(process)s, not %(expected)s."),
}


def status_of(error: EngineError) -> int:
    if error.code in EXTRA:
        return EXTRA[error.code]
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def is_api() -> bool:
    return request.path.startswith("/api/")


def json_error(code: str, message: str, status: int, **details: Any) -> Any:
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="govflow"'
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(error: EngineError) -> Any:
        status = status_of(error)
        if is_api():
            return json_error(**{**error.to_dict(), "status": status})
        message = page_message(error.code, status, error.details)
        if request.method == "POST" and request.form.get("next"):
            flash(message, "error")
            return redirect(safe_next(request.form.get("next"), "/"))
        return render_template("error.html", status=status, code=error.code,
                               message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_template("error.html", status=400, code="csrf",
                               message=page_message("csrf", 400)), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        if is_api():
            extra = {"field": error.field} if isinstance(error, BadParameter) else {}
            if extra:
                code = "invalid_parameter"
            return json_error(code, error.description or error.name, status, **extra)
        if isinstance(error, NulRefused):
            code = "nul_refused"
        own = error.description != type(error).description   # a message we wrote
        message = error.description if own and not isinstance(error, BadParameter) else \
            page_message(code, status)
        return render_template("error.html", status=status, code=code,
                               message=message), status
