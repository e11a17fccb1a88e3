"""The administrator's round trip on the shipped share request, in Debian's Chromium: the
provider's limit goes from 10 to 15 working days in the modeler, the lint stops a task with
no group, the fixed model is deployed, and each case keeps the due date of its version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.bpmn.versions import Versions
from engine.cases.govflow import Govflow
from engine.people.admin import People
from engine.store.db import Database
from engine.time.clock import SHANGHAI
from govflow.demo import seed_catalog, seed_directory
from tests.web.test_browser import ARGS, CHROMIUM
from web import create_app

REQUEST = {"requester_dept": "dept_civil", "dataset_id": "HEALTH-BIRTH",
           "data_items": ["姓名", "出生日期"], "purpose": "核对社会救助对象"}

pytestmark = pytest.mark.browser


@pytest.fixture
def shipped(database_url, clock, tmp_path: Path) -> Iterator[tuple[Govflow, str]]:
    gf = Govflow(Database(database_url), clock=clock)
    gf.init_schema()
    gf.deploy_directory()
    seed_directory(gf, passwords=False)
    seed_catalog(gf)
    people = People(gf.db, gf.now)
    for user in ("root", "alice"):
        people.set_password(user, f"{user}-password")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "GOVFLOW": gf,
                      "SESSION_COOKIE_SECURE": True, "RATELIMIT_ENABLED": False,
                      "ATTACHMENTS_DIR": str(tmp_path / "f")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield gf, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    gf.db.dispose()


def sign_in(page, url: str, user: str) -> None:
    page.goto(f"{url}/auth/login")
    page.fill("#username", user)
    page.fill("#password", f"{user}-password")
    page.click("button.primary")


def select(page, element_id: str) -> None:
    """Click the element itself, whatever the fitted diagram draws over it."""
    page.locator(f"[data-element-id={element_id}] > .djs-hit").dispatch_event("click")


@pytest.fixture
def page(shipped) -> Iterator[object]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def test_the_provider_limit_of_share_request_goes_to_15_days_for_new_cases_only(
        shipped, page) -> None:
    gf, url = shipped
    old = gf.start_case("share_request", REQUEST, user="carl").tasks[0]
    assert old.due_at == gf.deadline(gf.now(), 10).due
    sign_in(page, url, "root")
    page.goto(f"{url}/admin/modeler/share_request")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=20000)

    select(page, "UserTask_provider_review")
    assert page.input_value("#p-dueWorkingDays") == 'limits["share_answer_days"]'
    page.fill("#p-dueWorkingDays", "15")
    page.fill("#p-candidateGroupsExpression", "")
    page.click("#apply")
    select(page, "BoundaryEvent_answer_deadline")
    timer = page.input_value("#p-timer")
    assert 'limits["share_answer_days"]' in timer
    page.fill("#p-timer", timer.replace('limits["share_answer_days"]', "15"))
    page.click("#apply")
    page.click("#save")
    page.wait_for_selector("#modeler[data-problems]:not([data-problems='0'])")
    problems = page.locator("#problems li").all_inner_texts()
    assert any(p == "审核共享申请: 人工任务未指定办理组：请填写办理组（名称或表达式）" for p in problems), problems
    assert all(p.startswith("审核共享申请") for p in problems), problems
    assert page.locator(
        ".gf-lint-error[data-element-id=UserTask_provider_review]").count() == 1
    page.click("#deploy")                     # refused while the problem stands
    page.wait_for_selector("#modeler[data-problems]:not([data-problems='0'])")
    assert [v.version for v in Versions(gf).of("share_request")] == [1]

    select(page, "UserTask_provider_review")
    page.fill("#p-candidateGroupsExpression", "provider_dept")
    page.click("#apply")
    page.click("#deploy")
    page.wait_for_selector("#modeler[data-deployed='2']", timeout=20000)
    assert page.locator(".gf-lint-error").count() == 0

    new = gf.start_case("share_request", REQUEST, user="carl").tasks[0]
    assert new.due_at == gf.deadline(gf.now(), 15).due
    assert gf.get_task(old.id).due_at == gf.deadline(gf.now(), 10).due
    page.click("button.link:has-text('退出')")
    sign_in(page, url, "alice")
    rows = {row.inner_text() for row in page.locator("table.inbox tbody tr").all()}
    for task in (old, new):
        number = f"GF{task.case_id:06d}"
        due = task.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
        assert any(number in row and due in row for row in rows), (number, due)
