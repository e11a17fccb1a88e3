"""Every shipped diagram as bpmn-js draws it in Debian's Chromium: it imports without warnings
and no label is wrapped inside its brackets. A CJK font (fonts-wqy-microhei, which
`make browser` installs) gives the label widths Chinese users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted(path.stem for path in (ROOT / "workflows").glob("*.bpmn"))
LINES_OF_EVERY_LABEL = """async (xml) => {
  const viewer = new BpmnJS({ container: '#canvas' });
  const { warnings } = await viewer.importXML(xml);
  const labels = {};
  viewer.get('elementRegistry').forEach((element) => {
    const lines = [...viewer.get('elementRegistry').getGraphics(element)
      .querySelectorAll('.djs-visual > text tspan')].map((tspan) => tspan.textContent);
    if (lines.length) { labels[element.id] = lines; }
  });
  return { warnings: warnings.map((w) => w.message), labels };
}"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def draw():
    from playwright.sync_api import sync_playwright
    viewer = (ROOT / "node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_content('<div id="canvas" style="width:1600px;height:1000px"></div>')
        page.add_script_tag(content=viewer)
        yield lambda name: page.evaluate(LINES_OF_EVERY_LABEL,
                                         (ROOT / "workflows" / f"{name}.bpmn").read_text())
        browser.close()


@pytest.mark.parametrize("name", MODELS)
def test_the_diagram_draws_without_warnings_and_no_label_breaks_inside_brackets(draw, name) -> None:
    drawn = draw(name)
    assert drawn["warnings"] == []
    assert len(drawn["labels"]) > 10
    broken = {element: lines for element, lines in drawn["labels"].items()
              if any(line.count("（") != line.count("）") or line.count("(") != line.count(")")
                     for line in lines)}
    assert broken == {}
