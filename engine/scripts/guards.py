"""Size, time and memory guards for the script sandbox (engine/scripts/sandbox.py).

A time limit that ticks from Python code never sees a single C-level call: `sorted`,
`str.ljust`, a format width or a modular `pow` run to the end holding the GIL, so one
expression could freeze every thread of the server. The sandbox therefore keeps every
C-level call small: each builtin, operator and method that could take long or allocate
much checks the size of its inputs and of the result it would build, and refuses with
`ScriptError` ("would be too large") before it starts. What stays bounded:

* integers: at most `MAX_INT_BITS` bits; a modular `pow` at most `MAX_POW_BITS`;
* text: a str or bytes of at most `MAX_TEXT` characters; format widths and precisions,
  `ljust`, `zfill`, `round` digits and the like at most `MAX_WIDTH`;
* containers: operations that walk nested data (sorting, comparing, printing, hashing,
  min/max/sum) refuse data of more than `MAX_ITEMS` items, counting shared parts each time
  they are reached (as those operations do) and long strings by their length;
* memory: the process may grow by at most `MAX_MEMORY_GROWTH` bytes during one
  evaluation, checked with the time limit.
"""

from __future__ import annotations

import contextvars
import math
import operator
import os
import re
import time
from types import MappingProxyType

from engine.errors import ScriptError

MAX_INT_BITS = 100_000             # ~30,000 decimal digits; far beyond any date or amount
MAX_POW_BITS = 4_096               # exponent and modulus of a three-argument pow
MAX_TEXT = 1_000_000               # characters of one str or bytes
MAX_WIDTH = 100_000                # a format width or precision, a padding, round() digits
MAX_ITEMS = 100_000                # items an operation walking nested data may visit
MAX_MEMORY_GROWTH = 256 * 2**20    # bytes the process may grow by during one evaluation
_MEMORY_CHECK_EVERY = 0.01         # seconds between two looks at the process size

_TEXT = (str, bytes)
_CONTAINERS = (list, tuple, dict, set, frozenset, MappingProxyType)
_SCALARS = frozenset({int, float, bool, type(None), complex})
_TEXT_KINDS = frozenset(_TEXT)
_INT_KINDS = frozenset({int, bool})
_SAVED_PLAIN = frozenset({str, float, bool, type(None)})


class TimeUp(BaseException):
    """Raised by the tick; a BaseException so a script's `except Exception` cannot
    swallow it. The environment turns it into ScriptError at the boundary."""


class MemoryUp(BaseException):
    """Raised by the tick when the process grew too much; handled like TimeUp."""


class Run:
    """The limits of the evaluation in progress in this thread or task."""

    __slots__ = ("deadline", "next_memory_check", "memory_limit")

    def __init__(self, deadline: float, memory_growth: int = MAX_MEMORY_GROWTH) -> None:
        self.deadline = deadline
        # Reading the process size costs more than a short evaluation: the first look,
        # once the evaluation has run for a while, sets the baseline.
        self.next_memory_check = time.monotonic() + _MEMORY_CHECK_EVERY
        self.memory_limit = -memory_growth


CURRENT: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "govflow_sandbox_run", default=None)

_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


def tick() -> None:
    run = CURRENT.get()
    if run is None:
        raise ScriptError("sandboxed code can only run inside a sandbox evaluate/execute")
    now = time.monotonic()
    if now > run.deadline:
        raise TimeUp
    if now > run.next_memory_check:
        run.next_memory_check = now + _MEMORY_CHECK_EVERY
        size = resident_bytes()
        if run.memory_limit < 0:
            run.memory_limit = size - run.memory_limit
        elif size > run.memory_limit:
            raise MemoryUp


def ticking(iterable):
    """Iterate as usual, but tick once per item."""
    for item in iterable:
        tick()
        yield item


def too_big(what: str) -> ScriptError:
    return ScriptError(
        f"{what} would be too large for a script (limits: {MAX_INT_BITS:,}-bit integers, "
        f"{MAX_TEXT:,}-character texts, widths of {MAX_WIDTH:,}, {MAX_ITEMS:,} items)")


def weigh(value, what: str = "this data") -> object:
    """Return `value` once it is known to hold at most MAX_ITEMS items, counting nested
    and shared parts each time they are reached and a text by its length."""
    kind = type(value)
    if kind in _SCALARS or (kind in _TEXT and len(value) < 10_000):
        return value
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _TEXT:
            total += len(item) // 100
        elif kind is dict or kind is MappingProxyType:
            total += 1 + 2 * len(item)
            if total <= MAX_ITEMS:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif kind in (list, tuple, set, frozenset):
            total += 1 + len(item)
            if total > MAX_ITEMS:
                raise too_big(what)
            if len(item) < 32:
                stack.extend(item)
                continue
            kinds = set(map(type, item))  # at C speed: long lists mostly hold plain values
            if kinds <= _TEXT_KINDS:
                total += sum(map(len, item)) // 100
            elif not kinds <= _SCALARS:
                stack.extend(item)
        if total > MAX_ITEMS:
            raise too_big(what)
    return value


