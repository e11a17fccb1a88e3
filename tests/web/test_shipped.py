"""The pages work with whatever models workflows/ ships: every start form and task form."""

from __future__ import annotations

import json

import pytest

from engine.cases.govflow import WORKFLOWS, Govflow
from engine.store.db import Database
from govflow.demo import seed_catalog, seed_directory
from tests.web.conftest import AuthActions
from web import create_app, formkit


def shipped_engine(database_url, clock) -> Govflow:
    """The shipped models, the demo directory and the demo catalog."""
    gf = Govflow(Database(database_url), clock=clock)
    gf.init_schema()
    gf.deploy_directory()
    seed_directory(gf, passwords=False)
    seed_catalog(gf)
    return gf


def app_for(gf: Govflow, tmp_path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "t", "GOVFLOW": gf,
                       "WTF_CSRF_ENABLED": False, "ATTACHMENTS_DIR": str(tmp_path / "f"),
                       **config})


@pytest.fixture
def shipped(database_url, clock, tmp_path):
    gf = shipped_engine(database_url, clock)
    yield gf, app_for(gf, tmp_path)
    gf.db.dispose()


def test_every_shipped_start_form_is_offered_and_renders(shipped) -> None:
    gf, app = shipped
    client = app.test_client()
    AuthActions(client).login("carl")
    processes = app.extensions["desk"].processes()
    assert processes, "no process deployed"
    for info in processes:
        if info.start_form is None:
            continue
        url = (f"/portal/apply/{info.process_id}" if "public" in info.starters
               else f"/cases/new/{info.process_id}")
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'class="field' in page.get_data(as_text=True), url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_shipped_form_renders_as_fields(lang) -> None:
    for path in sorted((WORKFLOWS / "forms").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        fields = formkit.fields(schema, lang)
        assert fields or not schema.get("properties"), path.name
        assert all(f.label for f in fields), path.name
