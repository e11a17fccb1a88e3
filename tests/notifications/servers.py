"""Real receivers on loopback: an SMTP server (aiosmtpd) and a webhook endpoint that
checks the HMAC signature, refuses old timestamps and replays, and drops a second
delivery of one idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.peers: list[tuple[str, int]] = []  # the client end of each message's connection
        self.hang_up_after_each = False  # as a server limiting messages per connection

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.peers.append(session.peer)
        if self.hang_up_after_each:
            server.loop.call_soon(server.transport.close)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on loopback; with `login` it requires AUTH with that user and password."""

    def __init__(self, port: int | None = None, login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.login = login
        self.logins: list[str] = []
        options: dict[str, Any] = {}
        if login:
            options = {"authenticator": self._authenticate, "auth_required": True,
                       "auth_require_tls": False}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **options)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword
        ok = isinstance(data, LoginPassword) and self.login == (
            data.login.decode(), data.password.decode())
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    @property
    def url(self) -> str:
        if self.login:
            return f"smtp://{self.login[0]}:{self.login[1]}@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class WebhookReceiver:
    """Accepts a POST only with a valid signature over a fresh timestamp, once."""

    def __init__(self, secret: str, now: Callable[[], float], window: int = 300) -> None:
        self.secret, self.now, self.window = secret, now, window
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.seen_signatures: set[str] = set()
        self.seen_keys: set[str] = set()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()}
                receiver.requests.append((headers, body))
                status, answer = receiver.check(headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def check(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        timestamp = headers.get("X-Govflow-Timestamp", "")
        signature = headers.get("X-Govflow-Signature", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            self.rejected.append("bad signature")
            return 401, {"status": "bad signature"}
        if not timestamp.isdigit() or abs(self.now() - int(timestamp)) > self.window:
            self.rejected.append("stale")
            return 401, {"status": "stale"}
        if signature in self.seen_signatures:
            self.rejected.append("replay")
            return 409, {"status": "replay"}
        self.seen_signatures.add(signature)
        key = headers.get("Idempotency-Key", "")
        if key in self.seen_keys:
            return 200, {"status": "duplicate"}
        self.seen_keys.add(key)
        self.accepted.append(json.loads(body))
        return 200, {"status": "accepted"}

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
