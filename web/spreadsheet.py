"""Timeliness figures as an Excel workbook (.xlsx, written by openpyxl): the figures of
the CSV export, with headings in the reader's language and numbers stored as numbers
(rates formatted as percentages), so a supervisor can sort and sum them in Excel."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from engine.notify.supervision import Row, Timeliness, table

PERCENT = "0.0%"


def _sheet(sheet: Worksheet, header: list[str], rows: Iterable[list[Any]],
           rate_column: int) -> None:
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        sheet.cell(row=sheet.max_row, column=rate_column).number_format = PERCENT
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJK", (12, 28, *([14] * 9)), strict=False):
        sheet.column_dimensions[letter].width = width


def timeliness_xlsx(report: Timeliness, names: dict[str, str],
                    months: list[tuple[str, Row]] | None = None) -> bytes:
    """The period's figures per department, per procedure and in total; with `months`
    (the annual report) a second sheet of the year's months."""
    scopes = {"department": _("Department"), "procedure": _("Procedure"), "total": _("Total")}
    book = Workbook()
    sheet = book.active
    sheet.title = report.period.label
    _sheet(sheet, [_("Scope"), _("Name"), _("Completed"), _("On time"), _("On-time rate"),
                   _("Median (working days)"), _("p90 (working days)"), _("Overdue now"),
                   _("Due soon"), _("Most late (working days)"), _("Deemed approvals")],
           ([scopes[scope], *figures] for scope, *figures in table(report, names)),
           rate_column=5)
    if months is not None:
        _sheet(book.create_sheet(_("By month")),
               [_("Month"), _("Completed"), _("On time"), _("On-time rate"),
                _("Median (working days)"), _("p90 (working days)"), _("Deemed approvals")],
               ([label, r.completed, r.on_time, r.on_time_rate, r.median_days, r.p90_days,
                 r.deemed] for label, r in months), rate_column=4)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
