"""`govflow user|group|member`, run as the real command in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store.auditkey import ensure_key

GOVFLOW = Path(sys.executable).with_name("govflow")


def runner(database_url: str):
    env = {**os.environ, "GOVFLOW_DATABASE_URL": database_url,
           "GOVFLOW_NOW": "2026-11-29T09:00:00+08:00"}
    env.pop("GOVFLOW_PASSWORD", None)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(GOVFLOW), *args], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done

    return run


@pytest.fixture
def govflow(database_url: str):
    ensure_key()  # what `govflow init` adds to the migrated database these commands need
    return runner(database_url)


def test_users_groups_and_members_are_managed_from_the_shell(govflow) -> None:
    assert govflow("group", "add", "dept_stats", "--title", "统计局").stdout.strip() == \
        "group dept_stats added"
    added = json.loads(govflow("user", "add", "bob", "--name", "鲍勃", "--group", "dept_stats",
                               "--password", "correct horse", "--json").stdout)
    assert (added["username"], added["groups"], added["is_active"]) == (
        "bob", ["dept_stats"], True)
    govflow("group", "add", "hearing", "--title", "听证", "--kind", "role", "--supervisor", "bob")
    govflow("member", "add", "bob", "hearing")
    groups = {g["name"]: g for g in json.loads(govflow("group", "list", "--json").stdout)}
    assert groups["hearing"]["supervisor"] == "bob" and groups["hearing"]["members"] == ["bob"]
    govflow("member", "remove", "bob", "dept_stats")
    govflow("user", "passwd", "bob", "--password", "battery staple")
    assert govflow("user", "deactivate", "bob").stdout.strip() == "user bob deactivated"
    [bob] = json.loads(govflow("user", "list", "--json").stdout)
    assert (bob["is_active"], bob["groups"]) == (False, ["hearing"])
    assert "bob  鲍勃  deactivated  hearing" in govflow("user", "list").stdout


BAD = [
    (("user", "add", "Bob!", "--name", "B", "--password", "correct horse"), "user name"),
    (("user", "add", "bob", "--name", "B"), "--password or GOVFLOW_PASSWORD"),
    (("user", "add", "bob", "--name", "B", "--password", "short"), "at least 10"),
    (("user", "add", "bob", "--name", "B", "--password", "correct horse", "--group", "x"),
     "no group 'x'"),
    (("user", "deactivate", "nobody"), "no user 'nobody'"),
    (("user", "passwd", "nobody", "--password", "correct horse"), "no user 'nobody'"),
    (("group", "add", "g", "--title", " "), "title"),
    (("group", "add", "g", "--title", "G", "--supervisor", "nobody"), "no user 'nobody'"),
    (("member", "add", "nobody", "g"), "no user 'nobody'"),
    (("member", "remove", "nobody", "g"), "no user 'nobody'"),
]


def test_bad_input_gets_one_error_line_and_changes_nothing(govflow) -> None:
    for args, message in BAD:
        failed = govflow(*args, ok=False)
        assert failed.returncode == 1 and failed.stdout == "", args
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], args
    for args, message in BAD[3:5]:
        assert message in json.loads(govflow(*args, "--json", ok=False).stdout)[
            "error"]["message"]
    assert json.loads(govflow("user", "list", "--json").stdout) == []
    assert "g" not in {g["name"] for g in json.loads(govflow("group", "list", "--json").stdout)}
