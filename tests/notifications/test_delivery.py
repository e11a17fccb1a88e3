"""Outbox delivery through real receivers: SMTP on loopback, a signed webhook, the bell."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cases.govflow import Govflow
from engine.notify import outbox
from engine.notify.outbox import RetryPolicy
from engine.time.clock import SHANGHAI
from govflow.cli import main
from notifications.channels import EmailChannel, InAppChannel, SmtpSettings, WebhookChannel
from notifications.dispatch import Dispatcher
from tests.notifications.servers import SmtpServer, WebhookReceiver, free_port

ROOT = Path(__file__).resolve().parents[2]
# HEALTH-BIRTH (出生医学证明) is conditional and provided by dept_health in the demo catalog.
REQUEST = {"dataset_id": "HEALTH-BIRTH", "data_items": ["姓名"], "requester_dept": "dept_civil",
           "purpose": "核对社会救助对象"}
POLICY = RetryPolicy(max_attempts=3)


def queue(gf: Govflow, recipient: str, channel: str, key: str = "k1") -> None:
    with gf.db.write() as conn:
        outbox.enqueue(conn, now=gf.now(), kind="reminder", recipient=recipient,
                       channel=channel, key=key, payload={
                           "case_number": "GF000001", "task_title": "审核共享申请",
                           "due": "2026-12-04 23:59", "rung": "due_soon", "overdue_days": 0})


def email_dispatcher(gf: Govflow, url: str) -> Dispatcher:
    return Dispatcher(gf, {"in_app": InAppChannel(gf.db),
                           "email": EmailChannel(gf.db, SmtpSettings.from_url(url), timeout=2)},
                      POLICY)


def test_a_reminder_reaches_the_mailbox_in_the_recipients_language(gf: Govflow, clock) -> None:
    gf.set_contact("alice", "alice@example.org", "en")
    gf.set_contact("amy", "amy@example.org", "zh")
    gf.start_case("share_request", REQUEST)
    clock.set(dt.datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI))  # a working day before due
    assert gf.send_due_reminders() == {"sent": 1}
    with SmtpServer() as smtp:
        result = email_dispatcher(gf, smtp.url).dispatch()
    # task assigned and receipt (in-app), the reminder in-app and by e-mail
    assert result.sent == 4 and not result.errors
    subjects = sorted(m["Subject"] for m in smtp.mailbox.messages)
    assert [m["To"] for m in sorted(smtp.mailbox.messages, key=lambda m: m["To"])] == [
        "alice@example.org", "amy@example.org"]
    assert any(s.startswith("Reminder:") for s in subjects)
    assert any(s.startswith("催办：") for s in subjects)
    assert gf.unread_count("alice") == 2  # task assigned, then the reminder


def test_a_batch_of_e_mails_goes_over_one_connection(gf: Govflow) -> None:
    gf.set_contact("alice", "alice@example.org")
    for n in range(5):
        queue(gf, "user:alice", "email", key=f"k{n}")
    with SmtpServer() as smtp:
        assert email_dispatcher(gf, smtp.url).dispatch().sent == 5
    assert len(smtp.mailbox.messages) == 5 and len(set(smtp.mailbox.peers)) == 1
    assert gf.outbox_counts()["sent"] == 5


def test_a_server_closing_the_connection_between_messages_is_dialled_again(
        gf: Govflow) -> None:
    gf.set_contact("alice", "alice@example.org")
    for n in range(3):
        queue(gf, "user:alice", "email", key=f"k{n}")
    with SmtpServer() as smtp:
        smtp.mailbox.hang_up_after_each = True
        result = email_dispatcher(gf, smtp.url).dispatch()
    assert (result.sent, result.errors) == (3, [])
    assert len(smtp.mailbox.messages) == 3 and len(set(smtp.mailbox.peers)) == 3


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_smtp_url_logs_in_with_its_user_and_password(gf: Govflow) -> None:
    gf.set_contact("alice", "alice@example.org")
    queue(gf, "user:alice", "email")
    with SmtpServer(login=("govflow", "s3cret")) as smtp:
        assert email_dispatcher(gf, smtp.url).dispatch().sent == 1
    assert smtp.logins == ["govflow"] and len(smtp.mailbox.messages) == 1


def test_smtp_down_retries_with_backoff_then_dead_letters_and_resend_delivers(
        gf: Govflow, clock) -> None:
    gf.set_contact("alice", "alice@example.org")
    queue(gf, "user:alice", "email")
    port = free_port()
    dispatcher = email_dispatcher(gf, f"smtp://127.0.0.1:{port}")
    assert dispatcher.dispatch().retried == 1
    [row] = gf.outbox_messages()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + dt.timedelta(minutes=1)
    assert "127.0.0.1" in row.last_error
    assert dispatcher.dispatch().sent == 0  # not due yet: the backoff holds
    clock.advance(minutes=1)
    assert dispatcher.dispatch().retried == 1
    assert gf.outbox_messages()[0].next_attempt_at == clock.now() + dt.timedelta(minutes=2)
    clock.advance(minutes=2)
    assert dispatcher.dispatch().dead == 1
    [dead] = gf.outbox_messages("dead")
    assert dead.attempts == 3 and dead.last_error
    clock.advance(hours=10)
    assert dispatcher.dispatch().sent == 0  # dead letters wait for an administrator
    out = CliRunner().invoke(main, ["outbox", "--status", "dead"],
                             env={"GOVFLOW_DATABASE_URL": str(gf.db.url)})
    assert out.exit_code == 0 and "dead" in out.output and "error:" in out.output
    with SmtpServer(port) as smtp:
        gf.resend_message(dead.id)
        assert dispatcher.dispatch().sent == 1
    assert len(smtp.mailbox.messages) == 1
    assert gf.outbox_messages()[0].status == "sent"


CRASH = textwrap.dedent("""
    import os, signal, sys
    from engine.time.clock import FrozenClock, parse_moment
    from engine.store.db import Database
    from engine.notify.outbox import RetryPolicy
    from engine.cases.govflow import Govflow
    from notifications.channels import EmailChannel, SmtpSettings
    from notifications.dispatch import Dispatcher

    class DiesAfterSending(EmailChannel):
        def send(self, message, now):
            sent = super().send(message, now)
            os.kill(os.getpid(), signal.SIGKILL)  # between the send and the mark
            return sent

    gf = Govflow(Database(sys.argv[1]), clock=FrozenClock(parse_moment(sys.argv[3])))
    channel = DiesAfterSending(gf.db, SmtpSettings.from_url(sys.argv[2]), timeout=2)
    Dispatcher(gf, {"email": channel}, RetryPolicy(max_attempts=3)).dispatch()
