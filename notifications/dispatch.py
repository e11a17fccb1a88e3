"""Deliver the outbox: claim due messages under a lease, send, mark; retry with backoff.

Settings come from the environment:
    GOVFLOW_SMTP_URL         smtp://user:pass@host:587?starttls=1 (unset: e-mail is logged)
    GOVFLOW_MAIL_FROM        the From address
    GOVFLOW_WEBHOOK_URL      where webhooks are POSTed (unset: they are logged)
    GOVFLOW_WEBHOOK_SECRET   the HMAC-SHA256 key the receiver shares
    GOVFLOW_OUTBOX_MAX_ATTEMPTS  attempts before a message is dead-lettered (default 5)
    GOVFLOW_NOTIFY_LOG       the file unconfigured channels write to (instance/notify.log)

The send happens between two commits: the claim (status `sending`, lease running)
and the mark. A dispatcher killed in between leaves the row `sending`; once the lease
expires another dispatcher sends it again, and a channel that cannot recognise the
resend counts it in `duplicates`, shown by `govflow outbox` and the admin page.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from engine.cases.govflow import Govflow
from engine.notify import outbox
from engine.notify.outbox import OutboxMessage, RetryPolicy

from .channels import (
    Channel,
    DeliveryError,
    EmailChannel,
    InAppChannel,
    LogChannel,
    SmtpSettings,
    WebhookChannel,
)

log = logging.getLogger("govflow.notifications")


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def channels_from_env(gf: Govflow, env: dict[str, str] | None = None) -> dict[str, Channel]:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("GOVFLOW_INSTANCE", "instance"))
    log_path = Path(env.get("GOVFLOW_NOTIFY_LOG") or instance / "notify.log")
    found: dict[str, Channel] = {"in_app": InAppChannel(gf.db)}
    smtp = env.get("GOVFLOW_SMTP_URL")
    found["email"] = (EmailChannel(gf.db, SmtpSettings.from_url(smtp, env.get("GOVFLOW_MAIL_FROM")))
                      if smtp else LogChannel("email", log_path, gf.db))
    hook = env.get("GOVFLOW_WEBHOOK_URL")
    found["webhook"] = (WebhookChannel(hook, env.get("GOVFLOW_WEBHOOK_SECRET", ""))
                        if hook else LogChannel("webhook", log_path, gf.db))
    return found


def policy_from_env(env: dict[str, str] | None = None) -> RetryPolicy:
    env = dict(os.environ if env is None else env)
    return RetryPolicy(max_attempts=int(env.get("GOVFLOW_OUTBOX_MAX_ATTEMPTS", "5")))


class Dispatcher:
    def __init__(self, gf: Govflow, channels: dict[str, Channel] | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.gf = gf
        self.channels = channels if channels is not None else channels_from_env(gf)
        self.policy = policy or policy_from_env()
        self.owner = uuid.uuid4().hex

    def dispatch(self, limit: int = 100) -> DispatchResult:
        """Send every due message once (one batch of `limit`)."""
        result = DispatchResult()
        with self.gf.db.write() as conn:
            claimed = outbox.claim(conn, self.gf.now(), self.owner, self.policy, limit)
        for message in claimed:
            self._deliver(message, result)
        return result

    def drain(self, budget: float, limit: int = 100) -> DispatchResult:
        """Dispatch batch after batch while a batch comes back full, for at most `budget`
        seconds, so a backlog (after an outage, a 09:00 of reminders) goes out at once."""
        started, total = time.monotonic(), DispatchResult()
        while True:
            result = self.dispatch(limit)
            total.sent += result.sent
            total.retried += result.retried
            total.dead += result.dead
            total.duplicates += result.duplicates
            total.errors += result.errors
            handled = result.sent + result.retried + result.dead
            if handled < limit or time.monotonic() - started >= budget:
                return total

    def _deliver(self, message: OutboxMessage, result: DispatchResult) -> None:
        channel = self.channels.get(message.channel)
        try:
            if channel is None:
                raise DeliveryError(f"no channel named {message.channel!r} is configured")
            sent = channel.send(message, self.gf.now())
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the message
            if not isinstance(exc, DeliveryError):
                exc = DeliveryError(f"{exc.__class__.__name__}: {exc}")
            with self.gf.db.write() as conn:
                status = outbox.mark_failed(conn, message, self.owner, self.gf.now(), str(exc),
                                            self.policy)
            result.dead += status == "dead"
            result.retried += status != "dead"
            result.errors.append(f"#{message.id}: {exc}")
            log.warning("outbox #%d (%s to %s) failed: %s", message.id, message.channel,
                        message.recipient, exc)
            return
        duplicate = message.in_doubt and not (channel.dedupes or sent.duplicate_prevented)
        with self.gf.db.write() as conn:
            outbox.mark_sent(conn, message, self.owner, self.gf.now(), duplicate=duplicate)
        result.sent += 1
        result.duplicates += duplicate
