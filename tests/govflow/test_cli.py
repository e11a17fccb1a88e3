"""The `govflow` command, black-box: exit codes, one-line errors, --json and GOVFLOW_NOW."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cases.govflow import Govflow
from engine.time.clock import SystemClock
from govflow.cli import main
from govflow.demo import seed_directory
from tests.conftest import DEMO_CATALOG

REQUEST = json.dumps({"dataset_id": "HEALTH-BIRTH", "requester_dept": "dept_civil",
                      "data_items": ["姓名"]})


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):
    url = database_url
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", url)
    monkeypatch.setenv("GOVFLOW_NOW", "2026-11-20T09:00:00+08:00")
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    assert "share_request v1 (deployed)" in run("init").output
    gf = Govflow.open(url, clock=SystemClock())
    seed_directory(gf, passwords=False)
    gf.db.dispose()
    assert "catalog version 1" in run("catalog", "import", str(DEMO_CATALOG),
                                      "--user", "dora").output
    return run


def test_a_share_request_goes_from_start_to_completion_on_the_command_line(cli) -> None:
    case_id = cli("start", "share_request", "--data", REQUEST, "--user", "carl").output.strip()
    assert case_id == "1"
    listing = cli("tasks", "--user", "alice", "--json").output
    task = json.loads(listing)["tasks"][0]
    assert task["due_at"] == "2026-12-04T15:59:59+00:00"
    assert "claimed by alice" in cli("claim", task["id"], "--user", "alice").output
    done = cli("complete", task["id"], "--user", "alice", "--data", '{"decision": "approve"}')
    assert "case 1 is completed" in done.output
    shown = json.loads(cli("case", "1", "--json").output)
    assert shown["data"]["outcome"] == "granted"
    assert [(e["action"], e["rule"]) for e in shown["events"]] == [
        ("case_started", None), ("system_decision", "S9"), ("task_claimed", None),
        ("task_completed", "S2,S3,S4"), ("system_decision", "S11"), ("case_completed", None)]
    assert cli("audit", "verify").output.strip() == "audit trail intact"


def test_govflow_now_moves_time_for_tick(cli, monkeypatch) -> None:
    monkeypatch.setenv("GOVFLOW_PROFILE", "hubei")  # S5: silence approves in Hubei only
    cli("start", "share_request", "--data", REQUEST)
    assert "fired 0 timer(s)" in cli("tick").output
    monkeypatch.setenv("GOVFLOW_NOW", "2026-12-05T00:00:00+08:00")
    assert "fired 1 timer(s)" in cli("tick").output
    text = cli("case", "1").output
    assert "completed" in text.splitlines()[0] and "timer_fired" in text and "[S5]" in text


def test_errors_are_one_line_with_a_non_zero_exit(cli) -> None:
    missing = cli("case", "42", ok=False)
    assert missing.output.strip() == "error: case 42 does not exist"
    assert json.loads(cli("case", "42", "--json", ok=False).output)["error"]["code"] == (
        "case_not_found")
    bad_json = cli("start", "share_request", "--data", "{oops", ok=False)
    assert bad_json.output.startswith("error: --data is not valid JSON")
    cli("start", "share_request", "--data", REQUEST)
    task = json.loads(cli("tasks", "--user", "alice", "--json").output)["tasks"][0]["id"]
    refused = cli("complete", task, "--user", "alice", "--data", '{"decision": "refuse"}',
                  ok=False)
    assert refused.output.count("\n") == 1 and "decision_reason" in refused.output


def test_the_calendar_explains_and_takes_a_new_year(cli, tmp_path: Path) -> None:
    why = cli("calendar", "explain", "2026-09-28", "10", "--lang", "en").output
    assert "due 2026-10-16" in why and "National Day" in why
    provisional = json.loads(cli("calendar", "explain", "2026-12-28", "10", "--json").output)
    assert provisional["provisional"] is True and provisional["uncovered_years"] == [2027]
    year = tmp_path / "2027.json"
    year.write_text(json.dumps({"year": 2027, "holidays": {"2027-01-01": "元旦"},
                                "workdays": {}}), encoding="utf-8")
    assert "calendar 2027 entered" in cli("calendar", "add-year", str(year)).output
    settled = json.loads(cli("calendar", "explain", "2026-12-28", "10", "--json").output)
    assert settled["provisional"] is False and settled["due"].startswith("2027-01-12")
    broken = tmp_path / "broken.json"
    broken.write_text('{"year": 2027, "holidays": {"2027-13-01": "x"}}', encoding="utf-8")
    assert cli("calendar", "add-year", str(broken), ok=False).output.startswith("error:")


def test_deploy_reports_versions_and_refuses_broken_files(cli, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "workflows" / "share_request.bpmn"
    assert "v1 (unchanged)" in cli("deploy", str(source)).output
    broken = tmp_path / "share_request.bpmn"
    broken.write_bytes(source.read_bytes()[:-40])
    refused = cli("deploy", str(broken), ok=False).output
    assert refused.startswith("error: share_request.bpmn") and "line" in refused
