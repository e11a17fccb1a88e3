"""The deployed processes as the web offers them: names, start forms, who may start them.

A start event names its form with the `form` property; failing that the form library's
`<process_id>.start.json` is used when it exists. Who may start a process (`public`,
`department`) is a setting: the defaults below follow the regulations (citizens and
organisations object, J1, apply for conditional-open data, O4, and complain, J7;
departments request shared data, S2, and report data errors, J6), and the web app's
`PROCESS_STARTERS` config adds to or overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from engine.bpmn.definitions import Definitions
from engine.cases.forms import FormLibrary
from engine.store.schema import process_versions

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


def processes(conn: Connection, definitions: Definitions, forms: FormLibrary,
              starters: dict[str, tuple[str, ...]] | None = None) -> list[ProcessInfo]:
    """The latest version of every deployed process, by id."""
    who = {**DEFAULT_STARTERS, **(starters or {})}
    latest = conn.execute(select(func.max(process_versions.c.id))
                          .group_by(process_versions.c.process_id)).scalars().all()
    found = []
    for version_id in latest:
        deployed = definitions.get(conn, version_id)
        start = _start_event(deployed.spec)
        form = _property(start, "form") if start is not None else None
        if form is None and (forms.directory / f"{deployed.process_id}.start.json").is_file():
            form = f"{deployed.process_id}.start.json"
        found.append(ProcessInfo(deployed.process_id, deployed.name or deployed.process_id,
                                 deployed.version, form,
                                 tuple(who.get(deployed.process_id, ("department",)))))
    return sorted(found, key=lambda p: p.process_id)
