"""GOVFLOW_LOG_FORMAT=json: one JSON object per log line, from the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.cases.govflow import Govflow
from engine.store.auditkey import key_file

GOVFLOW = str(Path(sys.executable).parent / "govflow")


def test_the_scheduler_logs_json_lines_when_asked(gf: Govflow, tmp_path: Path) -> None:
    gf.start_case("share_request", {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
                                     "data_items": ["姓名"]}, user="carl")
    env = {**os.environ, "GOVFLOW_DATABASE_URL": gf.db.url, "GOVFLOW_LOG_FORMAT": "json",
           "GOVFLOW_AUDIT_KEY_FILE": str(key_file().resolve()), "GOVFLOW_PROFILE": "hubei",
           "GOVFLOW_NOW": "2026-12-05T00:00:00+08:00"}  # the Hubei answer limit has run out
    done = subprocess.run([GOVFLOW, "tick"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    fired = [e for e in lines if e["logger"] == "govflow.scheduler"]
    assert fired and fired[0]["level"] == "info"
    assert fired[0]["message"] == "fired 1 timers, 0 cases deferred"
    assert set(fired[0]) == {"at", "level", "logger", "message"}
    bad = subprocess.run([GOVFLOW, "tick"], env={**env, "GOVFLOW_LOG_FORMAT": "xml"},
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (bad.returncode, bad.stderr.strip()) == (
        1, "error: GOVFLOW_LOG_FORMAT must be text or json, not 'xml'")
