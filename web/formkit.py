"""Forms from JSON Schema: fields to render, submitted text back to typed data.

Every task and start form is a JSON Schema in `workflows/forms/`. This module turns
one into a list of `Field`s for the `forms.html` macros (labels in the reader's
language from `title` / `x-title-en`, options from `enum` / `x-enum-titles`), and
reads a submitted form back into the JSON the schema describes. Validation itself
is the engine's (`FormLibrary.validate`, with jsonschema), so the web and the API
reject exactly the same data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.cases.forms import until_fields
from engine.people.access import parse_case_number
from engine.rules.profile import load_profile, shipped_profiles
from engine.time.clock import SHANGHAI

RADIO_MAX = 4
TEXTAREA_FROM = 200
# Keys the engine and the models write into every case, labelled like form fields.
ENGINE_KEYS = {
    "received_at": {"title": "收到时间", "x-title-en": "Received"},
    "outcome": {"title": "办理结果", "x-title-en": "Outcome", "enum": [
        "granted", "refused", "corrected", "opened", "not_opened"],
        "x-enum-titles": {"granted": "同意", "refused": "不予同意", "corrected": "已更正",
                          "opened": "予以开放", "not_opened": "不予开放"},
        "x-enum-titles-en": {"granted": "Granted", "refused": "Refused",
                             "corrected": "Corrected", "opened": "Opened",
                             "not_opened": "Not opened"}},
    "decided_by": {"title": "决定机关", "x-title-en": "Decided by", "x-group": True},
    "decision_rule": {"title": "决定依据", "x-title-en": "Rule applied"},
    "reply": {"title": "答复", "x-title-en": "Reply"},
    # keys the shipped models record (workflows/README.md lists them per process)
    "answer_from": {"title": "答复期限起算", "x-title-en": "Answer period counted from"},
    "scenario_approved": {"title": "匹配已批准应用场景", "x-title-en": "Approved scenario"},
    "desensitised": {"title": "脱敏提供", "x-title-en": "Provided desensitised"},
    "may_request_coordination": {"title": "可申请协调", "x-title-en": "May ask for coordination"},
    "final": {"title": "最终决定", "x-title-en": "Final decision"},
    "grant": {"title": "授权内容", "x-title-en": "Grant"},
    "catalog_addition": {"title": "目录新增", "x-title-en": "Catalog addition"},
    # what govflow copies from the resource catalog into a share request
    "dataset": {"title": "数据资源名称", "x-title-en": "Dataset"},
    "provider_dept": {"title": "数据提供部门", "x-title-en": "Providing department"},
    "share_class": {"title": "共享类型", "x-title-en": "Share class",
                    "enum": ["unconditional", "conditional", "not_shared"],
                    "x-enum-titles": {"unconditional": "无条件共享", "conditional": "有条件共享",
                                      "not_shared": "不予共享"},
                    "x-enum-titles-en": {"unconditional": "Unconditional",
                                         "conditional": "Conditional",
                                         "not_shared": "Not shared"}},
    "open_class": {"title": "开放类型", "x-title-en": "Open class",
                   "enum": ["open_unconditional", "open_conditional", "not_open"],
                   "x-enum-titles": {"open_unconditional": "无条件开放",
                                     "open_conditional": "有条件开放", "not_open": "不予开放"},
                   "x-enum-titles-en": {"open_unconditional": "Open unconditionally",
                                        "open_conditional": "Open on conditions",
                                        "not_open": "Not open"}},
    "dataset_items": {"title": "目录所列数据项", "x-title-en": "Items in the catalog"},
    "in_catalog": {"title": "资源目录内数据", "x-title-en": "In the resource catalog"},
    "catalog_version": {"title": "资源目录版本", "x-title-en": "Catalog version"},
    "scenario_title": {"title": "应用场景名称", "x-title-en": "Scenario"},
    "scenario_items": {"title": "场景允许的数据项", "x-title-en": "Items the scenario allows"},
    "catalog_share_class": {"title": "目录共享类型", "x-title-en": "Catalog share class"},
    "agreement_required": {"title": "须签数据利用协议", "x-title-en": "Agreement required"},
    "reviews": {"title": "审查程序", "x-title-en": "Review procedures", "items": {
        "enum": ["legality", "expert_panel", "confidentiality", "competent_authority",
                 "public_consultation", "hearing"],
        "x-enum-titles": {"legality": "合法性审查", "expert_panel": "专家论证",
                          "confidentiality": "保密审查", "competent_authority": "主管部门审查",
                          "public_consultation": "公开征求意见", "hearing": "听证"},
        "x-enum-titles-en": {"legality": "Legality review", "expert_panel": "Expert panel",
                             "confidentiality": "Confidentiality review",
                             "competent_authority": "Competent authority's review",
                             "public_consultation": "Public consultation",
                             "hearing": "Hearing"}}},
    "sla_state": {"title": "时限状态", "x-title-en": "Time-limit state", "enum": [
        "overdue", "on_time", "due_soon"],
        "x-enum-titles": {"overdue": "已超期", "on_time": "未超期", "due_soon": "即将到期"},
        "x-enum-titles-en": {"overdue": "Overdue", "on_time": "On time",
                             "due_soon": "Due soon"}},
    "sla_breach_rule": {"title": "超期依据", "x-title-en": "Limit breached"},
    "sla_breach_task": {"title": "超期环节", "x-title-en": "Step overdue", "x-element": True},
    "complainant_notified": {"title": "已反馈投诉人", "x-title-en": "Complainant told"},
    "reporter_notified": {"title": "已告知反馈人", "x-title-en": "Reporter told"},
    # jurisdiction profile, limits and open-data findings
    "jurisdiction_profile": {"title": "适用规定", "x-title-en": "Jurisdiction rules"},
    "returns": {"title": "退回补正记录", "x-title-en": "Returns for completion"},
    "returned_at": {"title": "退回时间", "x-title-en": "Returned"},
    "resubmitted_at": {"title": "补正后重新提交时间", "x-title-en": "Resubmitted complete"},
    "returned_reason": {"title": "退回理由", "x-title-en": "Reason for the return"},
    "provider_silent": {"title": "提供部门逾期未答复", "x-title-en": "Provider did not answer"},
    "provider_silent_at": {"title": "逾期未答复确认时间", "x-title-en": "Silence noted"},
    "open_form": {"title": "开放方式", "x-title-en": "Opened as", "enum": [
        "full", "desensitised", "conditional"], "x-enum-titles": {
        "full": "完整开放", "desensitised": "脱敏处理后开放", "conditional": "有条件开放"},
        "x-enum-titles-en": {"full": "Full", "desensitised": "Desensitised",
                             "conditional": "Conditional-open"}},
    "findings_overridden": {"title": "决定与之不一致的审查", "x-title-en": "Findings overridden"},
    "notified_at": {"title": "告知时间", "x-title-en": "Authority notified"},
    "missing_items": {"title": "需要补正的内容", "x-title-en": "Missing"},
    "reason": {"title": "理由", "x-title-en": "Reason"},
    "authority_consent": {"title": "主管部门同意再次退回的理由",
                          "x-title-en": "Authority's consent"},
    # shown as the findings table on the decision page, not as raw data
    "findings": {"x-hidden": True}, "allowed_decisions": {"x-hidden": True},
    "decisions_against": {"x-hidden": True},
}


def _profile_titles() -> dict[str, Any]:
    """Each shipped jurisdiction profile's name, shown by its title on case pages."""
    names = ["default", *shipped_profiles()]
    titles = {name: load_profile(None if name == "default" else name).title or name
              for name in names}
    halves = {name: _halves(title) for name, title in titles.items()}
    return {"enum": names, "x-enum-titles": {n: h[0] for n, h in halves.items()},
            "x-enum-titles-en": {n: h[1] for n, h in halves.items()}}


