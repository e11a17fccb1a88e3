"""Files attached to a case: checked for type and size, stored outside the database.

The bytes go to `<root>/<sha256[:2]>/<sha256>`, written once (same content, same file);
the database keeps the name, type, size and hash, and the audit trail records the hash,
so a file swapped on disk is detectable. Only a short list of document types is taken,
and the first bytes must match the type the name claims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from engine.errors import AttachmentRejected, NotFound
from engine.store.schema import attachments

MAX_BYTES = 10 * 1024 * 1024
TYPES = {  # extension -> (content type, magic prefixes; empty for text)
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              (b"PK\x03\x04",)),
    ".ofd": ("application/ofd", (b"PK\x03\x04",)),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
}



@dataclass(frozen=True)
class Attachment:
    id: int
    case_id: int
    task_id: str | None
    file_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime


def clean_name(name: str) -> str:
    """A display-safe file name: no path, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = re.sub(r"\s+", " ", stem)[:100] or "file"
    return f"{stem}.{ext.lower()[:10]}" if ext else stem


def check(file_name: str, content: bytes) -> str:
    """Return the content type, or raise AttachmentRejected saying why."""
    ext = os.path.splitext(file_name)[1].lower()
    if ext not in TYPES:
        raise AttachmentRejected(f"file type {ext or '(none)'} is not accepted; accepted: "
                                 + ", ".join(sorted(TYPES)), accepted=sorted(TYPES))
    if not content:
        raise AttachmentRejected("the file is empty")
    if len(content) > MAX_BYTES:
        raise AttachmentRejected(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
                                 max_bytes=MAX_BYTES)
    content_type, magic = TYPES[ext]
    if magic and not content.startswith(magic):
        raise AttachmentRejected(f"the file's content is not {ext}")
    if not magic and b"\x00" in content[:4096]:
        raise AttachmentRejected(f"the file's content is not {ext} text")
    return content_type


def store(conn: Connection, root: Path, *, case_id: int, task_id: str | None,
          file_name: str, content: bytes, by: str, now: dt.datetime) -> Attachment:
    name = clean_name(file_name)
    content_type = check(name, content)
    digest = hashlib.sha256(content).hexdigest()
    path = root / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(path)
    new_id = conn.execute(insert(attachments).values(
        case_id=case_id, task_id=task_id, file_name=name, content_type=content_type,
        size=len(content), sha256=digest, uploaded_by=by, uploaded_at=now,
    )).inserted_primary_key[0]
    return Attachment(new_id, case_id, task_id, name, content_type, len(content), digest, by, now)


def of_case(conn: Connection, case_id: int) -> tuple[Attachment, ...]:
    rows = conn.execute(select(attachments).where(attachments.c.case_id == case_id)
                        .order_by(attachments.c.id))
    return tuple(Attachment(**r._mapping) for r in rows)


def get(conn: Connection, attachment_id: int) -> Attachment:
    row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return Attachment(**row._mapping)


def path_of(root: Path, item: Attachment) -> Path:
    path = root / item.sha256[:2] / item.sha256
    if not path.is_file():
        raise NotFound(f"the file of attachment {item.id} is missing from storage")
    return path
