"""One language at a time: every page and every shipped form, in Chinese and in English,
shows no raw key, element id or Python repr, and no running text in the other language.

The keys come from the deployed models and forms (element ids, enum values, group and
user names), so a new model or form is covered without touching this test. In English,
Chinese is allowed only where it is marked `lang="zh-CN"`: a name, a step of a model that
has no English yet, or what someone typed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from engine.cases.forms import DEFAULT_FORMS
from engine.store.schema import groups, users
from govflow.demo import seed_demo
from tests.web.conftest import AuthActions
from tests.web.test_shipped import shipped  # noqa: F401  (the shipped models' app)

CJK = re.compile(r"[\u3400-\u9fff]")
REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|\['|\[\]|\{\}|<[a-z]+\.[A-Za-z]+ object")
# Latin words a Chinese page may carry: codes, formats, the language switch, user data.
ALLOWED_LATIN = {"GF", "Asia", "Shanghai", "PDF", "OFD", "CSV", "Word", "Excel", "English",
                 "YYYY", "MM", "DD", "KB", "MB", "API", "XXXX", "BPMN", "npm", "ci", "Bearer",
                 "example", "com", "contact", "gft"}


def model_keys(gf) -> set[str]:
    """Element ids, enum values, group and user names the models and forms use."""
    keys: set[str] = set()
    with gf.db.read() as conn:
        keys |= set(conn.execute(groups.select().with_only_columns(groups.c.name)).scalars())
        keys |= set(conn.execute(users.select().with_only_columns(users.c.username)).scalars())
        for row in gf.definitions.list_versions(conn):
            xml = gf.definitions.xml(conn, row["id"])
            keys |= {i for i in re.findall(rb'\bid="([^"]+)"', xml)
                     for i in [i.decode()] if "_" in i}
    for path in Path(DEFAULT_FORMS).glob("*.json"):
        for prop in json.loads(path.read_text(encoding="utf-8")).get("properties", {}).values():
            for value in prop.get("enum", []) + prop.get("items", {}).get("enum", []):
                if isinstance(value, str) and "_" in value:
                    keys.add(value)
    return {k for k in keys if len(k) > 3}


def visible_text(page: str, lang: str) -> str:
    tree = lxml_html.fromstring(page)
    for bad in tree.xpath("//script|//style|//head"):
        bad.drop_tree()
    if lang == "en":
        for marked in tree.xpath('//*[@lang="zh-CN"]'):
            if marked.tag != "html":
                marked.drop_tree()   # keeps the tail text
    return " ".join(etree.tostring(tree, method="text", encoding="unicode").split())


def untranslated_names(page: str, english: dict[str, str]) -> list[str]:
    """Chinese marked on an English page that is a model's element name with an English
    variant: the English should have been shown."""
    tree = lxml_html.fromstring(page)
    return [f"untranslated name {text!r}" for marked in tree.xpath('//*[@lang="zh-CN"]')
            if marked.tag != "html"
            for text in [" ".join(marked.text_content().split())] if text in english]


def problems(page: str, lang: str, keys: set[str]) -> list[str]:
    text = re.sub(r"(?<![\w/])/[\w./-]+", " ", visible_text(page, lang))   # paths shown as such
    found = [f"raw key {k!r}" for k in keys if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])",
                                                          text)]
    found += [f"repr {m!r}" for m in REPR.findall(text)]
    if lang == "en":
        found += [f"Chinese {m!r}" for m in re.findall(r"\S*[\u3400-\u9fff]+\S*", text)]
    else:
        words = {w for w in re.findall(r"[A-Za-z]{2,}", text)
                 if not (w.isupper() and len(w) <= 3)} - ALLOWED_LATIN   # rule codes: ZJ 22
        found += [f"English {w!r}" for w in sorted(words)]
    return found


@pytest.fixture
def site(shipped):  # noqa: F811
    gf, app = shipped
    seed_demo(gf)
    return gf, app


def pages(gf, app, client) -> list[str]:
    """Every page a reviewer, a department and a citizen see, with the demo's cases."""
    desk = app.extensions["desk"]
    urls = ["/portal", "/portal/track", "/auth/login", "/nowhere"]
    urls += [f"/portal/apply/{p.process_id}" for p in desk.processes()
             if "public" in p.starters and p.start_form]
    signed_in = ["/inbox", "/inbox?view=overdue", "/cases", "/account/tokens"]
    signed_in += [f"/cases/new/{p.process_id}" for p in desk.processes()
                  if "department" in p.starters and p.start_form]
    with gf.db.read() as conn:
        case_ids = [r for r in conn.execute(
            __import__("sqlalchemy").text("SELECT id FROM cases")).scalars()]
    signed_in += [f"/cases/{i}" for i in case_ids]
    signed_in += [f"/tasks/{t.id}" for i in case_ids for t in gf.get_case(i).tasks]
    return [*(("anon", u) for u in urls), *(("root", u) for u in signed_in)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_speaks_one_language(site, lang) -> None:
    gf, app = site
    keys = model_keys(gf)
    report = []
    anon, root = app.test_client(), app.test_client()
    AuthActions(root).login("root")
    for client in (anon, root):
        client.get(f"/lang/{lang}")
    for who, url in pages(gf, app, root):
        response = (anon if who == "anon" else root).get(url)
        assert response.status_code in (200, 404), url
        report += [f"{url}: {p}" for p in problems(response.get_data(as_text=True), lang, keys)]
    assert report == [], "\n".join(report)


def test_english_pages_name_every_step_in_english(site) -> None:
    """Task titles, timeline steps, tracker steps and process names of the demo's cases
    read in English wherever the model gives the element an English name."""
    gf, app = site
    english = app.extensions["desk"].english_names()
    assert english["审核共享申请"] == "Review the share request"
    anon, root = app.test_client(), app.test_client()
    AuthActions(root).login("root")
    for client in (anon, root):
        client.get("/lang/en")
    report, shown = [], ""
    for who, url in pages(gf, app, root):
        page = (anon if who == "anon" else root).get(url).get_data(as_text=True)
        report += [f"{url}: {p}" for p in untranslated_names(page, english)]
        shown += page
    assert report == [], "\n".join(report)
    assert "Review the share request" in shown and "审核共享申请" not in shown
    diagram = root.get("/cases/1/diagram.json").get_json()["xml"]   # what bpmn-js draws
    assert 'name="Review the share request"' in diagram and 'name="审核共享申请"' not in diagram


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_shipped_form_speaks_one_language_even_with_errors(shipped, lang) -> None:  # noqa: F811
    gf, app = shipped
    keys = model_keys(gf)
    from web import formkit
    from web.i18n import department_titles
    template = app.jinja_env.from_string(
        '{% from "macros.html" import field %}<html><body>'
        '{% for f in form %}{{ field(f) }}{% endfor %}</body></html>')
    report = []
    for path in sorted(Path(DEFAULT_FORMS).glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        with app.test_request_context(f"/?lang={lang}"):
            try:
                gf.forms.validate(path.name, {"zz_unknown": 1})
                errors = {}
            except Exception as error:   # every required field and the unknown one
                errors = getattr(error, "errors", {})
            page = template.render(form=formkit.fields(
                schema, lang, {}, errors, department_titles()))
        report += [f"{path.name}: {p}" for p in problems(page, lang, keys)]
    assert report == [], "\n".join(report)


def test_the_language_chosen_before_signing_in_survives_and_is_remembered(app, wgf) -> None:
    from engine.people import directory
    with wgf.db.write() as conn:
        directory.add_user(conn, "pat", "Pat", password="pat-secret-2026",
                           groups_=["dept_health"], now=wgf.now())
    browser = app.test_client()
    browser.get("/lang/en")
    browser.post("/auth/login", data={"username": "pat", "password": "pat-secret-2026"})
    assert 'lang="en"' in browser.get("/inbox").get_data(as_text=True)
    browser.post("/auth/logout")
    elsewhere = app.test_client()          # a new browser, no language chosen
    elsewhere.post("/auth/login", data={"username": "pat", "password": "pat-secret-2026"})
    assert 'lang="en"' in elsewhere.get("/inbox").get_data(as_text=True)
    elsewhere.get("/lang/zh")
    assert 'lang="zh-CN"' in elsewhere.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_returned_request_shows_its_returns_in_words(site, lang) -> None:
    """A request sent back for completion and resubmitted keeps a record of each return:
    its page words them (when, what was missing, why), never as the stored records."""
    gf, app = site
    case = gf.start_case("share_request", {"dataset_id": "HEALTH-BIRTH", "requester_dept":
                                           "dept_civil", "data_items": ["姓名"]}, user="carl")
    case = gf.complete_task(case.tasks[0].id, "alice", {
        "decision": "return", "decision_reason": "请补充应用场景和使用期限。",
        "missing_items": ["应用场景", "使用期限"]})
    gf.complete_task(case.tasks[-1].id, "carl", {
        "purpose": "核对低保申请人出生信息", "data_items": ["姓名"], "scenario": "低保资格审核",
        "scope": "民政局低保科", "term": "2027-12-31"})
    client = app.test_client()
    AuthActions(client).login("root")
    client.get(f"/lang/{lang}")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert problems(page, lang, model_keys(gf)) == []
    # the record is in Chinese (its items are), so an English page marks it lang="zh-CN"
    assert ("（1）退回时间: 2026-11-20 09:00；补正后重新提交时间: 2026-11-20 09:00；"
            "需要补正的全部内容: 应用场景、使用期限；理由: 请补充应用场景和使用期限。" if lang == "zh"
            else "(1) Returned: 2026-11-20 09:00; Resubmitted complete: 2026-11-20 09:00; "
            "Everything missing: 应用场景, 使用期限; Reason: 请补充应用场景和使用期限。") in page
