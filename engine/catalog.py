"""The deployed processes as the web offers them: names, start forms, who may start them.

A start event names its form with the `form` property; failing that the form library's
`<process_id>.start.json` is used when it exists. Who may start a process comes from
the start event's `starters` property (`public`, `department`, or both, comma
separated); processes that do not say use the defaults below, which follow the
regulations: citizens and organisations object (J1), apply for conditional-open data
(O4) and complain (J7); departments request shared data (S2) and report data errors (J6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from .definitions import Definitions
from .forms import FormLibrary
from .schema import process_versions

DEFAULT_STARTERS = {
    "objection": ("public",),
    "open_data_application": ("public",),
    "complaint": ("public",),
    "share_request": ("department",),
    "data_error_check": ("department",),
    "open_data_review": ("department",),
}


@dataclass(frozen=True)
class ProcessInfo:
    process_id: str
    name: str
    version: int
    start_form: str | None
    starters: tuple[str, ...]


def _property(spec: Any, name: str) -> str | None:
    return (getattr(spec, "extensions", None) or {}).get("properties", {}).get(name)


def _start_event(spec: Any) -> Any:
    outputs = getattr(spec.start, "outputs", None) or []
    return outputs[0] if outputs else None


def processes(conn: Connection, definitions: Definitions, forms: FormLibrary) -> list[ProcessInfo]:
    """The latest version of every deployed process, by name."""
    latest = conn.execute(select(func.max(process_versions.c.id))
                          .group_by(process_versions.c.process_id)).scalars().all()
    found = []
    for version_id in latest:
        deployed = definitions.get(conn, version_id)
        start = _start_event(deployed.spec)
        form = _property(start, "form") if start is not None else None
        if form is None and (forms.directory / f"{deployed.process_id}.start.json").is_file():
            form = f"{deployed.process_id}.start.json"
        said = _property(start, "starters") if start is not None else None
        starters = (tuple(s.strip() for s in said.split(",") if s.strip()) if said
                    else DEFAULT_STARTERS.get(deployed.process_id, ("department",)))
        found.append(ProcessInfo(deployed.process_id, deployed.name or deployed.process_id,
                                 deployed.version, form, starters))
    return sorted(found, key=lambda p: p.process_id)
