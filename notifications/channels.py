"""The channels a message can leave by, behind one small interface.

`Channel.send(message, now)` delivers one message or raises `DeliveryError`.
`dedupes` says whether a second copy sent after a crash is recognised by the
receiver (by the message's idempotency key) or may reach the recipient twice.
A channel may also offer `batch(messages)`, a context in which the dispatcher sends
those messages: the bell writes a whole batch in one transaction, e-mail sends it over
one SMTP connection, each looking up the batch's recipients once.

- in_app:  rows in `notifications`, one per user (the bell); a resend inserts nothing.
- email:   smtplib to GOVFLOW_SMTP_URL, `smtp://user:pass@host:587?starttls=1` (or
           `smtps://` for TLS from the start); the Message-ID is derived from the key,
           but SMTP servers deliver a resend anyway, so duplicates are counted.
- webhook: JSON POSTed to GOVFLOW_WEBHOOK_URL, signed with HMAC-SHA256 over
           "<timestamp>.<body>" (GOVFLOW_WEBHOOK_SECRET); the receiver checks the
           signature, refuses an old timestamp or a replayed signature, and drops a
           second delivery of one idempotency key.
- log:     where e-mail and webhooks go when they are not configured (the demo):
           appended to a local file, never sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection, insert, select

from engine.notify.outbox import OutboxMessage
from engine.store.db import Database
from engine.store.schema import notifications

from . import recipients
from .render import render


class DeliveryError(Exception):
    """The channel could not deliver now; the message is tried again later."""


@dataclass(frozen=True)
class Sent:
    duplicate_prevented: bool = False  # the receiver already had this message


class Channel(Protocol):
    name: str
    dedupes: bool

    def send(self, message: OutboxMessage, now: dt.datetime) -> Sent: ...


class InAppChannel:
    name, dedupes = "in_app", True

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None  # the batch's transaction
        self._people: dict[str, list[recipients.Person]] = {}
        self._have: set[tuple[int, str]] = set()

    @contextlib.contextmanager
    def batch(self, messages: list[OutboxMessage]) -> Iterator[None]:
        """Write the bells of a whole batch in one transaction (committed when it ends)."""
        with self.db.write() as conn:
            self._conn, self._people = conn, {}
            self._have = _bells(conn, notifications.c.outbox_id.in_([m.id for m in messages]))
            try:
                yield
            finally:
                self._conn, self._people, self._have = None, {}, set()

    def send(self, message: OutboxMessage, now: dt.datetime) -> Sent:
        if self._conn is not None:
            return self._write(self._conn, message, now, self._have, self._people)
        with self.db.write() as conn:
            have = _bells(conn, notifications.c.outbox_id == message.id)
            return self._write(conn, message, now, have, {})

    @staticmethod
    def _write(conn: Connection, message: OutboxMessage, now: dt.datetime,
               have: set[tuple[int, str]], people: dict[str, list[recipients.Person]]) -> Sent:
        """The message's bell rows, but none a person already has; `people` caches who
        each recipient is."""
        if message.recipient not in people:
            people[message.recipient] = [
                p for p in recipients.people(conn, message.recipient) if p.username]
        rows, already = [], False
        for person in people[message.recipient]:
            if (message.id, person.username) in have:
                already = True
                continue
            title, body = render(message.kind, person.language, message.payload)
            rows.append({"outbox_id": message.id, "username": person.username,
                         "created_at": now, "case_id": message.case_id,
                         "task_id": message.task_id, "kind": message.kind,
                         "title": title[:500], "body": body})
        if rows:
            conn.execute(insert(notifications), rows)
        return Sent(duplicate_prevented=already)


def _bells(conn: Connection, which: Any) -> set[tuple[int, str]]:
    """(outbox id, username) of the bell rows already written for some messages."""
    return {(row.outbox_id, row.username) for row in conn.execute(
        select(notifications.c.outbox_id, notifications.c.username).where(which))}


def _addresses(db: Database, message: OutboxMessage) -> list[recipients.Person]:
    with db.read() as conn:
        return [p for p in recipients.people(conn, message.recipient) if p.email]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    tls: bool
    sender: str

    @classmethod
    def from_url(cls, url: str, sender: str | None = None) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"GOVFLOW_SMTP_URL must look like smtp://user:pass@host:587, "
                             f"not {parts.scheme}://...")
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            tls=parts.scheme == "smtps",
            sender=sender or query.get("from", ["govflow@localhost"])[0])


def email_messages(message: OutboxMessage, persons: list[recipients.Person],
                   sender: str) -> Iterator[EmailMessage]:
    """One e-mail per person; worded once per language, only the To header changes."""
    worded: dict[str, EmailMessage] = {}
    for person in persons:
        mail = worded.get(person.language)
        if mail is None:
            mail = worded[person.language] = email_message(message, person, sender)
        else:
            mail.replace_header("To", person.email)
        yield mail


def email_message(message: OutboxMessage, person: recipients.Person, sender: str) -> EmailMessage:
    subject, body = render(message.kind, person.language, message.payload)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, person.email, subject
    mail["Message-ID"] = f"<{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]}" \
                         f"@govflow>"
    mail["Date"] = email.utils.formatdate(localtime=False)
    mail.set_content(body)
    return mail


class EmailChannel:
    name, dedupes = "email", False

    def __init__(self, db: Database, settings: SmtpSettings, timeout: float = 10) -> None:
        self.db, self.settings, self.timeout = db, settings, timeout
        self._smtp: smtplib.SMTP | None = None
        self._people: dict[str, list[recipients.Person]] | None = None  # in a batch

    @contextlib.contextmanager
    def batch(self, messages: list[OutboxMessage]) -> Iterator[None]:
        """Send a batch over one SMTP connection (opened at its first message), with the
        addresses of all its recipients read in one transaction."""
        with self.db.read() as conn:
            self._people = {recipient: [p for p in recipients.people(conn, recipient) if p.email]
                            for recipient in {m.recipient for m in messages}}
        try:
            yield
        finally:
            self._people = None
            self._hang_up()

    def send(self, message: OutboxMessage, now: dt.datetime) -> Sent:
        in_batch = self._people is not None
        persons = self._people.get(message.recipient) if self._people is not None else None
        if persons is None:
            persons = _addresses(self.db, message)
        if not persons:
            raise DeliveryError(f"no e-mail address on file for {message.recipient}")
        s = self.settings
        try:
            reused = self._smtp is not None
            try:
                self._send(message, persons)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server closed a connection kept open since the last message, before
                # this one was accepted: a new connection, once.
                self._hang_up()
                self._send(message, persons)
        except (OSError, smtplib.SMTPException) as exc:
            self._hang_up()
            raise DeliveryError(f"SMTP {s.host}:{s.port}: {exc}") from None
        finally:
            if not in_batch:
                self._hang_up()
        return Sent()

    def _send(self, message: OutboxMessage, persons: list[recipients.Person]) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        for mail in email_messages(message, persons, self.settings.sender):
            self._smtp.send_message(mail)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        factory = smtplib.SMTP_SSL if s.tls else smtplib.SMTP
        smtp = factory(s.host, s.port, timeout=self.timeout)
        try:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _hang_up(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookChannel:
    name, dedupes = "webhook", True

    def __init__(self, url: str, secret: str, timeout: float = 10) -> None:
        if not secret:
            raise ValueError("GOVFLOW_WEBHOOK_SECRET must be set with GOVFLOW_WEBHOOK_URL")
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, message: OutboxMessage, now: dt.datetime) -> Sent:
        language = message.payload.get("language", "zh")
        subject, text = render(message.kind, language, message.payload)
        body = json.dumps({
            "id": message.idempotency_key, "kind": message.kind, "recipient": message.recipient,
            "case_id": message.case_id, "task_id": message.task_id, "rung": message.rung,
            "subject": subject, "text": text, "data": message.payload,
        }, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(now.timestamp()))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Govflow-Timestamp": timestamp,
            "X-Govflow-Signature": sign(self.secret, timestamp, body),
            "Idempotency-Key": message.idempotency_key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(4096)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook answered {exc.code} {exc.reason}") from None
        except OSError as exc:
            raise DeliveryError(f"webhook {self.url}: {exc}") from None
        return Sent(duplicate_prevented=b'"duplicate"' in answer)


class LogChannel:
    """E-mail and webhooks when no server is configured: written to a file, never sent."""

    dedupes = False

    def __init__(self, name: str, path: Path, db: Database) -> None:
        self.name, self.path, self.db = name, path, db

    def send(self, message: OutboxMessage, now: dt.datetime) -> Sent:
        persons = _addresses(self.db, message) if self.name == "email" else []
        language = persons[0].language if persons else message.payload.get("language", "zh")
        subject, body = render(message.kind, language, message.payload)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"--- {now.isoformat()} {self.name} to {message.recipient}"
                      f" [{message.idempotency_key}]\n{subject}\n{body}\n")
        return Sent()