def _halves(title: str) -> tuple[str, str]:
    """The Chinese and English halves of a bilingual title such as "默认规则 Default rules"."""
    found = re.match(r"^([^A-Za-z]*[\u4e00-\u9fff][^A-Za-z]*?)\s+([A-Za-z].*)$", title)
    return (found.group(1), found.group(2)) if found else (title, title)


ENGINE_KEYS["jurisdiction_profile"].update(_profile_titles())


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text textarea select radio checkbox checkboxes number date
    required: bool
    help: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    step: str | None = None
    max_length: int | None = None
    lines: bool = False    # a list typed one item per line
    required_when: list[tuple[str, str]] = field(default_factory=list)  # (field, value)
    not_past: bool = False  # a date that ends something: today or later


def _types(prop: dict[str, Any]) -> set[str]:
    kind = prop.get("type", "string")
    return set(kind if isinstance(kind, list) else [kind]) - {"null"}


def _localized(prop: dict[str, Any], key: str, lang: str) -> Any:
    return prop.get(f"x-{key}-en", prop.get(key)) if lang == "en" else prop.get(key)


def label(prop: dict[str, Any], name: str, lang: str) -> str:
    return str(_localized(prop, "title", lang) or name)


def option_titles(prop: dict[str, Any], lang: str) -> dict[str, str]:
    """Option value -> label; an array's labels may sit on the array or on its items."""
    key = "x-enum-titles-en" if lang == "en" else "x-enum-titles"
    items = prop.get("items", {}) if isinstance(prop.get("items"), dict) else {}
    titles = {**(items.get(key) or {}), **(prop.get(key) or {})}
    if lang == "en" and not titles:
        titles = {**(items.get("x-enum-titles") or {}), **(prop.get("x-enum-titles") or {})}
    return {str(v): str(titles.get(str(v), v)) for v in prop.get("enum", items.get("enum", []))}


