"""The builtins and the attribute guard scripts get: the harmless ones as they are, the
ones that could run long in C or build a huge result behind a size check (engine/scripts/guards.py).
"""

from __future__ import annotations

import builtins

from RestrictedPython import safe_builtins
from RestrictedPython.Guards import safer_getattr_raise

from engine.errors import ScriptError
from engine.scripts.guards import (
    MAX_ITEMS,
    MAX_TEXT,
    collect,
    guarded_add,
    guarded_pow,
    ticking,
    too_big,
    weigh,
    width,
)

_SEQUENCES = (list, tuple, dict, set, frozenset, str, bytes)


class Range:
    """`range` whose iteration ticks, so that C code consuming it (sum, list, sorted,
    dict.fromkeys, `[*r]`, ...) is still stopped by the time limit."""

    __slots__ = ("_r",)

    def __init__(self, *args: int) -> None:
        self._r = range(*args)

    def __iter__(self):
        return ticking(self._r)

    def __reversed__(self):
        return ticking(reversed(self._r))

    def __len__(self) -> int:
        return len(self._r)

    def __contains__(self, value: object) -> bool:
        # O(1) for ints only; anything else would be a linear scan in C.
        return value in self._r if isinstance(value, int) else any(value == i for i in self)

    def __getitem__(self, index):
        item = self._r[index]  # a slice is a range again, and must tick as well
        return Range(item.start, item.stop, item.step) if isinstance(item, range) else item


def getiter(iterable):
    """The `_getiter_` guard: makes comprehensions and unpacking tick; a sandbox range
    already ticks and need not be wrapped twice."""
    return iter(iterable) if type(iterable) is Range else ticking(iterable)


# -- builtins ---------------------------------------------------------------------------

def _sorted(iterable, /, *, key=None, reverse=False):
    items = collect(iterable, "sorting this data")
    if key is None:
        return sorted(items, reverse=reverse)
    keys = [key(item) for item in ticking(items)]
    weigh(keys, "sorting by these keys")
    order = sorted(range(len(items)), key=keys.__getitem__, reverse=reverse)
    return [items[i] for i in order]


def _extreme(choose):
    def pick(*args, key=None, **default):
        items = collect(args[0] if len(args) == 1 else args, f"{choose.__name__}() of this data")
        if key is not None:
            weigh([key(item) for item in ticking(items)], f"{choose.__name__}() by these keys")
            return choose(items, key=key, **default)
        return choose(items, **default)
    return pick


def _sum(iterable, /, start=0):
    total = start
    for item in ticking(iterable):
        total = guarded_add(total, item)
    return total


def _all(iterable, /):
    return all(ticking(iterable))


def _any(iterable, /):
    return any(ticking(iterable))


def _text_of(convert):
    def text(*args, **kwargs):
        if args:
            weigh(args[0], f"{convert.__name__}() of this data")
        return convert(*args, **kwargs)
    return text


def _bytes(*args, **kwargs):
    if args and isinstance(args[0], int):
        if args[0] > MAX_TEXT:
            raise too_big(f"bytes({args[0]})")
    elif args and not isinstance(args[0], (str, bytes)):
        args = (collect(args[0], "bytes() of this data"), *args[1:])
    return bytes(*args, **kwargs)


def _hashing(kind):
    def build(*args, **kwargs):
        if args:
            args = (collect(args[0], f"{kind.__name__}() of this data"), *args[1:])
        return kind(*args, **kwargs)
    return build


def _round(number, ndigits=None):
    return round(number) if ndigits is None else round(number, width(ndigits, "round() digits"))


def _hash(value, /):
    return hash(weigh(value, "hashing this data"))


