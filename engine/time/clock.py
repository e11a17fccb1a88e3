"""One injectable clock for the whole engine, SpiffWorkflow's timers included.

Legal deadlines are tested by moving time, never by sleeping. Every service reads
`clock.now()`; SpiffWorkflow reads `datetime.now(timezone.utc)` inside its timer
module only, so that module's `datetime` is replaced once by a shim that asks the
clock of the step being run (a context variable, so threads never mix clocks).

`GOVFLOW_NOW=<ISO datetime>` makes every command act as of that moment, for
rehearsals and black-box tests.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> _dt.datetime:
        """Return the current moment as an aware datetime."""
        ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)


@dataclass
class FrozenClock:
    """A clock that stands still until a test moves it."""

    current: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))

    def __post_init__(self) -> None:
        self.current = aware(self.current)

    def now(self) -> _dt.datetime:
        return self.current

    def set(self, moment: _dt.datetime | str) -> None:
        self.current = aware(parse_moment(moment) if isinstance(moment, str) else moment)

    def advance(self, **delta: float) -> None:
        self.current += _dt.timedelta(**delta)


def aware(moment: _dt.datetime) -> _dt.datetime:
    """Read a naive datetime as Asia/Shanghai time, the zone every limit is counted in."""
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def parse_moment(text: str) -> _dt.datetime:
    return aware(_dt.datetime.fromisoformat(text))


def clock_from_env() -> Clock:
    """Return a FrozenClock at GOVFLOW_NOW when it is set, else the system clock."""
    text = os.environ.get("GOVFLOW_NOW")
    if not text:
        return SystemClock()
    try:
        return FrozenClock(parse_moment(text))
    except ValueError:
        raise ValueError(f"GOVFLOW_NOW={text!r} is not an ISO datetime") from None


_active: contextvars.ContextVar[Clock] = contextvars.ContextVar("govflow_clock")


@contextlib.contextmanager
def running_on(clock: Clock) -> Iterator[None]:
    """Make SpiffWorkflow's timer module read `clock` for the duration of a step."""
    token = _active.set(clock)
    try:
        yield
    finally:
        _active.reset(token)


class _ClockedDatetime(_dt.datetime):
    """`datetime` as SpiffWorkflow's timer module sees it: `now()` follows the active clock."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        clock = _active.get(None)
        if clock is None:
            return _dt.datetime.now(tz)
        moment = clock.now()
        return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)


def _install() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime  # type: ignore[attr-defined, misc]


_install()
