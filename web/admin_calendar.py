"""The working-day calendar: a year's holidays and make-up days, entering a year (the same
JSON as `govflow calendar add-year`), and the provisional deadlines that entering it moves."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.time import calendar_admin

from .admin import admin_blueprint
from .auth import desk

bp = admin_blueprint("admin_calendar", "/admin/calendar")


@bp.route("")
def index() -> Any:
    asked = request.args.get("year", "")
    year = (int(asked) if asked.isdigit() and 1900 < int(asked) < 3000
            else g.horizon.last_covered.year + 1)
    return _page(year, text="", preview=None)


@bp.route("", methods=("POST",))
def enter() -> Any:
    sent = request.files.get("file")
    text = sent.read(calendar_admin.MAX_YEAR_FILE + 1).decode("utf-8", "replace") \
        if sent and sent.filename else request.form.get("table", "")
    table = calendar_admin.parse_year(text)
    if request.form.get("action") != "enter":
        return _page(table.year, text=text, preview=table)
    report = desk().gf.add_calendar_year(table, by=g.user.username)
    flash(_("Calendar %(year)d entered; %(tasks)d due dates and %(timers)d timers recomputed.",
            year=table.year, tasks=report["tasks"], timers=report["timers"]), "info")
    return redirect(url_for(".index", year=table.year))


def _page(year: int, *, text: str, preview: Any) -> Any:
    gf = desk().gf
    return render_template("admin/calendar.html", view=calendar_admin.year_view(gf, year),
                           pending=calendar_admin.pending(gf, preview), preview=preview,
                           text=text, years=range(g.horizon.last_covered.year - 1,
                                                  g.horizon.last_covered.year + 3))
