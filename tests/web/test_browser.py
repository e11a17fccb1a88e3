"""Browser flows in Debian's Chromium through Playwright: what a reviewer and a citizen do.

Chromium comes from the system (`apt-get install chromium`, which `make test` does),
never from Playwright's downloads; without it these tests fail. The app is served from
a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.people import directory
from engine.time.clock import SHANGHAI
from tests.web.conftest import OBJECTION, make_app, start_share

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(wgf, tmp_path: Path) -> Iterator[str]:
    with wgf.db.write() as conn:
        for user, groups in (("alice", ["dept_health"]), ("dora", ["data_authority"])):
            directory.add_user(conn, user, user.title(), password=f"{user}-pw",
                               groups_=groups, now=wgf.now())
    app = make_app(wgf, tmp_path, WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(live_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def sign_in(page, url: str, user: str) -> None:
    page.goto(f"{url}/auth/login")
    page.fill("#username", user)
    page.fill("#password", f"{user}-pw")
    page.click("button.primary")


def test_a_reviewer_signs_in_and_works_a_task_from_the_inbox_to_completion(
        page, live_url, wgf) -> None:
    case = start_share(wgf)
    sign_in(page, live_url, "alice")
    assert page.url.endswith("/inbox")
    row = page.locator("table.inbox tbody tr").first
    assert f"GF{case.id:06d}" in row.inner_text() and "正常" in row.inner_text()
    row.locator("button", has_text="签收").click()
    assert "您已签收该任务" in page.inner_text(".flash")
    page.click("text=审核共享申请")
    page.check("input[name=decision][value=refuse]")
    page.click("text=提交办理意见")
    assert page.locator(".field-error").count() == 2          # reasons and legal basis
    assert page.is_checked("input[name=decision][value=refuse]")
    page.fill("textarea[name=decision_reason]", "该数据涉及个人隐私，不符合共享条件")
    page.fill("[name=legal_basis]", "《个人信息保护法》第十三条")
    page.click("text=提交办理意见")
    assert page.url.endswith("/inbox") and "任务已办理完毕" in page.inner_text(".flash")
    assert wgf.get_case(case.id).data["outcome"] == "refused"
    page.click("button.link:has-text('退出')")
    assert page.url.endswith("/auth/login")


def test_a_citizen_submits_an_objection_and_tracks_it(page, live_url) -> None:
    page.goto(f"{live_url}/portal")
    page.click("text=异议申请（测试）")
    page.fill("#f-requester_name", OBJECTION["requester_name"])
    page.fill("#f-contact", OBJECTION["contact"])
    page.check("input[name=reason][value=wrong]")
    page.fill("#f-details", OBJECTION["details"])
    page.click("button.primary")
    number = page.inner_text("#case-number")
    code = page.inner_text("#tracking-code")
    page.click("text=查询办理进度")
    page.fill("#number", number)
    page.fill("#code", code)
    page.click("button.primary")
    status = page.inner_text(".status-card")
    assert number in status and "办理中" in status and "处理异议" in status


def test_the_case_page_highlights_the_path_taken_on_the_diagram(page, live_url, wgf) -> None:
    case = start_share(wgf)
    sign_in(page, live_url, "alice")
    page.goto(f"{live_url}/cases/{case.id}")
    page.wait_for_selector("#diagram[data-ready=true]", timeout=20000)
    done = page.eval_on_selector_all(".gf-done", "els => els.map(e => e.dataset.elementId)")
    active = page.eval_on_selector_all(".gf-active", "els => els.map(e => e.dataset.elementId)")
    assert {"StartEvent_received", "Gateway_share_class", "Flow_conditional"} <= set(done)
    assert "UserTask_provider_review" in active
    assert "ScriptTask_grant_at_once" not in done
    before = page.eval_on_selector(".djs-container svg .viewport", "g => g.getAttribute('transform')")
    page.click(".diagram-zoom button[title='放大']")
    after = page.eval_on_selector(".djs-container svg .viewport", "g => g.getAttribute('transform')")
    assert after != before



def test_S8_the_data_authority_edits_the_catalog_and_a_department_only_reads_it(
        page, live_url, wgf) -> None:
    from govflow.demo import seed_catalog
    seed_catalog(wgf)
    sign_in(page, live_url, "dora")
    page.click("nav >> text=资源目录")
    page.fill("input[name=q]", "低保")
    page.click("form.filters button")
    assert page.locator("#catalog tbody tr").count() == 1
    page.click("text=CIVIL-DIBAO")
    page.click("text=编辑")
    page.select_option("#f-share_class", "not_shared")
    page.click("form button.primary")
    page.wait_for_selector("#err-reason")                       # a change needs a reason
    page.fill("#f-reason", "经评估，低保对象名单不予共享")
    page.click("form button.primary")
    assert "资源目录已保存为新版本" in page.inner_text(".flash")
    assert "不予共享" in page.inner_text("dl.data")
    assert "经评估，低保对象名单不予共享" in page.inner_text("table.grid")
    assert wgf.dataset("CIVIL-DIBAO").share_class == "not_shared"
    page.context.clear_cookies()
    sign_in(page, live_url, "alice")
    page.goto(f"{live_url}/catalog/CIVIL-DIBAO")
    assert "不予共享" in page.inner_text("dl.data") and page.locator("text=编辑").count() == 0


def test_an_administrator_fixes_an_incident_and_reassigns_a_stuck_task(
        page, live_url, wgf) -> None:
    from engine.people.admin import People

    wgf.deploy((Path(__file__).parent.parent / "engine" / "models" / "probe.bpmn").read_bytes(),
               "probe.bpmn")
    with wgf.db.write() as conn:
        directory.add_user(conn, "root", "系统管理员", password="root-pw",
                           groups_=["administrators"], now=wgf.now())
    broken = wgf.start_case("probe", {"total": 10, "divisor": 0, "threshold": 1,
                                      "limit_days": 2})
    stuck = start_share(wgf).tasks[0].id
    wgf.claim_task(stuck, "amy")
    People(wgf.db, wgf.now).set_active("amy", False)

    sign_in(page, live_url, "root")
    page.click("text=系统管理")
    incident = page.inner_text("#incidents")
    assert "除以零" in incident and "ZeroDivisionError" not in incident
    page.click(f"#incidents >> text=GF{broken.id:06d}")
    data = page.input_value("textarea[name=data]")
    page.fill("textarea[name=data]", data.replace('"divisor": 0', '"divisor": 5'))
    page.click("text=保存数据并重试")
    assert "已重试" in page.inner_text(".flash")
    assert page.inner_text("#case-status") == "办理中"
    assert wgf.get_case(broken.id).data["ratio"] == 2

    page.click("text=运行监控")
    first = page.locator("#tasks tbody tr").first
    assert "签收人已停用" in first.inner_text()
    first.locator("select[name=to]").select_option("user:alice")
    first.locator("input[name=reason]").fill("王卫健已调离")
    first.locator("button", has_text="改派").click()
    assert "任务已改派" in page.inner_text(".flash")
    assert wgf.get_task(stuck).assignee == "alice"
    assert wgf.get_case(wgf.get_task(stuck).case_id).events[-1].details["reason"] == "王卫健已调离"


def test_an_administrator_changes_a_limit_in_the_modeler_and_deploys_it(
        page, live_url, wgf) -> None:
    with wgf.db.write() as conn:
        directory.add_user(conn, "root", "系统管理员", password="root-pw",
                           groups_=["administrators"], now=wgf.now())
    old = start_share(wgf).tasks[0]
    sign_in(page, live_url, "root")
    page.goto(f"{live_url}/admin/modeler/share_probe")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=20000)
    assert page.locator(".djs-palette [title='创建任务']").count() == 1

    page.click("[data-element-id=UserTask_provider_review]")
    assert page.input_value("#p-dueWorkingDays") == 'limits["share_answer_days"]'
    page.fill("#p-dueWorkingDays", "15")
    page.fill("#p-candidateGroupsExpression", "")
    page.click("#apply")
    page.click("[data-element-id=BoundaryEvent_answer_deadline]")
    timer = page.input_value("#p-timer")
    page.fill("#p-timer", timer.replace('limits["share_answer_days"]', "15"))
    page.click("#apply")
    page.click("#save")
    page.wait_for_selector("#modeler[data-problems]:not([data-problems='0'])")
    problems = page.locator("#problems li").all_inner_texts()
    assert all(p.startswith("审核共享申请") for p in problems), problems
    assert any("人工任务未指定办理组" in p for p in problems), problems
    assert page.locator(
        ".gf-lint-error[data-element-id=UserTask_provider_review]").count() == 1
    page.click("#deploy")                     # refused while the problem stands
    page.wait_for_selector("#modeler[data-problems]:not([data-problems='0'])")
    assert [r.version for r in page_versions(wgf)] == [1]

    page.click("[data-element-id=UserTask_provider_review]")
    page.fill("#p-candidateGroupsExpression", "provider_dept")
    page.click("#apply")
    page.click("#deploy")
    page.wait_for_selector("#modeler[data-deployed='2']", timeout=20000)
    assert page.locator(".gf-lint-error").count() == 0

    new = start_share(wgf).tasks[0]
    assert new.due_at == wgf.deadline(wgf.now(), 15).due
    assert wgf.get_task(old.id).due_at == wgf.deadline(wgf.now(), 10).due != new.due_at
    page.click("button.link:has-text('退出')")
    sign_in(page, live_url, "alice")
    inbox = page.inner_text("table.inbox")
    for task in (old, new):
        assert wgf.get_task(task.id).due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") in inbox


def page_versions(wgf):
    from engine.bpmn.versions import Versions

    return Versions(wgf).of("share_probe")


def test_an_administrator_edits_a_decision_table_and_deploys_it(page, live_url, wgf) -> None:
    from engine.cases.govflow import WORKFLOWS

    wgf.deploy((WORKFLOWS / "share_request.bpmn").read_bytes(), "share_request.bpmn")
    with wgf.db.write() as conn:
        directory.add_user(conn, "root", "系统管理员", password="root-pw",
                           groups_=["administrators"], now=wgf.now())
    sign_in(page, live_url, "root")
    page.goto(f"{live_url}/admin/decisions/share_scenarios")
    page.wait_for_selector("#dmn[data-ready=true]", timeout=20000)
    cell = page.locator(".tjs-table td", has_text="新生儿出生一件事").first
    cell.click()
    page.keyboard.press("End")
    page.keyboard.type("X")
    page.click("#deploy-table")               # '"新生儿出生一件事"X' is no expression
    page.wait_for_selector("#problems li")
    assert "OutputEntry_newborn_1" in page.inner_text("#problems")
    cell.click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type('X"')
    page.click("#deploy-table")
    page.wait_for_selector("#dmn[data-deployed]", state="attached", timeout=20000)
    assert page.get_attribute("#dmn", "data-deployed") == "share_request v2"
    with wgf.db.read() as conn:
        xml = wgf.definitions.xml(conn, wgf.definitions.latest(conn, "share_request").id)
    assert "\"新生儿出生一件事X\"".encode() in xml
