"""The real `govflow` command in a subprocess: the catalog, routing and the receipt time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from govflow.demo import seed_catalog, seed_directory

GOVFLOW = Path(sys.executable).parent / "govflow"
REQUEST = {"requester_dept": "dept_civil", "dataset_id": "HEALTH-BIRTH",
           "data_items": ["姓名", "出生日期"], "purpose": "核对社会救助对象"}


@pytest.fixture(scope="module")
def govflow(module_database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "GOVFLOW_DATABASE_URL": module_database_url,
           "GOVFLOW_NOW": "2026-11-20T09:00:00+08:00"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(GOVFLOW), *args], env=env, cwd=folder, text=True,
                              capture_output=True, timeout=120)
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done

    run("init")
    # The demo's directory and catalog, without its password hashing and cases.
    gf = Govflow.open(env["GOVFLOW_DATABASE_URL"])
    seed_directory(gf, passwords=False)
    seed_catalog(gf)
    gf.db.dispose()
    run.folder = folder
    return run


def catalog(govflow) -> list[dict]:
    return json.loads(govflow("catalog", "list", "--json").stdout)


def test_S1_the_demo_catalog_has_every_share_and_open_class(govflow) -> None:
    found = catalog(govflow)
    assert {d["share_class"] for d in found} == {"unconditional", "conditional", "not_shared"}
    assert {d["open_class"] for d in found} == {"open_unconditional", "open_conditional",
                                                "not_open"}
    listed = govflow("catalog", "list", "--search", "出生").stdout
    assert "HEALTH-BIRTH" in listed and "HEALTH-DEATH" not in listed


def test_S2_a_malformed_import_names_row_and_field_and_changes_nothing(govflow) -> None:
    before = catalog(govflow)
    bad = govflow.folder / "bad.csv"
    bad.write_text("id,name,provider_dept,share_class,open_class,data_items,restriction_basis\n"
                   "CIVIL-MARRIAGE,婚姻登记信息,dept_civil,有条件共享,不予开放,姓名|身份证号,"
                   "《婚姻登记条例》第十条\n"
                   "CIVIL-ADOPTION,收养登记信息,legal_review,有条件共享,不予开放,姓名,"
                   "《收养登记办法》第十五条\n", encoding="utf-8")
    refused = govflow("catalog", "import", str(bad), "--user", "dora", ok=False)
    assert refused.stderr.startswith("error: row 3, field provider_dept:")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert catalog(govflow) == before
    denied = govflow("catalog", "import", str(bad), "--user", "carl", ok=False)
    assert "data authority" in denied.stderr
    good = govflow.folder / "good.csv"
    good.write_text("\n".join(bad.read_text(encoding="utf-8").splitlines()[:2]) + "\n",
                    encoding="utf-8")
    assert govflow("catalog", "import", str(good), "--user", "dora").stdout.startswith(
        "catalog version 2: 1 dataset(s) changed")
    assert "catalog unchanged" in govflow("catalog", "import", str(good), "--user", "dora").stdout


def test_S1_declared_classes_and_providers_are_refused_and_nothing_is_started(govflow) -> None:
    def open_for_alice() -> int:
        return json.loads(govflow("tasks", "--user", "alice", "--json").stdout)["total"]

    before = open_for_alice()
    for extra in ({"share_class": "unconditional"}, {"provider_dept": "dept_civil"},
                  {"received_at": "2026-10-01T09:00:00+08:00"}):
        refused = govflow("start", "share_request", "--data", json.dumps({**REQUEST, **extra}),
                          "--user", "carl", ok=False)
        assert refused.stderr.startswith("error: ") and next(iter(extra)) in refused.stderr
    assert open_for_alice() == before
    started = govflow("start", "share_request", "--data", json.dumps(REQUEST), "--user", "carl")
    case = json.loads(govflow("case", started.stdout.strip(), "--json").stdout)
    assert (case["data"]["provider_dept"], case["data"]["share_class"]) == (
        "dept_health", "conditional")
    assert open_for_alice() == before + 1


def test_S3_only_an_administrator_records_another_receipt_time_with_a_reason(govflow) -> None:
    args = ("start", "share_request", "--data", json.dumps(REQUEST),
            "--received-at", "2026-11-16T15:00:00+08:00")
    assert "administrator" in govflow(*args, "--user", "carl", "--received-reason",
                                      "纸质来函于11月16日收到", ok=False).stderr
    assert "reason" in govflow(*args, "--user", "root", ok=False).stderr
    case_id = govflow(*args, "--user", "root", "--received-reason",
                      "纸质来函于11月16日收到").stdout.strip()
    case = json.loads(govflow("case", case_id, "--json").stdout)
    assert case["data"]["received_at"] == "2026-11-16T15:00:00+08:00"
    assert [e["details"]["reason"] for e in case["events"]
            if e["action"] == "receipt_time_recorded"] == ["纸质来函于11月16日收到"]