def is_department(name: str, prop: dict[str, Any]) -> bool:
    """Fields naming a department group (`provider_dept`, ...) are chosen from a list."""
    return prop.get("x-directory") == "department" or (
        name.endswith("_dept") and "string" in _types(prop) and "enum" not in prop)


def _widget(prop: dict[str, Any]) -> tuple[str, list[tuple[str, str]] | None]:
    kinds = _types(prop)
    if "boolean" in kinds:
        return "checkbox", None
    if "array" in kinds:
        return ("checkboxes" if "enum" in prop.get("items", {}) else "textarea"), None
    if "enum" in prop:
        return ("radio" if len(prop["enum"]) <= RADIO_MAX else "select"), None
    if kinds & {"integer", "number"}:
        return "number", None
    if prop.get("format") == "date" or prop.get("pattern") == r"^\d{4}-\d{2}-\d{2}$":
        return "date", None
    if prop.get("x-widget") == "textarea" or prop.get("maxLength", 0) > TEXTAREA_FROM:
        return "textarea", None
    return "text", None


def error_text(message: str | None) -> str | None:
    """An engine validation phrase ("at least 5 characters") in the reader's language."""
    if not message:
        return message
    from flask_babel import gettext
    counted = re.fullmatch(r"(at (?:least|most)) (\d+)( characters| items)?", message)
    if counted:
        return gettext(f"{counted.group(1)} %(n)s{counted.group(3) or ''}",
                       n=counted.group(2))
    return gettext(message)


