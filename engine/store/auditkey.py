"""The secret that keys the audit trail's MACs, kept outside the database.

Someone who can write to the database but cannot read this key cannot forge an audit
event or a checkpoint. The key comes from GOVFLOW_AUDIT_KEY (at least 32 characters;
the same value on every host that writes cases), else from the file
GOVFLOW_AUDIT_KEY_FILE, else `<GOVFLOW_INSTANCE or instance>/audit.key`, which
`govflow init` creates (mode 0600) when it is absent. A process that finds no key
refuses to write audit events rather than make one up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError

MIN_KEY_CHARS = 32


class AuditKeyMissing(EngineError):
    code = "audit_key_missing"


@dataclass(frozen=True)
class AuditKey:
    secret: bytes

    @property
    def id(self) -> str:
        """A fingerprint naming the key in checkpoints (never the key itself)."""
        return hashlib.sha256(b"govflow-audit-key-id:" + self.secret).hexdigest()[:16]

    def mac(self, body: bytes) -> str:
        return hmac.digest(self.secret, body, "sha256").hex()


def key_file() -> Path:
    named = os.environ.get("GOVFLOW_AUDIT_KEY_FILE")
    if named:
        return Path(named)
    return Path(os.environ.get("GOVFLOW_INSTANCE", "instance")) / "audit.key"


_loaded: dict[tuple[str | None, ...], AuditKey] = {}


def current_key() -> AuditKey:
    """The configured key (read once per process and setting)."""
    environ = os.environ
    value = environ.get("GOVFLOW_AUDIT_KEY")
    # Every step asks: compare the settings as they are, make a path only when they change.
    setting = (value, environ.get("GOVFLOW_AUDIT_KEY_FILE"), environ.get("GOVFLOW_INSTANCE"),
               os.getcwd())
    found = _loaded.get(setting)
    if found is None:
        found = _loaded[setting] = _read(value, key_file().resolve())
    return found


def key_problem() -> str | None:
    """Why this process could not write audit events (no usable key), or None."""
    try:
        current_key()
    except AuditKeyMissing as exc:
        return exc.message
    return None


def _read(value: str | None, path: Path) -> AuditKey:
    if value is not None:
        if len(value.strip()) < MIN_KEY_CHARS:
            raise AuditKeyMissing(f"GOVFLOW_AUDIT_KEY must have at least {MIN_KEY_CHARS} "
                                  "characters")
        return AuditKey(value.strip().encode())
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise AuditKeyMissing(f"no audit key: set GOVFLOW_AUDIT_KEY or run `govflow init` "
                              f"to create {path}") from None
    if len(text) < MIN_KEY_CHARS:
        raise AuditKeyMissing(f"the audit key in {path} is too short")
    return AuditKey(text.encode())


def ensure_key() -> AuditKey:
    """The configured key, creating the key file when neither exists (`govflow init`)."""
    if os.environ.get("GOVFLOW_AUDIT_KEY") is None:
        path = key_file()
        if path.exists():
            return current_key()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:  # an atomic link: concurrent inits keep the first key, whole
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return current_key()
