"""The jurisdiction profile: the limits and switches that differ between regulations.

The BPMN models read limits by name (`limits["share_answer_days"]`), never as numbers
in the diagram, so a jurisdiction changes a limit in one settings file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import EngineError
from .reminders import ReminderSettings

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "workflows" / "jurisdiction.toml"


@dataclass(frozen=True)
class JurisdictionProfile:
    name: str
    limits: MappingProxyType[str, int]
    silence_approves: MappingProxyType[str, bool]
    timezone: str = "Asia/Shanghai"
    end_of_day: dt.time = dt.time(23, 59, 59)
    source: str = field(default="", compare=False)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> JurisdictionProfile:
        limits = data.get("limits", {})
        bad = [k for k, v in limits.items() if not isinstance(v, int) or v < 0]
        if bad:
            raise EngineError(f"{source}: limits must be whole numbers of working days: {bad}")
        calendar = data.get("calendar", {})
        return cls(
            name=data.get("name", "default"),
            limits=MappingProxyType(dict(limits)),
            silence_approves=MappingProxyType(dict(data.get("silence_approves", {}))),
            timezone=calendar.get("timezone", "Asia/Shanghai"),
            end_of_day=dt.time.fromisoformat(calendar.get("end_of_day", "23:59:59")),
            source=source,
            reminders=ReminderSettings.from_dict(data.get("reminders", {})),
        )


def load_profile(path: str | os.PathLike[str] | None = None) -> JurisdictionProfile:
    """Load GOVFLOW_PROFILE, or the shipped default profile."""
    path = Path(path or os.environ.get("GOVFLOW_PROFILE") or DEFAULT_PROFILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EngineError(f"cannot read jurisdiction profile {path}: {exc}") from None
    return JurisdictionProfile.from_dict(data, source=str(path))


_LIMIT = re.compile(r"\{(\w+)\}")


def fill_limits(text: str, limits: Mapping[str, int]) -> str:
    """Put the jurisdiction's numbers into model text: "{share_answer_days}" -> "10"."""
    return _LIMIT.sub(lambda m: str(limits.get(m.group(1), m.group(0))), text)