""")


def test_a_dispatcher_killed_between_send_and_mark_loses_nothing_and_counts_the_duplicate(
        gf: Govflow, clock, tmp_path: Path) -> None:
    gf.set_contact("alice", "alice@example.org")
    queue(gf, "user:alice", "email")
    script = tmp_path / "crash.py"
    script.write_text(CRASH, encoding="utf-8")
    with SmtpServer() as smtp:
        child = subprocess.run([sys.executable, str(script), str(gf.db.url), smtp.url,
                                clock.now().isoformat()], cwd=ROOT, env={**os.environ},
                               capture_output=True, timeout=60)
        assert child.returncode == -signal.SIGKILL
        assert len(smtp.mailbox.messages) == 1
        [row] = gf.outbox_messages()
        assert (row.status, row.attempts) == ("sending", 1)  # claimed, never marked
        dispatcher = email_dispatcher(gf, smtp.url)
        assert dispatcher.dispatch().sent == 0  # the dead dispatcher's lease still runs
        clock.advance(minutes=6)
        result = dispatcher.dispatch()
    assert (result.sent, result.duplicates) == (1, 1)
    [first, second] = smtp.mailbox.messages
    assert first["Message-ID"] == second["Message-ID"]  # the same message, sent twice
    [row] = gf.outbox_messages()
    assert (row.status, row.attempts, row.duplicates) == ("sent", 2, 1)
    out = CliRunner().invoke(main, ["outbox", "--json"],
                             env={"GOVFLOW_DATABASE_URL": str(gf.db.url)})
    assert json.loads(out.output)[0]["duplicates"] == 1


def test_webhook_is_signed_a_replay_is_rejected_and_a_resend_is_recognised(
        gf: Govflow, clock) -> None:
    secret = "s3cret"
    with WebhookReceiver(secret, lambda: clock.now().timestamp()) as hook:
        dispatcher = Dispatcher(gf, {"webhook": WebhookChannel(hook.url, secret, timeout=5)},
                                POLICY)
        queue(gf, "phone:13800000000", "webhook")
        assert dispatcher.dispatch().sent == 1
        [accepted] = hook.accepted
        assert accepted["recipient"] == "phone:13800000000"
        assert accepted["subject"].startswith("催办")
        headers, body = hook.requests[0]
        import urllib.error
        import urllib.request
        replay = urllib.request.Request(hook.url, data=body, method="POST", headers={
            k: headers[k] for k in ("X-Govflow-Timestamp", "X-Govflow-Signature",
                                    "Idempotency-Key")})
        try:
            urllib.request.urlopen(replay, timeout=5)
            raise AssertionError("the replay was accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 409
        forged = urllib.request.Request(hook.url, data=body.replace(b"GF000001", b"GF000002"),
                                        method="POST", headers={
            k: headers[k] for k in ("X-Govflow-Timestamp", "X-Govflow-Signature")})
        try:
            urllib.request.urlopen(forged, timeout=5)
            raise AssertionError("a changed body was accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        # An administrator resends: a fresh signature, the same key; the receiver drops it.
        clock.advance(minutes=1)
        [row] = gf.outbox_messages()
        gf.resend_message(row.id)
        assert dispatcher.dispatch().sent == 1
        assert len(hook.accepted) == 1
        assert hook.rejected == ["replay", "bad signature"]
        # An old request is refused even with a valid signature.
        clock.advance(minutes=10)
        try:
            urllib.request.urlopen(urllib.request.Request(
                hook.url, data=hook.requests[-1][1], method="POST",
                headers={k: hook.requests[-1][0][k] for k in (
                    "X-Govflow-Timestamp", "X-Govflow-Signature")}), timeout=5)
            raise AssertionError("a stale request was accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401


def test_two_dispatchers_never_send_one_message_twice(gf: Govflow) -> None:
    for n in range(20):
        queue(gf, "group:dept_health", "in_app", key=f"k{n}")
    first, second = Dispatcher(gf, {"in_app": InAppChannel(gf.db)}, POLICY), \
        Dispatcher(gf, {"in_app": InAppChannel(gf.db)}, POLICY)
    with gf.db.write() as conn:
        taken = outbox.claim(conn, gf.now(), first.owner, POLICY, limit=10)
    assert len(taken) == 10
    assert second.dispatch().sent == 10  # only the other ten
    assert gf.outbox_counts()["sending"] == 10
    assert gf.unread_count("alice") == 10


def test_one_drain_sends_a_backlog_larger_than_a_batch(gf: Govflow) -> None:
    for n in range(250):
        queue(gf, "user:alice", "in_app", key=f"k{n}")
    dispatcher = Dispatcher(gf, {"in_app": InAppChannel(gf.db)}, POLICY)
    assert dispatcher.drain(budget=60).sent == 250
    assert gf.outbox_counts()["sent"] == 250 and gf.unread_count("alice") == 250
