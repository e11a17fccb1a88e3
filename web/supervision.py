"""The supervisor's view: timeliness per department and procedure, CSV and Excel, the
annual report."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import gettext as _

from engine.notify.supervision import CSV_HEADER, table
from engine.time.clock import SHANGHAI

from .auth import desk, login_required
from .i18n import group_titles, process_name
from .spreadsheet import timeliness_xlsx

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def _may() -> dict[str, Any]:
    return {"may_supervise": lambda: bool(g.get("user") and g.user.is_supervisor)}


def _names() -> dict[str, str]:
    return {**group_titles(),
            **{p.process_id: process_name(p.name) for p in desk().processes()}}


def _report(period: str | None) -> Any:
    if not g.user.is_supervisor:
        abort(404)
    try:
        return desk().gf.timeliness(g.user.username, period)
    except ValueError:
        abort(400, _("Choose a period like 2026-11, 2026-Q4 or 2026."))


@bp.route("")
@login_required
def index() -> Any:
    report = _report(request.args.get("period"))
    today = desk().gf.now().astimezone(SHANGHAI).date()
    quick = (f"{today:%Y-%m}", f"{today.year}-Q{(today.month - 1) // 3 + 1}", f"{today.year}")
    return render_template("supervision/index.html", report=report, names=_names(),
                           quick=quick)


@bp.route("/timeliness.csv")
@login_required
def export() -> Any:
    report = _report(request.args.get("period"))
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a byte order mark
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(map(_csv_line, table(report, _names())))
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="timeliness-{report.period.label}.csv"'})


def _csv_line(row: tuple[Any, ...]) -> list[Any]:
    scope, name, completed, on_time, rate, *rest = row
    return [scope, name, completed, on_time, "" if rate is None else f"{rate:.3f}",
            *("" if value is None else value for value in rest)]


@bp.route("/timeliness.xlsx")
@login_required
def export_xlsx() -> Any:
    report = _report(request.args.get("period"))
    return _download(timeliness_xlsx(report, _names()), f"timeliness-{report.period.label}")


def _download(workbook: bytes, name: str) -> Response:
    return Response(workbook, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.route("/annual/<int:year>.xlsx")
@login_required
def annual_xlsx(year: int) -> Any:
    report = _report(str(year))
    months = desk().gf.timeliness_by_month(g.user.username, year)
    return _download(timeliness_xlsx(report, _names(), months), f"timeliness-report-{year}")


@bp.route("/annual/<int:year>")
@login_required
def annual(year: int) -> Any:
    report = _report(str(year))
    months = desk().gf.timeliness_by_month(g.user.username, year)
    return render_template("supervision/annual.html", report=report, months=months,
                           names=_names(), year=year, prepared=desk().gf.now())