_SAVED_KEYS = frozenset({str, int, float, bool, type(None)})


def check_saveable(value) -> None:
    """Task data is saved as JSON: refuse what cannot be (call after `weigh`)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is float or kind is bool or item is None:
            continue
        if kind is int:
            if not -2**63 <= item < 2**64:
                raise ScriptError("an integer over 64 bits cannot be saved in task data")
        elif kind is dict:
            if not all(type(key) in _SAVED_KEYS for key in item):
                raise ScriptError("task data can only have text or number keys")
            stack.extend(item.values())
        elif kind is list or kind is tuple or kind is set or kind is frozenset:
            kinds = set(map(type, item))  # at C speed: most lists hold plain values
            if kinds <= _INT_KINDS and item:
                stack.append(max(map(abs, item)))
            elif not kinds <= _SAVED_PLAIN:
                stack.extend(item)
        else:
            raise ScriptError(f"a {type(item).__name__} cannot be saved in task data")


def collect(iterable, what: str) -> list:
    """The items of `iterable` as a list, ticking per item unless it is already data."""
    items = list(iterable) if type(iterable) in _CONTAINERS else list(ticking(iterable))
    weigh(items, what)
    return items


def width(number, what: str):
    if isinstance(number, int) and abs(number) > MAX_WIDTH:
        raise too_big(what)
    return number


# -- operators -------------------------------------------------------------------------

def check_pow(base, exp, mod=None) -> None:
    if isinstance(base, int) and isinstance(exp, int):
        if mod is None:
            if exp > 1 and abs(base) > 1 and exp * math.log2(abs(base)) > MAX_INT_BITS:
                raise too_big("this power")
        elif isinstance(mod, int) and max(exp.bit_length(), mod.bit_length()) > MAX_POW_BITS:
            raise too_big("this modular power")


def guarded_pow(base, exp, mod=None):
    check_pow(base, exp, mod)
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def _repeat_size(seq, times: int) -> None:
    if times <= 1:
        return
    if isinstance(seq, _TEXT):
        if len(seq) * times > MAX_TEXT:
            raise too_big(f"repeating a text {times} times")
    elif len(seq) * times > MAX_ITEMS:
        raise too_big(f"repeating a {type(seq).__name__} {times} times")
    elif any(type(item) not in _SCALARS for item in seq):
        weigh(seq * times, f"repeating a {type(seq).__name__} {times} times")


def guarded_mul(a, b, op=operator.mul):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise too_big("this multiplication")
    elif isinstance(a, (*_TEXT, list, tuple)) and isinstance(b, int):
        _repeat_size(a, b)
    elif isinstance(b, (*_TEXT, list, tuple)) and isinstance(a, int):
        _repeat_size(b, a)
    return op(a, b)


def guarded_add(a, b, op=operator.add):
    if isinstance(a, _TEXT) and isinstance(b, _TEXT):
        if len(a) + len(b) > MAX_TEXT:
            raise too_big("this concatenation")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) + len(b) > MAX_ITEMS:
            raise too_big("this concatenation")
    return op(a, b)


def guarded_lshift(a, b, op=operator.lshift):
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        raise too_big("this shift")
    return op(a, b)


# `%` formatting: every width and precision, literal or `*`, is bounded.
_PERCENT_SPEC = re.compile(rb"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def guarded_mod(a, b, op=operator.mod):
    if isinstance(a, _TEXT):
        spec = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
        stars = False
        for found in _PERCENT_SPEC.finditer(spec):
            for number in found.groups():
                if number == b"*":
                    stars = True
                elif number is not None and (len(number) > 6 or int(number) > MAX_WIDTH):
                    raise too_big("this % format width")
        args = b if isinstance(b, tuple) else (b,)
        if stars:
            for arg in args:
                width(arg, "this % format width")
        weigh(b, "the values of this % format")
    return op(a, b)


def check_format_spec(spec: str) -> None:
    for number in re.findall(r"\d+", spec):
        if len(number) > 6 or int(number) > MAX_WIDTH:
            raise too_big("this format width")


def guarded_format(value, conversion: int, spec: str = ""):
    """An f-string's `{value!conversion:spec}`."""
    weigh(value, "this formatted value")
    check_format_spec(spec)
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, spec)


def compared(value):
    """An operand of ==, <, in, ...: comparing walks nested data (and `in` hashes it)."""
    return value if type(value) in _SCALARS else weigh(value, "this comparison")


def guarded_getitem(container, key):
    if type(key) is tuple:
        weigh(key, "this key")
    return container[key]


def hashed(key):
    """A dict key or set member given in a display or an assignment."""
    return weigh(key, "this key") if type(key) is tuple else key
