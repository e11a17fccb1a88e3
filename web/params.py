"""Numbers read from URLs and query strings, bounded so the database never overflows.

Path ids above the largest 64-bit integer match no route (404); a page or page size
that is not a whole number in range is refused with a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

LARGEST_ID = 2**63 - 1
LARGEST_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<int:...>` for database ids: 0 to 2**63-1, so larger numbers are simply not found."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


class BadParameter(BadRequest):
    """A malformed query parameter or request body field; `field` names it ("" = the body)."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field


def int_arg(args: Any, name: str, default: int, *, largest: int = LARGEST_PAGE) -> int:
    """A whole number from 1 to `largest`, or `default` when the parameter is absent."""
    raw = args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= largest:
        raise BadParameter(name, f"{name} must be a whole number from 1 to {largest}")
    return int(raw)


def check_query(args: Any, documented: dict[str, dict[str, Any]]) -> None:
    """Refuse a query parameter the API does not document, or a value its schema refuses."""
    for name in args:
        schema = documented.get(name)
        if schema is None:
            raise BadParameter(name, f"unknown query parameter `{name}`")
        if "enum" in schema and args[name] not in schema["enum"]:
            raise BadParameter(name, f"{name} must be one of {', '.join(schema['enum'])}")
        if schema.get("type") == "integer":
            int_arg(args, name, 0, largest=schema["maximum"])


class NulRefused(BadParameter):
    """Text with a NUL character, which no field means and PostgreSQL cannot store or
    compare (a query with one was a 500): 422, since it may well fit the API's schema."""

    code = 422

    def __init__(self, field: str) -> None:
        super().__init__(field, "text may not contain the NUL character (\\0)")


def refuse_nul() -> None:
    """Refuse a NUL character in the path, the query or a form: PostgreSQL refuses to
    compare or store one (the request failed with a 500), and it is never meant."""
    if "\x00" in request.path:
        raise NulRefused("")
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise NulRefused(key.replace("\x00", ""))


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value has a NUL character in any key or string."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
