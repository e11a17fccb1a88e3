"""Any screen: at 390 px the portal, tracker, inbox, task and case pages fit without
sideways scrolling and the inbox is a list of cards; axe-core (from npm, injected from
node_modules) finds no serious or critical WCAG 2.1 AA violation on any of them, in
either language. Debian's Chromium through Playwright, as in test_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.web.conftest import OBJECTION, start_share
from tests.web.test_browser import ARGS, CHROMIUM, live_url, sign_in  # noqa: F401

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.browser


@pytest.fixture
def phone(live_url):  # noqa: F811
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      device_scale_factor=1, bypass_csp=True)
        yield context.new_page()
        context.close()
        browser.close()


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def check(page, url: str, report: list[str]) -> None:
    page.goto(url)
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > 390:
        culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 391)
            .map(e => e.tagName + '.' + e.className).slice(-3)""")
        report.append(f"{url}: {wide} px wide: {culprits}")
    report.extend(f"{url}: {v}" for v in serious_violations(page))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_fits_a_phone_and_passes_axe(phone, live_url, wgf, app, lang) -> None:  # noqa: F811
    case = start_share(wgf)
    desk = app.extensions["desk"]
    public, code = desk.submit_public("public_probe", dict(OBJECTION))
    page, report = phone, []
    page.goto(f"{live_url}/lang/{lang}")
    for path in ("/portal", "/portal/apply/public_probe", "/portal/track", "/auth/login"):
        check(page, live_url + path, report)
    page.goto(f"{live_url}/portal/track")
    page.fill("#number", f"GF{public.id:06d}")
    page.fill("#code", code)
    page.click("button.primary")
    report.extend(f"tracker: {v}" for v in serious_violations(page))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sign_in(page, live_url, "alice")
    page.goto(f"{live_url}/lang/{lang}")
    for path in ("/inbox", f"/tasks/{case.tasks[0].id}", f"/cases/{case.id}", "/cases"):
        check(page, live_url + path, report)
    page.goto(f"{live_url}/tasks/{case.tasks[0].id}")
    reasons = page.locator("[data-required-when] .req.when").first
    assert not reasons.is_visible()
    page.check("input[name=decision][value=refuse]")      # now the reasons are required
    assert reasons.is_visible()
    page.goto(f"{live_url}/inbox")
    row = page.locator("table.inbox tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"   # a card
    assert page.locator("table.inbox thead").bounding_box()["height"] <= 1
    assert report == [], json.dumps(report, ensure_ascii=False, indent=1)
