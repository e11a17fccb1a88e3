"""One wording of a case's result, in Chinese and English, for every outcome the models write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cases.letters import letter
from engine.cases.results import OUTCOMES, result_of, words

TITLES = {"dept_civil": "民政厅", "data_authority": "数据主管部门"}
WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def said(data: dict, lang: str) -> dict:
    found = result_of(data, TITLES)
    assert found is not None
    return words(found, lang)


def test_every_outcome_a_shipped_model_writes_has_textin_both_languages() -> None:
    written = set()
    for model in WORKFLOWS.glob("*.bpmn"):
        written |= set(re.findall(r'outcome = "([a-z_]+)"', model.read_text(encoding="utf-8")))
    assert written and written <= set(OUTCOMES)
    for key, (zh, en) in OUTCOMES.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.isascii() and key not in (zh, en)


@pytest.mark.parametrize(("lang", "outcome", "decider"), [
    ("zh", "不予受理", "民政厅"), ("en", "The complaint was not accepted", "民政厅")])
def test_a_complaint_not_accepted(lang, outcome, decider) -> None:
    text = said({"outcome": "not_accepted", "decided_by": "dept_civil", "decision_rule": "J7",
                   "decision_reason": "不属于本机构职责范围"}, lang)
    assert (text["outcome"], text["decided_by"], text["reasons"]) == (
        outcome, decider, "不属于本机构职责范围")


@pytest.mark.parametrize(("lang", "body"), [
    ("zh", "信息化工作领导小组"), ("en", "the leading group for informatization")])
def test_a_coordination_the_leading_group_decided_names_it_not_its_key(lang, body) -> None:
    text = said({"outcome": "refused", "decided_by": "leading_group", "decision_rule": "S6"},
                  lang)
    assert text["decided_by"] == body


@pytest.mark.parametrize(("form", "zh", "en"), [
    ("full", "已开放（完整开放）", "Opened in full"),
    ("desensitised", "已开放（脱敏处理后开放）", "Opened after desensitisation"),
    ("conditional", "已开放（有条件开放）", "Opened on conditions")])
def test_an_open_data_review_says_how_the_data_was_opened(form, zh, en) -> None:
    data = {"outcome": "opened", "open_form": form, "decided_by": "data_authority"}
    assert (said(data, "zh")["outcome"], said(data, "en")["outcome"]) == (zh, en)


def test_a_deemed_approval_says_which_rule_decided_and_why() -> None:
    data = {"outcome": "granted", "decided_by": "system", "decision_rule": "S5",
            "decision": "deemed_approved"}
    assert said(data, "zh")["decided_by"] == (
        "依规则 S5 (HB 20) 决定：数据提供部门逾期未答复，视为同意")
    assert said(data, "en")["decided_by"].startswith("Decided by rule S5 (HB 20): the provider")


def test_the_decision_letter_cites_the_rule_when_the_decider_wrote_no_basis() -> None:
    found = result_of({"outcome": "refused", "decided_by": "dept_civil", "decision_rule": "S4",
                       "decision_reason": "超出履职需要"}, TITLES)
    printed = letter("decision", number="GF000001", process_id="share_request",
                     process_name="政务数据共享申请", result=found, received_at=None,
                     decided_at=None)
    assert (printed.title_zh, printed.remedy) == ("不予共享告知书", "coordination")
    assert printed.result.legal_basis.startswith("S4")
    assert words(printed.result, "zh")["outcome"] == "不予同意"
