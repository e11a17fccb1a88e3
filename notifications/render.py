"""Message texts: one Jinja2 template per kind and language under templates/{zh,en}/.

A template's first line is the subject (title of the bell entry, e-mail subject);
the rest is the body. Plain text, so nothing is escaped and nothing can be injected
into markup; the web UI escapes it when it shows it. A payload carrying a case's result
(engine/cases/results.py) gets its words in the template's language as `said`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound

from engine.cases.results import from_payload, words

LANGUAGES = ("zh", "en")
_env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                   keep_trailing_newline=False, autoescape=False)


def render(kind: str, language: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message in `language` (zh when the language has no template)."""
    language = language if language in LANGUAGES else "zh"
    try:
        template = _env.get_template(f"{language}/{kind}.txt")
    except TemplateNotFound:
        template = _env.get_template(f"{language}/generic.txt")
    said = words(from_payload(payload["result"]), language) if payload.get("result") else {}
    text = template.render(lang=language, **payload, said=said).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()
