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

A batch is claimed in one transaction; each channel then sends its share of it in one
go (one SMTP connection, one transaction for the bells) and the share is marked in one
transaction, so a message costs no transaction of its own.
"""

from __future__ import annotations

import contextlib
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
        by_channel: dict[str, list[OutboxMessage]] = {}
        for message in claimed:
            by_channel.setdefault(message.channel, []).append(message)
        for name, messages in by_channel.items():
            self._deliver(name, messages, result)
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

    def _deliver(self, name: str, messages: list[OutboxMessage], result: DispatchResult) -> None:
        """Send one channel's share of a batch, then mark it sent or failed in one transaction."""
        channel = self.channels.get(name)
        sent: list[tuple[OutboxMessage, bool]] = []  # with: is it a possible duplicate?
        failed: list[tuple[OutboxMessage, DeliveryError]] = []
        try:
            if channel is None:
                raise DeliveryError(f"no channel named {name!r} is configured")
            batch = getattr(channel, "batch", None)
            with batch(messages) if batch else contextlib.nullcontext():
                for message in messages:
                    try:
                        receipt = channel.send(message, self.gf.now())
                    except Exception as exc:  # noqa: BLE001 - recorded on the message
                        failed.append((message, _delivery_error(exc)))
                    else:
                        sent.append((message, message.in_doubt and not (
                            channel.dedupes or receipt.duplicate_prevented)))
        except Exception as exc:  # noqa: BLE001
            # The batch could not begin, or its transaction did not commit: none of its
            # messages left (an e-mail batch only fails before its first message).
            error = _delivery_error(exc)
            failed = [(message, error) for message in messages]
            sent = []
        now = self.gf.now()
        with self.gf.db.write() as conn:
            for duplicate in (False, True):
                outbox.mark_all_sent(conn, [m.id for m, d in sent if d == duplicate],
                                     self.owner, now, duplicate=duplicate)
            statuses = [outbox.mark_failed(conn, message, self.owner, now, str(error),
                                           self.policy) for message, error in failed]
        result.sent += len(sent)
        result.duplicates += sum(duplicate for _, duplicate in sent)
        for (message, error), status in zip(failed, statuses, strict=True):
            result.dead += status == "dead"
            result.retried += status != "dead"
            result.errors.append(f"#{message.id}: {error}")
            log.warning("outbox #%d (%s to %s) failed: %s", message.id, message.channel,
                        message.recipient, error)


def _delivery_error(exc: Exception) -> DeliveryError:
    return exc if isinstance(exc, DeliveryError) else \
        DeliveryError(f"{exc.__class__.__name__}: {exc}")
