"""`govflow backup` and `govflow restore`, run as the real command in a fresh process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cases.govflow import Govflow
from engine.store.auditkey import key_file

#: Backup and restore copy the embedded SQLite file; PostgreSQL has its own tools.
pytestmark = pytest.mark.backends("sqlite")

GOVFLOW = str(Path(sys.executable).parent / "govflow")
REQUEST = {"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil", "data_items": ["姓名"]}


@pytest.fixture
def run(gf: Govflow, tmp_path: Path):
    env = {**os.environ, "GOVFLOW_DATABASE_URL": gf.db.url,
           "GOVFLOW_AUDIT_KEY_FILE": str(key_file().resolve()),
           "GOVFLOW_NOW": "2026-11-20T09:00:00+08:00"}
    env.pop("GOVFLOW_AUDIT_KEY", None)

    def run_(*args: str, ok: bool = True) -> str:
        done = subprocess.run([GOVFLOW, *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return (done.stdout if ok else done.stderr).strip()

    return run_


def test_a_backup_taken_while_serving_restores_what_it_held(gf: Govflow, run, tmp_path) -> None:
    task = gf.start_case("share_request", REQUEST, user="carl").tasks[0]
    assert run("audit", "checkpoint") == "audit checkpoint 1 anchors 1 cases"
    saved = tmp_path / "saved.sqlite"
    assert run("backup", str(saved)) == f"backup written to {saved}"
    gf.claim_task(task.id, "alice")  # after the backup: the restore undoes it
    gf.start_case("share_request", REQUEST, user="carl")
    run("audit", "checkpoint")
    gf.db.dispose()

    restored = run("restore", str(saved))
    assert restored.startswith(f"restored {saved} (schema ")
    assert "the previous audit checkpoint log is now" in restored
    assert gf.get_task(task.id).assignee is None
    assert [c for c in (1, 2) if _exists(gf, c)] == [1]
    assert run("audit", "verify") == "audit trail intact"
    refused = run("backup", str(saved), ok=False)
    assert refused == f"error: {saved} already exists; choose a new file"


def test_restore_refuses_what_is_not_a_known_govflow_database(gf: Govflow, run,
                                                              tmp_path) -> None:
    case = gf.start_case("share_request", REQUEST, user="carl")
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    future = tmp_path / "future.sqlite"
    run("backup", str(future))
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    assert run("restore", str(text), ok=False).startswith(
        f"error: {text} is not a govflow database (")
    assert run("restore", str(other), ok=False) == f"error: {other} is not a govflow database"
    assert run("restore", str(future), ok=False) == (
        f"error: {future} has schema revision 9999, which this govflow does not know")
    assert run("restore", str(tmp_path / "missing.sqlite"), ok=False) == (
        f"error: {tmp_path / 'missing.sqlite'} is not a file")
    assert gf.get_case(case.id).status == "running"  # the live database is untouched


def _exists(gf: Govflow, case_id: int) -> bool:
    from engine.errors import CaseNotFound

    try:
        gf.get_case(case_id)
    except CaseNotFound:
        return False
    return True


def test_audit_verify_on_the_command_line_names_a_deleted_case(gf: Govflow, run) -> None:
    from tests.engine.test_audit_chain import delete_case

    kept = gf.start_case("share_request", REQUEST, user="carl")
    gone = gf.start_case("share_request", REQUEST, user="carl")
    assert run("audit", "checkpoint") == "audit checkpoint 1 anchors 2 cases"
    delete_case(gf, gone.id)  # with every row that names it or its tasks
    assert run("audit", "verify", ok=False) == (
        f"error: audit trail altered: case {gone.id} was deleted (checkpoint 1 anchored its "
        f"event {len(gone.events)})")
    assert kept.id != gone.id


def test_a_backup_in_a_folder_named_with_uri_characters_is_checked_where_it_is(
        gf: Govflow, run, tmp_path) -> None:
    gf.start_case("share_request", REQUEST)
    folder = tmp_path / "2026#11?copy"
    folder.mkdir()
    saved = folder / "saved.sqlite"
    run("backup", str(saved))
    from engine.store.backup import check_backup
    assert check_backup(saved)   # its schema revision, read without writing
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("2026")) == [
        "2026#11?copy"]   # no stray database made at "2026"
