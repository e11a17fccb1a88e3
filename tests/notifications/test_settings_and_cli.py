"""Channel settings from the environment, the outbox command and the reminder benchmark."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bench.reminders import main as bench_reminders
from govflow.cli import main
from notifications.channels import EmailChannel, LogChannel, SmtpSettings, WebhookChannel
from notifications.dispatch import channels_from_env


def test_the_smtp_url_carries_credentials_port_and_starttls() -> None:
    s = SmtpSettings.from_url("smtp://mail%40gov:p%3Ass@mail.example.gov.cn:587?starttls=1")
    assert (s.host, s.port, s.user, s.password, s.starttls, s.tls) == (
        "mail.example.gov.cn", 587, "mail@gov", "p:ss", True, False)
    assert SmtpSettings.from_url("smtps://relay").port == 465
    with pytest.raises(ValueError, match="smtp://"):
        SmtpSettings.from_url("http://relay")


def test_unconfigured_channels_write_to_a_local_log(gf, tmp_path) -> None:
    found = channels_from_env(gf, {"GOVFLOW_NOTIFY_LOG": str(tmp_path / "n.log")})
    assert isinstance(found["email"], LogChannel) and isinstance(found["webhook"], LogChannel)
    found = channels_from_env(gf, {"GOVFLOW_SMTP_URL": "smtp://127.0.0.1:2525",
                                   "GOVFLOW_WEBHOOK_URL": "http://127.0.0.1:9/h",
                                   "GOVFLOW_WEBHOOK_SECRET": "k"})
    assert isinstance(found["email"], EmailChannel)
    assert isinstance(found["webhook"], WebhookChannel)
    with pytest.raises(ValueError, match="SECRET"):
        channels_from_env(gf, {"GOVFLOW_WEBHOOK_URL": "http://127.0.0.1:9/h"})


def test_the_outbox_command_lists_and_rejects_a_bad_status(gf) -> None:
    gf.start_case("share_request", {"dataset_id": "HEALTH-BIRTH", "data_items": ["姓名"],
                                    "requester_dept": "dept_civil"})
    env = {"GOVFLOW_DATABASE_URL": str(gf.db.url)}
    listed = json.loads(CliRunner().invoke(main, ["outbox", "--json"], env=env).output)
    assert {(m["kind"], m["channel"], m["status"], m["attempts"]) for m in listed} == {
        ("task_assigned", "in_app", "pending", 0), ("party_receipt", "in_app", "pending", 0)}
    bad = CliRunner().invoke(main, ["outbox", "--status", "lost"], env=env)
    assert bad.exit_code == 1 and bad.output.startswith("error:") and "lost" in bad.output
    missing = CliRunner().invoke(main, ["outbox", "--resend", "999"], env=env)
    assert missing.exit_code == 1 and missing.output.startswith("error:")


def test_the_reminder_benchmark_reports_sweep_times(tmp_path, capsys) -> None:
    bench_reminders(["--open", "600", "--limit", "50", "--out", str(tmp_path), "--json"])
    figures = json.loads(capsys.readouterr().out.split("\ntarget")[0])
    assert figures["open_tasks"] == 600 and figures["rungs_fired"] > 50
    assert figures["sweeps"] >= 2 and 0 < figures["sweep_ms_median"] <= figures["sweep_ms_max"]
