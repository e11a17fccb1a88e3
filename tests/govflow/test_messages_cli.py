"""The real `govflow` command, one process per step: messages, and multi-file deploys."""

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

GOVFLOW = str(Path(sys.executable).parent / "govflow")
BPMN = Path(__file__).parents[1] / "engine" / "bpmn"


@pytest.fixture
def govflow(database_url: str):
    url = database_url
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_NOW": "2026-11-20T09:00:00+08:00"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([GOVFLOW, *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done

    gf = Govflow.open(url, clock=SystemClock())
    gf.init_schema()
    with gf.db.write() as conn:
        directory.add_group(conn, "dept_health", "卫生健康委")
        directory.add_user(conn, "alice", "Alice", password=None, groups_=["dept_health"],
                           now=gf.now())
    gf.db.dispose()
    return run


def test_a_message_on_the_command_line_wakes_the_case_its_correlation_names(govflow) -> None:
    deployed = govflow("deploy", str(BPMN / "msg_receiver.bpmn"), str(BPMN / "msg_start.bpmn"))
    assert deployed.stdout.split("\n")[:2] == ["msg_receiver v1 (deployed)",
                                               "msg_start v1 (deployed)"]
    for number in ("R-1", "R-2"):
        govflow("start", "msg_receiver", "--data", json.dumps({"request_no": number}))
    sent = govflow("message", "answer", "--data", '{"decision": "granted"}',
                   "--correlation", "request_no=R-2", "--user", "carl")
    assert sent.stdout.strip() == "delivered to case 2 at Receive_answer; the case is completed"
    assert json.loads(govflow("case", "1", "--json").stdout)["status"] == "running"
    assert json.loads(govflow("case", "2", "--json").stdout)["data"]["outcome"] == "granted"
    missing = govflow("message", "answer", "--correlation", "request_no=R-9", ok=False)
    assert missing.stdout == "" and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("error: no running case waits for message 'answer'")
    started = govflow("message", "report_filed", "--data", '{"reporter": "市民"}', "--json")
    assert json.loads(started.stdout)["started"] is True


def test_a_call_activity_deployed_together_runs_one_command_per_step(govflow) -> None:
    refused = govflow("deploy", str(BPMN / "call_parent.bpmn"), ok=False)
    assert "element Call_child" in refused.stderr and "call_child" in refused.stderr
    govflow("deploy", str(BPMN / "call_parent.bpmn"), str(BPMN / "call_child.bpmn"))
    case = govflow("start", "call_parent", "--data", "{}").stdout.strip()
    for expected in ("Task_child_review", "Task_confirm"):
        shown = json.loads(govflow("case", case, "--json").stdout)
        [task] = [t for t in shown["tasks"] if t["state"] == "open"]
        assert task["element_id"] == expected
        govflow("complete", task["id"], "--user", "alice", "--data", "{}")
    final = json.loads(govflow("case", case, "--json").stdout)
    assert final["status"] == "completed" and final["data"]["child_version"] == "v1"
