"""Chinese working-day calendar and "within N working days of receipt" deadlines.

The regulations count every time limit in working days (工作日): weekends and statutory
holidays do not count, make-up working days on weekends (调休上班日) do. chinesecalendar
knows the State Council schedules for 2004–2026; later years are entered by administrators
as `YearTable`s (`govflow calendar add-year FILE`). A day that neither covers is never
silently treated as ordinary: `is_workday` raises, and `deadline` either raises or marks
its answer provisional, so a case can show "may change once the year is entered".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
import jsonschema
from chinese_calendar.constants import holidays as _CC_HOLIDAYS

from engine.errors import CalendarDataError, CalendarNotCovered

CC_FIRST_YEAR = min(_CC_HOLIDAYS).year
CC_LAST_YEAR = max(_CC_HOLIDAYS).year

# chinesecalendar names holidays in English only; officials read the Chinese name first.
_CC_NAMES = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
             "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
             "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日"}
_WEEKDAYS = {"zh": "一二三四五六日",
             "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()}

_DAY_NAMES = {"type": "object", "propertyNames": {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
              "additionalProperties": {"type": "string", "minLength": 1}}
YEAR_FILE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["year", "holidays", "workdays"],
    "properties": {"year": {"type": "integer", "minimum": 1, "maximum": 9999},
                   "holidays": _DAY_NAMES, "workdays": _DAY_NAMES},
}


@dataclass(frozen=True)
class YearTable:
    """One year's holiday schedule entered by an administrator, for a year after chinesecalendar.

    Validated on construction, because a wrong table silently moves every legal deadline.
    """

    year: int
    holidays: Mapping[date, str]   # date -> holiday name, e.g. "春节 Spring Festival"
    workdays: Mapping[date, str]   # make-up working days (调休上班日) on weekends -> name

    def __post_init__(self) -> None:
        def bad(why: str) -> CalendarDataError:
            return CalendarDataError(f"calendar year {self.year}: {why}", year=self.year)
        if not isinstance(self.year, int) or isinstance(self.year, bool):
            raise CalendarDataError(f"calendar year must be an integer, not {self.year!r}")
        if CC_FIRST_YEAR <= self.year <= CC_LAST_YEAR:
            raise bad(f"already covered by chinesecalendar ({CC_FIRST_YEAR}–{CC_LAST_YEAR}); "
                      "only later years may be entered")
        for field, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            for day, name in days.items():
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise bad(f"{field}: {day!r} is not a date")
                if day.year != self.year:
                    raise bad(f"{field}: {day} is not in {self.year}")
                if not isinstance(name, str) or not name.strip():
                    raise bad(f"{field}: {day} needs a name")
                if field == "workdays" and day in self.holidays:
                    raise bad(f"{day} is listed both as a holiday and as a make-up working day")
                if field == "workdays" and day.weekday() < 5:
                    raise bad(f"make-up working day {day} is a {_WEEKDAYS['en'][day.weekday()]}, "
                              "not a weekend day; weekdays are working days anyway")
            object.__setattr__(self, field, MappingProxyType(dict(sorted(days.items()))))

    @classmethod
    def from_dict(cls, data: dict) -> YearTable:
        """Build from a year file's JSON: shape checked by schema, then the calendar rules."""
        errors = sorted(jsonschema.Draft202012Validator(YEAR_FILE_SCHEMA).iter_errors(data),
                        key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            where = "/".join(map(str, errors[0].absolute_path)) or "top level"
            raise CalendarDataError(f"calendar year data, at {where}: {errors[0].message}")
        parsed: dict[str, dict[date, str]] = {"holidays": {}, "workdays": {}}
        for field, days in parsed.items():
            for key, name in data[field].items():
                try:
                    days[date.fromisoformat(key)] = name
                except ValueError:
                    raise CalendarDataError(f"calendar year {data['year']}: {field}: {key} is "
                                            "not a real date") from None
        return cls(data["year"], parsed["holidays"], parsed["workdays"])

    def to_dict(self) -> dict:
        return {"year": self.year,
                "holidays": {d.isoformat(): n for d, n in self.holidays.items()},
                "workdays": {d.isoformat(): n for d, n in self.workdays.items()}}


def load_year_file(path) -> YearTable:
    """Read and validate an administrator's year file; every problem is a CalendarDataError."""
    def no_duplicates(pairs):
        if dupes := sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1):
            raise CalendarDataError(f"{path}: {', '.join(dupes)} listed more than once")
        return dict(pairs)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh, object_pairs_hook=no_duplicates)
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarDataError(f"{path}: cannot read calendar file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CalendarDataError(f"{path}: not valid JSON: {exc}") from None
    try:
        return YearTable.from_dict(data)
    except CalendarDataError as exc:
        raise CalendarDataError(f"{path}: {exc.message}", **exc.details) from None


@dataclass(frozen=True)
class DayNote:
    """One day the count skipped, or counted although it is a weekend."""

    day: date
    kind: str          # "weekend" | "holiday" | "makeup_workday" | "uncovered_weekend"
    name: str | None   # holiday / make-up name where known

    def explain(self, lang: str = "zh") -> str:
        """One human line, e.g. "2026-10-01 国庆节 National Day holiday — not counted"."""
        wd, name = _WEEKDAYS[lang][self.day.weekday()], self.name or ""
        zh, en = {
            "weekend": (f"周{wd}，休息日，不计入", f"{wd} — weekend, not counted"),
            "holiday": (f"{name}，法定节假日，不计入", f"{name} holiday — not counted"),
            "makeup_workday": (f"{name}，调休上班日（周{wd}），计入",
                               f"{name} make-up working day ({wd}) — counted"),
            "uncovered_weekend": (f"周{wd}，{self.day.year}年节假日安排未录入，暂按周末不计入",
                                  f"{wd} — {self.day.year} holiday schedule not entered, "
                                  "treated as a weekend (provisional)"),
        }[self.kind]
        return f"{self.day.isoformat()} {zh if lang == 'zh' else en}"


@dataclass(frozen=True)
class Deadline:
    """A computed limit, with every counted and skipped day kept so it can be explained."""

    received: datetime
    working_days: int
    due: datetime
    provisional: bool
    uncovered_years: tuple[int, ...]
    counted: tuple[date, ...]
    notes: tuple[DayNote, ...]

    def iso(self) -> str:
        """The due moment as an aware ISO string."""
        return self.due.isoformat()

    @property
    def runs_out(self) -> datetime:
        """The first moment after the limit: `due` is the last whole second still counted
        (23:59:59 by default), so the limit has run out one second later, at midnight.
        Timers that act on a limit fire at this moment, never before it."""
        return self.due + timedelta(seconds=1)

    def timer_iso(self) -> str:
        """`runs_out` as an aware ISO string: the form SpiffWorkflow timer expressions return."""
        return self.runs_out.isoformat()

    def explain(self, lang: str = "zh") -> list[str]:
        """Lines an official can check by hand: the due time, then each day skipped or counted."""
        if lang not in _WEEKDAYS:
            raise ValueError(f"unsupported language {lang!r}; use 'zh' or 'en'")
        start = self.received.astimezone(self.due.tzinfo).date()
        due, tz, n = self.due.strftime("%Y-%m-%d %H:%M:%S"), self.due.tzinfo, self.working_days
        lines = [f"自 {start} 收到之日起 {n} 个工作日内：截止 {due}（{tz}）" if lang == "zh"
                 else f"{n} working days from receipt on {start}: due {due} ({tz})"]
        lines += [note.explain(lang) for note in self.notes]
        if self.provisional:
            years = ", ".join(map(str, self.uncovered_years))
            lines.append(f"暂定：{years} 年节假日安排尚未录入，系统管理员已收到提醒；"
                         "录入后截止时间将重新计算" if lang == "zh" else
                         f"Provisional: the {years} holiday schedule is not entered yet and the "
                         "administrators have been told; the deadline is recomputed once it is")
        return lines

    def to_dict(self) -> dict:
        return {"received": self.received.isoformat(), "working_days": self.working_days,
                "due": self.due.isoformat(), "timezone": str(self.due.tzinfo),
                "provisional": self.provisional, "uncovered_years": list(self.uncovered_years),
                "counted": [d.isoformat() for d in self.counted],
                "notes": [{"day": n.day.isoformat(), "kind": n.kind, "name": n.name}
                          for n in self.notes]}

    @classmethod
    def from_dict(cls, data: dict) -> Deadline:
        """Inverse of to_dict, for reading a stored computation back."""
        return cls(datetime.fromisoformat(data["received"]), data["working_days"],
                   datetime.fromisoformat(data["due"]).astimezone(ZoneInfo(data["timezone"])),
                   data["provisional"], tuple(data["uncovered_years"]),
                   tuple(map(date.fromisoformat, data["counted"])),
                   tuple(DayNote(date.fromisoformat(n["day"]), n["kind"], n["name"])
                         for n in data["notes"]))


def _plain_status(day: date) -> tuple[bool, DayNote | None]:
    return (True, None) if day.weekday() < 5 else (False, DayNote(day, "weekend", None))


@cache
def _cc_status(day: date) -> tuple[bool, DayNote | None]:
    """(is working day, note) from chinesecalendar, cached: each call there costs ~15 µs."""
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    if name is None:
        return _plain_status(day)
    name = f"{_CC_NAMES[name]} {name}" if name in _CC_NAMES else name
    return (False, DayNote(day, "holiday", name)) if on_holiday else (
        True, DayNote(day, "makeup_workday", name))


class WorkCalendar:
    """chinesecalendar plus the administrators' later years; counts working-day limits."""

    def __init__(self, extra_years: Iterable[YearTable] = (), *, tz: str = "Asia/Shanghai",
                 end_of_day: time = time(23, 59, 59)) -> None:
        self._years: dict[int, YearTable] = {}
        for table in extra_years:
            if table.year in self._years:
                raise CalendarDataError(f"calendar year {table.year} given twice", year=table.year)
            self._years[table.year] = table
        self.tz_name, self.tz, self.end_of_day = tz, ZoneInfo(tz), end_of_day
        self._cache: dict[date, tuple[bool, DayNote | None]] = {}

    @property
    def extra_years(self) -> tuple[YearTable, ...]:
        return tuple(self._years[y] for y in sorted(self._years))

    def covers(self, day: date) -> bool:
        return CC_FIRST_YEAR <= day.year <= CC_LAST_YEAR or day.year in self._years

    def is_workday(self, day: date) -> bool:
        """Raises CalendarNotCovered for a year nobody entered: a wrong guess moves deadlines."""
        return self._status(day)[0]

    def describe(self, day: date) -> DayNote | None:
        """Why a day is not an ordinary weekday (None if it is), for showing officials."""
        return self._status(day)[1]

    def with_year(self, table: YearTable) -> WorkCalendar:
        """A new calendar with one more year; calendars are shared, so never mutated."""
        return WorkCalendar([*self._years.values(), table], tz=self.tz_name,
                            end_of_day=self.end_of_day)

    def _status(self, day: date) -> tuple[bool, DayNote | None]:
        day = day.date() if isinstance(day, datetime) else day
        if (known := self._cache.get(day)) is not None:
            return known
        if CC_FIRST_YEAR <= day.year <= CC_LAST_YEAR:
            status = _cc_status(day)
        elif (table := self._years.get(day.year)) is not None:
            status = ((True, DayNote(day, "makeup_workday", table.workdays[day]))
                      if day in table.workdays else
                      (False, DayNote(day, "holiday", table.holidays[day]))
                      if day in table.holidays else _plain_status(day))
        else:
            raise _not_covered(day.year)
        self._cache[day] = status
        return status

    def deadline(self, received: datetime | date, working_days: int, *,
                 allow_provisional: bool = True) -> Deadline:
        """Due at end_of_day of the Nth working day after the receipt day (never counted)."""
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise TypeError(f"working_days must be an int, not {working_days!r}")
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        if not isinstance(received, datetime):
            received = datetime.combine(received, time(0), tzinfo=self.tz)
        elif received.tzinfo is None or received.utcoffset() is None:
            received = received.replace(tzinfo=self.tz)
        day = received.astimezone(self.tz).date()
        counted, notes, uncovered = [], [], set()
        while len(counted) < working_days:
            day += timedelta(days=1)
            if self.covers(day):
                works, note = self._status(day)
            elif not allow_provisional:
                raise _not_covered(day.year)
            else:   # never guess holidays: count Mon–Fri and say the answer may move
                uncovered.add(day.year)
                works = day.weekday() < 5
                note = None if works else DayNote(day, "uncovered_weekend", None)
            if note is not None:
                notes.append(note)
            if works:
                counted.append(day)
        due = datetime.combine(day, self.end_of_day.replace(tzinfo=None), tzinfo=self.tz)
        return Deadline(received, working_days, due, bool(uncovered), tuple(sorted(uncovered)),
                        tuple(counted), tuple(notes))


def _not_covered(year: int) -> CalendarNotCovered:
    return CalendarNotCovered(
        f"No working-day calendar covers {year}: chinesecalendar covers {CC_FIRST_YEAR}–"
        f"{CC_LAST_YEAR} and no administrator has entered {year}. Enter the State Council's "
        f"{year} holiday schedule with `govflow calendar add-year FILE`.", year=year)
