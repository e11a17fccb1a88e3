"""A 会签 (every reviewer of three signs) driven by separate `govflow` processes: each
command restores the case from the database, as an operator's shell session does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.cases.govflow import Govflow
from engine.people import directory
from engine.time.clock import SystemClock

GOVFLOW = Path(sys.executable).with_name("govflow")
CORPUS = Path(__file__).resolve().parent.parent / "engine" / "corpus"
REVIEWERS = ("rita", "ravi", "rosa")


def test_a_parallel_review_by_three_reviewers_finishes_across_separate_commands(
        database_url: str) -> None:
    env = {**os.environ, "GOVFLOW_DATABASE_URL": database_url,
           "GOVFLOW_NOW": "2026-11-20T09:00:00+08:00"}

    def govflow(*args: str) -> str:
        done = subprocess.run([str(GOVFLOW), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    govflow("init")
    gf = Govflow.open(env["GOVFLOW_DATABASE_URL"], clock=SystemClock())
    with gf.db.write() as conn:
        for user in REVIEWERS:
            directory.add_group(conn, f"reviewer_{user}", f"Reviewer {user}")
            directory.add_user(conn, user, user.title(), password=None,
                               groups_=[f"reviewer_{user}"], now=gf.now())
    gf.db.dispose()
    assert "mi_parallel v1 (deployed)" in govflow("deploy", str(CORPUS / "mi_parallel.bpmn"))
    data = {"reviewers": [f"reviewer_{user}" for user in REVIEWERS]}
    case_id = govflow("start", "mi_parallel", "--data", json.dumps(data)).strip()

    env["GOVFLOW_NOW"] = "2026-11-20T10:00:00+08:00"
    for user, vote in zip(REVIEWERS, ("yes", "no", "yes"), strict=True):
        (task,) = json.loads(govflow("tasks", "--user", user, "--json"))["tasks"]
        assert task["element_id"] == "UserTask_vote"
        govflow("complete", task["id"], "--user", user, "--data", json.dumps({"vote": vote}))

    case = json.loads(govflow("case", case_id, "--json"))
    assert case["status"] == "completed"
    assert case["data"]["votes"] == ["yes", "no", "yes"] and case["data"]["approvals"] == 2
    completed = [e["actor"] for e in case["events"] if e["action"] == "task_completed"]
    assert completed == list(REVIEWERS)
