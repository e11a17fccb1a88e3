"""The writes of a step, run on the DB-API cursor of SQLAlchemy's open transaction.

A step writes the case row and a handful of derived rows. Through SQLAlchemy's
execution layer each statement costs about 20 µs of Python before SQLite even sees
it; on the raw cursor it costs a few. The writes stay inside the same transaction
(SQLAlchemy began it and commits it), and their values are bound here exactly as
`engine.schema`'s column types would bind them, so every read through SQLAlchemy
sees the same rows. Reads keep using SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson
from sqlalchemy import Connection

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


def dumps(value: Any) -> str:
    """JSON as the schema stores it, with Chinese kept as characters."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=_jsonable).decode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RawWriter:
    """Binds values for one backend and runs statements written with :name parameters."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self._sql: dict[str, str] = {}
        if not self.sqlite:
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    def when(self, moment: dt.datetime | None) -> Any:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone first")
        if self.sqlite:  # SQLAlchemy's SQLite DATETIME storage format, in UTC
            return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def doc(self, value: Any) -> Any:
        if value is None:
            return None
        return dumps(value) if self.sqlite else self._jsonb(value, dumps=dumps)

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else bool(value)

    def _native(self, sql: str) -> str:
        native = self._sql.get(sql)
        if native is None:
            native = sql if self.sqlite else _NAMED.sub(r"%(\1)s", sql)
            self._sql[sql] = native
        return native

    def run(self, conn: Connection, sql: str, params: dict[str, Any]) -> int:
        """Execute one statement; return the number of rows it changed."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._native(sql), params)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, conn: Connection, sql: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self._native(sql), rows)
        finally:
            cursor.close()
