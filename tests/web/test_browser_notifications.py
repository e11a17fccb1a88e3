"""In Debian's Chromium: the bell counts up when work arrives; a supervisor downloads the
timeliness CSV from the supervision page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.people import directory
from engine.time.clock import SHANGHAI
from notifications.channels import InAppChannel
from notifications.dispatch import Dispatcher
from tests.web.conftest import make_app, start_share
from tests.web.test_browser import ARGS, CHROMIUM, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(wgf, tmp_path: Path) -> Iterator[str]:
    with wgf.db.write() as conn:
        for user, groups in (("alice", ["dept_health"]), ("hank", ["dept_health"])):
            directory.add_user(conn, user, user.title(), password=f"{user}-pw",
                               groups_=groups, now=wgf.now())
    wgf.set_supervisor("dept_health", "hank")
    app = make_app(wgf, tmp_path, WTF_CSRF_ENABLED=True, BELL_POLL_MS=300)
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
        context = browser.new_context(viewport={"width": 1360, "height": 900},
                                      accept_downloads=True)
        yield context.new_page()
        context.close()
        browser.close()


def test_the_bell_count_rises_when_a_task_is_assigned(page, live_url, wgf) -> None:
    from playwright.sync_api import expect
    sign_in(page, live_url, "alice")
    badge = page.locator("#bell .bell-count")
    assert badge.get_attribute("data-unread") == "0" and badge.is_hidden()
    start_share(wgf)
    Dispatcher(wgf, {"in_app": InAppChannel(wgf.db)}).dispatch()
    expect(badge).to_have_attribute("data-unread", "1", timeout=10_000)  # no reload
    assert badge.is_visible() and badge.inner_text() == "1"
    page.click("#bell")
    assert "新任务" in page.inner_text("ul.notices")


def test_a_supervisor_opens_the_timeliness_page_and_downloads_the_csv(
        page, live_url, wgf, clock) -> None:
    start_share(wgf)
    clock.set(dt.datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))  # due 4 Dec: 2 days late
    sign_in(page, live_url, "hank")
    page.click("nav >> text=督办")
    assert page.url.endswith("/supervision")
    page.fill("input[name=period]", "2026-11")
    page.click("text=查看")
    assert "超期 2 个工作日" in page.inner_text("main")
    with page.expect_download() as info:
        page.click("#csv")
    download = info.value
    assert download.suggested_filename == "timeliness-2026-11.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    department = next(r for r in rows if r["scope"] == "department")
    assert (department["name"], department["overdue_open"],
            department["max_lateness_working_days"]) == ("卫生健康委", "1", "2")
