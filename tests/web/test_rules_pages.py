"""What the pages show of the rules: the O3 findings table and the jurisdiction profile."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.cases.govflow import Govflow
from engine.store.db import Database
from govflow.demo import seed_directory
from tests.workflows.conftest import complete, open_task
from web import create_app

NO_TRIGGERS = {"legal_question": False, "specialist_question": False, "state_secret": False,
               "trade_secret": False, "personal_privacy": False, "public_concern": False}


@pytest.fixture
def shipped(database_url, clock, tmp_path):
    gf = Govflow(Database(database_url), clock=clock)
    gf.init_schema()
    gf.deploy_directory()
    seed_directory(gf, passwords=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "GOVFLOW": gf,
                      "WTF_CSRF_ENABLED": False, "ATTACHMENTS_DIR": str(tmp_path / "f")})
    yield gf, app.test_client()
    gf.db.dispose()


def test_O3_the_decision_page_shows_review_conclusion_opinion_reviewer_and_date(
        shipped) -> None:
    wgf, client = shipped
    case = wgf.start_case("open_data_review", {
        "provider_dept": "dept_health", "dataset": "医疗机构执业信息", "open_basis": "other",
        **NO_TRIGGERS, "state_secret": True}, user="alice")
    case = complete(wgf, case, "UserTask_confidentiality_review", "sara", {
        "confidentiality_conclusion": "secret", "confidentiality_opinion": "含涉密<坐标>数据"})
    task = open_task(case, "UserTask_authority_decision")
    with client.session_transaction() as session:
        session["sid"] = client.application.extensions["desk"].open_session(
            "dora", dt.timedelta(hours=8))
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    table = html[html.index("审查结论"):]
    for cell in ("保密审查", "涉及国家秘密", "含涉密&lt;坐标&gt;数据", "sara", "2026-11-20 09:00",
                 "排除原样开放"):
        assert cell in table, cell
    assert "allowed_decisions" not in html and "{'review'" not in html
    assert 'value="refuse"' in html and 'value="approve"' not in html  # only what is left
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "适用规定" in page and "默认规则" in page
