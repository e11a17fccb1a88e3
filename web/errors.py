"""Engine errors and HTTP errors become responses here, and only here.

API requests get `{"error": {"code": ..., "message": ...}}` with a status that says
what the caller must do; pages get the error page, except that a failed form action
(claim, transfer, comment, ...) flashes its message and goes back where it came from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request
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
from .params import BadParameter

STATUS = ((NotFound, 404), (InvalidTaskData, 422), (NotAllowed, 403), (Conflict, 409),
          (CalendarNotCovered, 409))
EXTRA = {"invalid_token": 401, "attachment_rejected": 422}


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
        if request.method == "POST" and request.form.get("next"):
            flash(error.message, "error")
            return redirect(safe_next(request.form.get("next"), "/"))
        return render_template("error.html", status=status, code=error.code,
                               message=error.message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_template("error.html", status=400, code="csrf",
                               message=error.description), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        if is_api():
            extra = {"field": error.field} if isinstance(error, BadParameter) else {}
            if extra:
                code = "invalid_parameter"
            return json_error(code, error.description or error.name, status, **extra)
        return render_template("error.html", status=status, code=code,
                               message=error.description), status
