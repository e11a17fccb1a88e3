"""The jurisdiction profile: the limits and switches that differ between regulations.

The BPMN models read limits by name (`limits["share_answer_days"]`) and rule switches by
name (`switches["share_silence_approves"]`), never as numbers or flags in the diagram, so a
jurisdiction changes them in one settings file. govflow ships one profile per regulation it
encodes in `workflows/profiles/`; GOVFLOW_PROFILE names one by its short name (`hubei`) or
gives the path of a profile file.
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

from engine.errors import EngineError
from engine.notify.reminders import ReminderSettings

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DEFAULT_PROFILE = WORKFLOWS / "jurisdiction.toml"
PROFILES = WORKFLOWS / "profiles"

#: Switches every profile has, with the value used when a profile leaves one out.
SWITCH_DEFAULTS: dict[str, bool | str] = {
    "share_silence_approves": False,        # S5: provider silence counts as approval
    "catalog_silence_approves": False,      # S8: silence on uncatalogued data approves
    "share_joint_review": False,            # S2: the data authority reviews with the provider
    "share_review_lead": "provider",        # S2: who leads a joint review
    "coordination_body": "data_authority",  # S6: who coordinates a refused request
    "complaint_counted_from": "receipt",    # J7: the complaint limit runs from receipt/受理
    "conditional_open": False,              # O3: data may be opened as conditional-open data
}
#: Older models read these switches as 0/1 from `limits`; cases running on those versions
#: keep working because the profile still offers them there.
_LIMIT_MIRRORS = ("catalog_silence_approves", "share_joint_review")
#: The `[silence_approves]` table of profiles written before `[switches]` existed.
_LEGACY_SILENCE = {"share_request": "share_silence_approves",
                   "catalog_addition": "catalog_silence_approves"}


@dataclass(frozen=True)
class JurisdictionProfile:
    name: str
    limits: MappingProxyType[str, int]
    switches: MappingProxyType[str, bool | str] = field(
        default_factory=lambda: MappingProxyType(dict(SWITCH_DEFAULTS)))
    title: str = ""
    regulation: str = ""     # the short name of the regulation it encodes (ZJ, GD, ZH, HB, JL)
    timezone: str = "Asia/Shanghai"
    end_of_day: dt.time = dt.time(23, 59, 59)
    source: str = field(default="", compare=False)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> JurisdictionProfile:
        limits = dict(data.get("limits", {}))
        bad = [k for k, v in limits.items()
               if isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            raise EngineError(f"{source}: limits must be whole numbers of working days: {bad}")
        switches: dict[str, bool | str] = dict(SWITCH_DEFAULTS)
        for old, new in _LEGACY_SILENCE.items():
            if old in data.get("silence_approves", {}):
                switches[new] = bool(data["silence_approves"][old])
        for old in _LIMIT_MIRRORS:   # a profile that only has the 0/1 mirror
            if old in limits and old not in data.get("switches", {}):
                switches[old] = bool(limits[old])
        given = data.get("switches", {})
        unknown = sorted(set(given) - set(SWITCH_DEFAULTS))
        wrong = sorted(k for k, v in given.items() if k in SWITCH_DEFAULTS
                       and type(v) is not type(SWITCH_DEFAULTS[k]))
        if unknown or wrong:
            raise EngineError(f"{source}: unknown switches {unknown} or switches of the wrong "
                              f"type {wrong}; switches are {sorted(SWITCH_DEFAULTS)}")
        switches.update(given)
        for name in _LIMIT_MIRRORS:
            limits.setdefault(name, int(bool(switches[name])))
        calendar = data.get("calendar", {})
        return cls(
            name=data.get("name", "default"),
            title=data.get("title", ""),
            regulation=data.get("regulation", ""),
            limits=MappingProxyType(limits),
            switches=MappingProxyType(switches),
            timezone=calendar.get("timezone", "Asia/Shanghai"),
            end_of_day=dt.time.fromisoformat(calendar.get("end_of_day", "23:59:59")),
            source=source,
            reminders=ReminderSettings.from_dict(data.get("reminders", {})),
        )

    @property
    def silence_approves(self) -> Mapping[str, bool]:
        """Which answers silence gives, by process part (for pages and reports)."""
        return {"share_request": bool(self.switches["share_silence_approves"]),
                "catalog_addition": bool(self.switches["catalog_silence_approves"])}


def shipped_profiles() -> list[str]:
    """The short names of the profiles in workflows/profiles/."""
    return sorted(p.stem for p in PROFILES.glob("*.toml"))


def profile_path(setting: str | os.PathLike[str] | None) -> Path:
    """A short name (`hubei`) means workflows/profiles/hubei.toml; anything else is a path."""
    if not setting:
        return DEFAULT_PROFILE
    text = str(setting)
    if re.fullmatch(r"[a-z][a-z0-9_]*", text):
        path = PROFILES / f"{text}.toml"
        if not path.is_file():
            raise EngineError(f"no shipped jurisdiction profile {text!r}; shipped profiles: "
                              f"{', '.join(shipped_profiles())} (or give a file path)")
        return path
    return Path(text)


def load_profile(path: str | os.PathLike[str] | None = None) -> JurisdictionProfile:
    """Load GOVFLOW_PROFILE (a shipped profile's short name or a path), or the default."""
    path = profile_path(path or os.environ.get("GOVFLOW_PROFILE"))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EngineError(f"cannot read jurisdiction profile {path}: {exc}") from None
    return JurisdictionProfile.from_dict(data, source=str(path))


_LIMIT = re.compile(r"\{(\w+)\}")


def fill_limits(text: str, limits: Mapping[str, Any]) -> str:
    """Put the jurisdiction's numbers into model text: "{share_answer_days}" -> "10"."""
    return _LIMIT.sub(lambda m: str(limits.get(m.group(1), m.group(0))), text)
