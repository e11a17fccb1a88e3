"""Log set-up for the `govflow` command: plain lines, or one JSON object per line.

GOVFLOW_LOG_FORMAT=json gives each record as {"at", "level", "logger", "message"} (plus
"exception"), for log collectors; GOVFLOW_LOG_LEVEL sets the level of govflow's own
loggers and the server's (INFO by default); libraries log warnings and errors only.
A process whose logging is already set up (a test run, an embedding app) keeps it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from typing import IO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str | None = None, level: str | None = None,
                      stream: IO[str] | None = None) -> None:
    fmt = (fmt or os.environ.get("GOVFLOW_LOG_FORMAT", "text")).lower()
    level = (level or os.environ.get("GOVFLOW_LOG_LEVEL", "INFO")).upper()
    if fmt not in ("text", "json"):
        raise ValueError(f"GOVFLOW_LOG_FORMAT must be text or json, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


OWN_LOGGERS = ("govflow", "engine", "notifications", "web", "waitress")
