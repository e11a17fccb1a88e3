"""The approval operations through the real `govflow` command: every step a separate
process that restores the case from the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from engine.people import directory
from engine.time.clock import SystemClock

GOVFLOW = Path(sys.executable).with_name("govflow")
MODELS = Path(__file__).resolve().parent.parent / "engine" / "approvals"
SIGNERS = {"reviewer_rita": "rita", "reviewer_ravi": "ravi", "reviewer_rosa": "rosa"}


@pytest.fixture(scope="module")
def govflow(module_database_url):
    env = {**os.environ, "GOVFLOW_DATABASE_URL": module_database_url,
           "GOVFLOW_NOW": "2026-11-20T09:00:00+08:00"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(GOVFLOW), *args], env=env, text=True, capture_output=True,
                              timeout=120, check=False)
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done

    run("init")
    gf = Govflow.open(env["GOVFLOW_DATABASE_URL"], clock=SystemClock())
    with gf.db.write() as conn:
        for name, title in (("dept_health", "卫生健康委"), ("dept_civil", "民政厅"),
                            ("data_authority", "数据主管部门")):
            directory.add_group(conn, name, title)
        for user, groups in {"alice": ["dept_health"], "carl": ["dept_civil"],
                             "dora": ["data_authority"]}.items():
            directory.add_user(conn, user, user.title(), password=None, groups_=groups,
                               now=gf.now())
        for group, user in SIGNERS.items():
            directory.add_group(conn, group, group, "role")
            directory.add_user(conn, user, user.title(), password=None, groups_=[group],
                               now=gf.now())
    gf.db.dispose()
    run("deploy", str(MODELS))
    return run


def as_json(govflow, *args: str) -> dict:
    return json.loads(govflow(*args, "--json").stdout)


def open_tasks(case: dict, element: str) -> list[dict]:
    return [t for t in case["tasks"] if t["element_id"] == element and t["state"] == "open"]


def test_countersign_two_of_three_reviewers_across_separate_commands(govflow) -> None:
    case = as_json(govflow, "start", "countersign_2", "--data",
                   json.dumps({"signers": sorted(SIGNERS)}))
    instances = open_tasks(case, "UserTask_sign")
    assert sorted(t["candidate_groups"][0] for t in instances) == sorted(SIGNERS)
    for task in instances[:2]:
        user = SIGNERS[task["candidate_groups"][0]]
        govflow("complete", task["id"], "--user", user, "--data", '{"opinion": "同意"}')
    case = as_json(govflow, "case", str(case["id"]))
    states = sorted(t["state"] for t in case["tasks"] if t["element_id"] == "UserTask_sign")
    assert states == ["cancelled", "completed", "completed"]
    assert open_tasks(case, "UserTask_after") and case["data"]["opinions"]


def test_return_delegate_and_withdraw_by_command(govflow) -> None:
    case = as_json(govflow, "start", "two_reviews", "--user", "carl", "--data",
                   '{"requester_dept": "dept_civil"}')
    first = open_tasks(case, "UserTask_first")[0]
    govflow("claim", first["id"], "--user", "alice")
    out = govflow("delegate", first["id"], "--to", "carl", "--user", "alice",
                  "--reason", "请核对").stdout
    assert out.strip() == f"task {first['id']} delegated to carl"
    refused = govflow("complete", first["id"], "--user", "carl", ok=False)
    assert refused.stdout == "" and refused.stderr.startswith("error: ")
    assert len(refused.stderr.strip().splitlines()) == 1 and "delegated" in refused.stderr
    govflow("resolve", first["id"], "--user", "carl", "--note", "已核对")
    govflow("complete", first["id"], "--user", "alice")
    case = as_json(govflow, "case", str(case["id"]))
    second = open_tasks(case, "UserTask_second")[0]
    back = as_json(govflow, "return", second["id"], "--to", "UserTask_first", "--user", "dora",
                   "--reason", "材料不全")
    assert open_tasks(back, "UserTask_first")[0]["candidate_groups"] == ["dept_health"]
    bad = govflow("return", second["id"], "--to", "UserTask_first", "--user", "dora",
                  "--reason", "again", ok=False)
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stderr.startswith("error: ")
    refused = govflow("withdraw", str(case["id"]), "--user", "dora", "--reason", "x", ok=False)
    assert "only the applicant" in refused.stderr
    out = govflow("withdraw", str(case["id"]), "--user", "carl", "--reason", "不再需要").stdout
    assert out.strip() == f"case {case['id']} is withdrawn"
    shown = govflow("case", str(case["id"])).stdout
    assert "case_withdrawn" in shown and "task_returned" in shown and "task_delegated" in shown


def test_copy_by_command(govflow) -> None:
    case = as_json(govflow, "start", "two_reviews", "--user", "carl", "--data",
                   '{"requester_dept": "dept_civil"}')
    out = govflow("copy", str(case["id"]), "--to", "user:dora", "--to", "group:reviewer_rita",
                  "--user", "carl", "--note", "请知悉").stdout
    assert out.strip() == f"case {case['id']} copied to group:reviewer_rita, user:dora"
    listed = as_json(govflow, "copies", "--user", "rita")
    assert [c["case_id"] for c in listed] == [case["id"]]
    bad = govflow("copy", str(case["id"]), "--to", "dora", "--user", "carl", ok=False)
    assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
