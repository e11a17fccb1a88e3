"""The instance folder may be named with any character a folder can have."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOVFLOW = str(Path(sys.executable).parent / "govflow")

#: The default database is a SQLite file in the instance folder.
pytestmark = pytest.mark.backends("sqlite")


@pytest.mark.parametrize("name", ["审核?版本", "cases#2026", "50% done"])
def test_the_database_is_made_in_an_instance_folder_of_any_name(tmp_path: Path,
                                                               name: str) -> None:
    instance = tmp_path / name
    env = {k: v for k, v in os.environ.items() if k != "GOVFLOW_DATABASE_URL"}
    env.update(GOVFLOW_INSTANCE=str(instance), GOVFLOW_NOW="2026-11-20T09:00:00+08:00")

    def govflow(*args: str) -> str:
        done = subprocess.run([GOVFLOW, *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    govflow("init")
    assert (instance / "govflow.sqlite").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]   # nothing made beside it
    govflow("group", "add", "dept_x", "--title", "Department X")
    assert "dept_x" in govflow("group", "list")