class _TypeGuard(type):
    """A stand-in for a builtin type: calling it checks sizes, `isinstance` works as usual."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.real)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.real)

    def __call__(cls, *args, **kwargs):
        return cls.build(*args, **kwargs)


def _guarded_type(real: type, build) -> type:
    return _TypeGuard(real.__name__, (), {"real": real, "build": staticmethod(build)})


def make_builtins() -> dict[str, object]:
    allowed = {name: value for name, value in safe_builtins.items()
               if name not in ("__build_class__", "setattr", "delattr", "_getattr_")}
    allowed.update({name: getattr(builtins, name) for name in (
        "len", "isinstance", "enumerate", "zip", "reversed", "map", "filter")})
    allowed.update(
        range=Range, pow=guarded_pow, round=_round, hash=_hash, sorted=_sorted,
        min=_extreme(min), max=_extreme(max), sum=_sum, all=_all, any=_any,
        repr=_text_of(repr),
        str=_guarded_type(str, _text_of(str)), bytes=_guarded_type(bytes, _bytes),
        list=_guarded_type(list, lambda *a: list(*a) if not a else list(getiter(a[0]))),
        tuple=_guarded_type(tuple, lambda *a: tuple(*a) if not a else
                            tuple(collect(a[0], "tuple() of this data"))),
        set=_guarded_type(set, _hashing(set)),
        frozenset=_guarded_type(frozenset, _hashing(frozenset)),
        dict=_guarded_type(dict, _dict),
        int=int, float=float, bool=bool,
    )
    return allowed


def _dict(*args, **kwargs):
    if args:
        source = args[0]
        weigh(source if isinstance(source, dict) else collect(source, "dict() of this data"),
              "dict() of this data")
    return dict(*args, **kwargs)


# -- methods ----------------------------------------------------------------------------

def _padding(method, width_, *args):
    return method(width(width_, f"{method.__name__}() width"), *args)


def _expandtabs(method, tabsize=8):
    text = method.__self__
    if text.count("\t" if isinstance(text, str) else b"\t") * tabsize + len(text) > MAX_TEXT:
        raise too_big("expandtabs()")
    return method(tabsize)


def _replace(method, old, new, count=-1):
    text = method.__self__
    found = text.count(old) if old else len(text) + 1
    if count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > MAX_TEXT:
        raise too_big("replace()")
    return method(old, new, count)


def _join(method, iterable):
    parts = collect(iterable, "join() of this data")
    separator = method.__self__
    size = len(separator) * max(len(parts) - 1, 0)
    size += sum(len(part) for part in parts if isinstance(part, (str, bytes)))
    if size > MAX_TEXT:
        raise too_big("join()")
    return method(parts)


def _translate(method, table, *args):
    weigh(table, "translate() table")
    values = table.values() if isinstance(table, dict) else ()
    longest = max((len(v) for v in values if isinstance(v, (str, bytes))), default=1)
    if len(method.__self__) * longest > MAX_TEXT:
        raise too_big("translate()")
    return method(table, *args)


def _to_bytes(method, length=1, *args, **kwargs):
    return method(width(length, "to_bytes() length"), *args, **kwargs)


def _extend(method, iterable):
    items = collect(iterable, "extend() of this data")
    if len(method.__self__) + len(items) > MAX_ITEMS:
        raise too_big("extend()")
    return method(items)


def _walking(method, *args, **kwargs):
    """A method that compares its arguments with every item of the container."""
    weigh(method.__self__, f"{method.__name__}() on this data")
    return _keyed(method, *args, **kwargs)


def _keyed(method, *args, **kwargs):
    """A method that hashes or compares its arguments."""
    for arg in args:
        weigh(arg, f"{method.__name__}() of this data")
    return method(*args, **kwargs)


def _sort(method, *, key=None, reverse=False):
    method.__self__[:] = _sorted(method.__self__, key=key, reverse=reverse)


def _refused(method, *args, **kwargs):
    raise ScriptError(f"{method.__name__}() is not allowed in scripts; use an f-string")


_TEXT_METHODS = {
    "ljust": _padding, "rjust": _padding, "center": _padding, "zfill": _padding,
    "expandtabs": _expandtabs, "replace": _replace, "join": _join, "translate": _translate,
    "format": _refused, "format_map": _refused,
}
_METHOD_GUARDS: dict[type, dict[str, object]] = {
    str: _TEXT_METHODS, bytes: _TEXT_METHODS,
    int: {"to_bytes": _to_bytes},
    tuple: {"index": _walking, "count": _walking},
    list: {"extend": _extend, "sort": _sort, "index": _walking, "count": _walking,
           "remove": _walking},
    dict: {name: _keyed for name in ("get", "pop", "setdefault", "update", "fromkeys")},
    set: {name: _keyed for name in (
        "add", "discard", "remove", "update", "union", "intersection", "difference",
        "symmetric_difference", "issubset", "issuperset", "isdisjoint")},
}
_METHOD_GUARDS[bool] = _METHOD_GUARDS[int]
_METHOD_GUARDS[frozenset] = _METHOD_GUARDS[set]


def guarded_getattr(obj, name, *default):
    """The `_getattr_` guard: RestrictedPython's (no `_` names, no str.format), and methods
    that could run long or build a huge result come back wrapped in a size check."""
    if isinstance(obj, _TypeGuard):
        raise ScriptError(f"{obj.real.__name__}.{name} is not allowed in scripts; "
                          f"call it on a value instead")
    guards = _METHOD_GUARDS.get(type(obj))
    guard = guards.get(name) if guards else None
    if guard is _refused:
        raise ScriptError(f"{name}() is not allowed in scripts; use an f-string")
    value = safer_getattr_raise(obj, name, *default)
    if guard is None:
        return value

    def checked(*args, **kwargs):  # a closure: no public attribute hands back `value`
        return guard(value, *args, **kwargs)
    return checked
