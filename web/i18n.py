"""Simplified Chinese by default, English on request; every time shown in Asia/Shanghai.

Message ids are English; `web/translations/zh/LC_MESSAGES/messages.po` holds the
Chinese. The chosen language lives in the session (`/lang/en`, `/lang/zh`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Flask, current_app, g, redirect, request, session, url_for
from flask_babel import Babel, gettext
from markupsafe import Markup

from engine.cases.results import deciding_group
from engine.people.access import case_number
from engine.time.clock import SHANGHAI

from . import results

LANGUAGES = ("zh", "en")
bp = Blueprint("i18n", __name__)


def current_lang() -> str:
    lang = session.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    asked = request.args.get("lang") if request else None
    return asked if asked in LANGUAGES else "zh"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=current_lang, timezone_selector=lambda: "Asia/Shanghai",
          default_translation_directories="translations")
    app.register_blueprint(bp)
    app.jinja_env.filters["dt"] = format_moment
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["pname"] = process_name
    app.jinja_env.filters["native"] = native
    app.jinja_env.tests["chinese_text"] = lambda text: bool(CJK.search(str(text or "")))
    app.jinja_env.filters["english"] = english
    app.jinja_env.filters["doc"] = documentation
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["result_lines"] = results.lines
    app.jinja_env.globals["desk_explain"] = explain
    app.jinja_env.globals["case_no"] = case_number
    app.jinja_env.globals["group_titles"] = group_titles
    app.jinja_env.globals["user_name"] = user_name
    app.jinja_env.globals["event_data"] = event_data
    app.jinja_env.globals["step_name"] = step_name
    app.jinja_env.globals["outcome_title"] = outcome_title
    app.jinja_env.globals["today_iso"] = lambda: (
        current_app.extensions["desk"].gf.now().astimezone(SHANGHAI).date().isoformat())
    app.jinja_env.globals["party_name"] = party_name
    app.jinja_env.globals["element_names"] = element_names
    app.jinja_env.globals["task_titles"] = lambda case: {t.id: english(t.title)
                                                         for t in case.tasks}
    app.jinja_env.globals["process_names"] = lambda found: {p.process_id: p.name for p in found}


def explain(basis: dict[str, Any] | None) -> list[str]:
    """The calendar's "why this date" lines for a stored deadline, in the reader's language."""
    return current_app.extensions["desk"].explain(basis, current_lang())


def group_titles() -> dict[str, str]:
    """Group name -> title in the reader's language (卫生健康委 for dept_health)."""
    if "group_titles" not in g:
        g.group_titles = current_app.extensions["desk"].group_titles()
    return {name: process_name(title) for name, title in g.group_titles.items()}


def result_titles(data: dict[str, Any]) -> dict[str, str]:
    """The titles a case's result names (the deciding body), without reading every group."""
    decider = deciding_group(data)
    if decider is None:
        return {}
    title = current_app.extensions["desk"].group_title(decider)
    return {decider: process_name(title)} if title else {}


def department_titles() -> dict[str, str]:
    """Active department groups (name -> title in the reader's language), for choice lists:
    a form may name only a department with active members."""
    return {name: process_name(title)
            for name, title in current_app.extensions["desk"].department_choices().items()}


def user_name(username: str | None) -> str:
    """A person's display name (王卫健 for alice); the engine's own actor is "system"."""
    if not username:
        return "—"
    if username == "system":
        return gettext("System")
    if "user_names" not in g:
        g.user_names = current_app.extensions["desk"].user_names()
    return str(g.user_names.get(username, username))


def party_name(name: str | None) -> str:
    """A requester or department by its title (民政厅 for dept_civil), else as written."""
    if not name:
        return "—"
    return group_titles().get(name) or user_name(name)


def event_data(case: Any, event: Any) -> list[tuple[str, str]]:
    """What a completed step recorded, labelled and worded by that step's form."""
    data = event.details.get("data") or {}
    forms = {t.id: t.form for t in getattr(case, "tasks", ())}
    desk = current_app.extensions["desk"]
    form = forms.get(event.task_id or "")
    schema = desk.gf.forms.schema(form) if form else None
    from . import formkit
    return formkit.describe(schema, data, current_lang(), group_titles(),
                            element_names(case.version_id))


def step_name(names: dict[str, str], element_id: str | None) -> str:
    """An element's name, or what kind of element it is when the model left it unnamed."""
    if not element_id:
        return "—"
    if names.get(element_id):
        return names[element_id]
    kinds = (("Gateway", gettext("Decision point")), ("Event", gettext("Event")),
             ("Timer", gettext("Time limit")))
    return next((text for prefix, text in kinds if prefix in element_id), gettext("Step"))


def outcome_title(value: Any) -> str:
    from .formkit import ENGINE_KEYS, option_titles
    return option_titles(ENGINE_KEYS["outcome"], current_lang()).get(str(value), str(value))


def element_names(version_id: int) -> dict[str, str]:
    """A process version's element names (id -> name) in the reader's language."""
    return dict(current_app.extensions["desk"].element_names(version_id, current_lang()))


def english(text: Any) -> Any:
    """On an English page, a model's element name (a task title, a recorded step) becomes
    the English variant the model gives it (`govflow:nameEn`); anything else is unchanged."""
    if current_lang() != "en" or not isinstance(text, str) or not CJK.search(text):
        return text
    if "english_names" not in g:
        g.english_names = current_app.extensions["desk"].english_names()
    return g.english_names.get(" ".join(text.split()), text)


def process_name(name: str | None) -> str:
    """The reader's half of a bilingual name such as "政务数据共享申请 Share request"."""
    name = name or ""
    match = re.match(r"^([^A-Za-z]*[\u4e00-\u9fff][^A-Za-z]*?)\s+([A-Za-z].*)$", name)
    if not match:
        return name
    return match.group(2) if current_lang() == "en" else match.group(1).strip()


CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def native(text: Any) -> Any:
    """Chinese text shown on an English page (a name, a step from a Chinese-only model, what
    someone typed) is marked `lang="zh-CN"`, so screen readers and checks know it is Chinese."""
    if text is None:
        return "—"
    value = str(english(text))
    if current_lang() == "en" and CJK.search(value):
        return Markup('<span lang="zh-CN">%s</span>') % value
    return value


def documentation(text: str | None) -> Any:
    """A model's instructions in the reader's language: models write the Chinese text first
    and may end with an English version; without one, English readers get the Chinese."""
    if not text:
        return ""
    match = re.match(r"^(.*[\u3400-\u9fff\u3000-\u303f\uff00-\uffef])\s*"
                     r"([A-Z][^\u3400-\u9fff\u3000-\u303f\uff00-\uffef]*)$", text, re.S)
    if not match:
        return native(text)
    return match.group(2).strip() if current_lang() == "en" else match.group(1).strip()


def format_moment(moment: dt.datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if seconds
                                                else "%Y-%m-%d %H:%M")


def format_day(moment: dt.datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


@bp.route("/lang/<code>")
def switch(code: str) -> Any:
    from .auth import safe_next
    if code in LANGUAGES:
        session["lang"] = code
        if g.get("user") is not None:
            current_app.extensions["desk"].set_language(g.user.username, code)
    return redirect(safe_next(request.args.get("next"), url_for("home")))
