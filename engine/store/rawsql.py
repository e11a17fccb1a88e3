"""The statements of a step, run on the DB-API cursor of SQLAlchemy's open transaction.

A step reads a few rows and writes the case row and a handful of derived rows.
Through SQLAlchemy's execution layer each statement costs about 20 µs of Python
before SQLite even sees it; on the raw cursor it costs a few. The statements stay
inside the same transaction (SQLAlchemy began it and commits it), and values are
bound and read back here exactly as `engine.store.schema`'s column types would, so rows
written here and rows read through SQLAlchemy are the same. Everything off the hot
path keeps using SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Compiled:
    """SQL compiled from a SQLAlchemy statement: run it with `{**fixed, **values}`."""

    sql: str
    fixed: dict[str, Any]


class RawSQL:
    """Binds and reads values for one backend; runs statements with :name parameters."""

    _by_dialect: dict[str, RawSQL] = {}

    @classmethod
    def of(cls, conn: Connection) -> RawSQL:
        """The RawSQL for the backend of `conn` (one per backend, made on first use)."""
        return cls.by_name(conn.dialect.name)

    @classmethod
    def by_name(cls, name: str) -> RawSQL:
        found = cls._by_dialect.get(name)
        if found is None:
            found = cls._by_dialect[name] = cls(name)
        return found

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self._sql: dict[str, str] = {}
        self._last_when: tuple[dt.datetime | None, str] = (None, "")
        if not self.sqlite:
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    def compile(self, statement: Any) -> Compiled:
        """A SQLAlchemy statement as SQL this backend's cursor runs with :name (SQLite) or
        %(name)s (psycopg) parameters, and the values it fixes itself (its literals); for
        statements built once and run often."""
        if self.sqlite:
            from sqlalchemy.dialects.sqlite import pysqlite

            dialect: Any = pysqlite.dialect(paramstyle="named")
        else:
            from sqlalchemy.dialects.postgresql import psycopg

            dialect = psycopg.dialect()
        compiled = statement.compile(dialect=dialect)
        fixed = {name: value for name, value in compiled.params.items() if value is not None}
        if any(not isinstance(v, str | int) for v in fixed.values()):
            raise TypeError(f"only text and number literals are bound as they are: {fixed}")
        sql = str(compiled)
        self._sql[sql] = sql  # already in the cursor's own parameter style
        return Compiled(sql, fixed)

    def when(self, moment: dt.datetime | None) -> Any:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone first")
        if not self.sqlite:
            return moment
        # A step stores its one `now` in many rows: keep the last text made.
        last = self._last_when
        if last[0] is moment:
            return last[1]
        # SQLAlchemy's SQLite DATETIME storage format, in UTC.
        text = moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        self._last_when = (moment, text)
        return text

    def doc(self, value: Any) -> Any:
        if value is None:
            return None
        return dumps(value) if self.sqlite else self._jsonb(value, dumps=dumps)

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else bool(value)

    def read_when(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if self.sqlite:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]

    def read_doc(self, value: Any) -> Any:
        return orjson.loads(value) if self.sqlite and value is not None else value

    def _native(self, sql: str) -> str:
        native = self._sql.get(sql)
        if native is None:
            native = sql if self.sqlite else _NAMED.sub(r"%(\1)s", sql)
            self._sql[sql] = native
        return native

    def _execute(self, conn: Connection, sql: str, params: dict[str, Any]) -> Any:
        # Both drivers run a statement on a cursor of their own, freed as soon as the
        # caller has read it: no cursor to open and close here.
        driver = conn.connection.driver_connection
        return driver.execute(self._native(sql), params)  # type: ignore[union-attr]

    def run(self, conn: Connection, sql: str, params: dict[str, Any]) -> int:
        """Execute one statement; return the number of rows it changed."""
        return int(self._execute(conn, sql, params).rowcount)

    def one(self, conn: Connection, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        return self._execute(conn, sql, params).fetchone()  # type: ignore[no-any-return]

    def rows(self, conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._execute(conn, sql, params).fetchall()  # type: ignore[no-any-return]

    def column(self, conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
        return [row[0] for row in self.rows(conn, sql, params)]

    def run_many(self, conn: Connection, sql: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        driver = conn.connection.driver_connection
        if self.sqlite:
            driver.executemany(self._native(sql), rows)  # type: ignore[union-attr]
            return
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.executemany(self._native(sql), rows)