def conditions(schema: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Field -> the (field, value) choices that make it required, from `if`/`then` rules.

    The browser marks such a field required as soon as one of its choices is made; the
    engine's validation stays the authority.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    for rule in [schema, *schema.get("allOf", [])]:
        when, then = rule.get("if"), rule.get("then")
        if not isinstance(when, dict) or not isinstance(then, dict):
            continue
        for name, test in when.get("properties", {}).items():
            if isinstance(test, dict) and "const" in test:
                value = test["const"]
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                for needed in then.get("required", []):
                    found.setdefault(needed, []).append((name, text))
    return found


def fields(schema: dict[str, Any], lang: str, values: dict[str, Any] | None = None,
           errors: dict[str, str] | None = None,
           departments: dict[str, str] | None = None,
           datasets: dict[str, str] | None = None) -> list[Field]:
    """The fields of a form, in schema order, with values and errors to show.

    `departments` (group name -> title) turns department fields into a choice list, and
    `datasets` (catalog id -> label) a catalog dataset field (`"x-catalog": "dataset"`).
    """
    values, errors = values or {}, errors or {}
    required = set(schema.get("required", []))
    when = conditions(schema)
    not_past = set(until_fields(schema))
    found = []
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly") or "object" in _types(prop):
            continue
        widget, _ = _widget(prop)
        has_enum = "enum" in prop or "enum" in prop.get("items", {})
        options = list(option_titles(prop, lang).items()) if has_enum else []
        if departments and is_department(name, prop):
            widget, options = "select", list(departments.items())
        if datasets is not None and prop.get("x-catalog") == "dataset":
            widget, options = "select", list(datasets.items())
        found.append(Field(
            name=name, label=label(prop, name, lang), widget=widget,
            required=name in required, help=_localized(prop, "description", lang),
            options=options, value=values.get(name, prop.get("default")),
            error=error_text(errors.get(name)), max_length=prop.get("maxLength"),
            lines=widget == "textarea" and "array" in _types(prop),
            required_when=when.get(name, []), not_past=name in not_past,
            step="1" if "integer" in _types(prop) else "any" if widget == "number" else None))
    extra = {k: v for k, v in errors.items() if k not in schema.get("properties", {})}
    if extra:
        found.append(Field(name="", label="", widget="errors", required=False,
                           error="; ".join(error_text(v) or "" for v in extra.values())))
    return found


def parse(schema: dict[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """Typed data from a submitted form; empty inputs are left out so `required` applies."""
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly") or "object" in _types(prop):
            continue
        kinds = _types(prop)
        if "boolean" in kinds:
            data[name] = form.get(name) in ("on", "true", "1", "yes")
            continue
        if "array" in kinds:
            items = prop.get("items", {})
            listed = (form.getlist(name) if "enum" in items else
                      [line.strip() for line in form.get(name, "").splitlines() if line.strip()])
            if listed or name in form:
                data[name] = listed
            continue
        raw = form.get(name, "").strip()
        if raw == "":
            continue
        data[name] = _number(raw, kinds)
    return data


def _number(raw: str, kinds: set[str]) -> Any:
    if "integer" in kinds and parse_case_number(raw) is not None and not raw.isdigit():
        return parse_case_number(raw)   # a case number as shown everywhere: GF000042
    if "integer" in kinds:
        try:
            return int(raw)
        except ValueError:
            return raw
    if "number" in kinds:
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def offer_only(form: list[Field], name: str, allowed: list[str] | None) -> None:
    """Offer only the options the case still allows (the engine refuses the others too)."""
    if allowed is None:
        return
    for f in form:
        if f.name == name:
            f.options = [(value, text) for value, text in f.options if value in allowed]


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(map(str, value))
    return _moment(value) if isinstance(value, str) else str(value)


def _moment(text: str) -> str:
    """An ISO moment as Beijing time, the way every other time on the pages reads."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def describe(schema: dict[str, Any] | None, data: dict[str, Any], lang: str,
             groups: dict[str, str] | None = None,
             elements: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of case data, labelled and worded by the start form where it can.

    `groups` (name -> title) names departments and roles, `elements` (id -> name) the
    steps of the case's model, so neither shows as its key.
    """
    props = (schema or {}).get("properties", {})
    shown = []
    for key, value in data.items():
        if key.startswith("_") or value is None or value in ("", [], {}):
            continue
        prop = props.get(key) or ENGINE_KEYS.get(key, {})
        if prop.get("x-hidden") or prop.get("x-catalog"):   # the dataset shows by its name
            continue
        shown.append((label(prop, key, lang) if prop else key,
                      _worded(key, prop, value, lang, props, groups or {}, elements or {})))
    return shown


def _worded(key: str, prop: dict[str, Any], value: Any, lang: str, props: dict[str, Any],
            groups: dict[str, str], elements: dict[str, str]) -> str:
    titles = option_titles(prop, lang) if prop else {}
    if key.endswith("_dept") or prop.get("x-group"):
        titles = {**groups, "system": "系统" if lang == "zh" else "System"}
    if prop.get("x-element"):
        titles = elements
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):   # records
        words = [_worded(key, prop, v, lang, props, groups, elements) for v in value]
        return " ".join((f"（{n}）" if lang == "zh" else f"({n}) ") + w
                        for n, w in enumerate(words, 1))
    if isinstance(value, list):
        return "、".join(titles.get(str(v), str(v)) for v in value) if lang == "zh" else \
            ", ".join(titles.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):   # in a fixed order: PostgreSQL keeps JSON keys its own way
        order = {k: n for n, k in enumerate(dict.fromkeys([*ENGINE_KEYS, *props]))}
        parts = []
        for k, v in sorted(value.items(), key=lambda item: order.get(item[0], len(order))):
            if v not in (None, "", []):
                sub = props.get(k) or ENGINE_KEYS.get(k, {})
                parts.append(f"{label(sub, k, lang)}: "
                             f"{_worded(k, sub, v, lang, props, groups, elements)}")
        return ("；" if lang == "zh" else "; ").join(parts)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, str) and (key.endswith("_at") or value[10:11] == "T"):
        return _moment(value)
    return titles.get(str(value), str(value))
