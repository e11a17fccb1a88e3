"""Every named element of every shipped model, and every Chinese instruction, has an English
variant, so an English reader never meets a Chinese step name (a new model is covered too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine.cases import history

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
MODELS = sorted(WORKFLOWS.glob("*.bpmn"))


def _tree(path: Path) -> etree._Element:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_named_element_has_an_english_name(path: Path) -> None:
    missing = [f"{node.get('id')} {node.get('name')!r}" for node in _tree(path).iter()
               if isinstance(node.tag, str) and node.tag.startswith(BPMN)
               and (node.get("name") or "").strip()
               and (not (node.get(history.ENGLISH) or "").strip()
                    or CJK.search(node.get(history.ENGLISH)))]
    assert missing == []


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_chinese_instruction_ends_in_english(path: Path) -> None:
    """Instructions written in Chinese go on with the English the English page shows."""
    missing = [node.getparent().get("id") for node in _tree(path).iter(f"{BPMN}documentation")
               if CJK.match((node.text or "").strip())
               and len(re.findall(r"[A-Za-z]?[a-z]{2,}", CJK.split(node.text)[-1])) < 2]
    assert missing == []


def test_the_english_diagram_and_step_names_use_the_english_variant() -> None:
    xml = (WORKFLOWS / "share_request.bpmn").read_bytes()
    zh, en = history.element_names(xml), history.element_names(xml, "en")
    assert zh["UserTask_provider_review"] == "审核共享申请"
    assert en["UserTask_provider_review"] == "Review the share request"
    relabelled = history.element_names(history.in_language(xml, "en"))
    assert relabelled == en
    names = [n.get("name") for n in _tree_of(history.in_language(xml, "en")).iter()
             if isinstance(n.tag, str) and n.get("name")]
    assert names and not [n for n in names if CJK.search(n)]   # lanes and flow labels too
    assert history.in_language(xml, "zh") == xml


def _tree_of(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
