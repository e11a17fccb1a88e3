"""Probes for a load balancer or an orchestrator: no sign-in, no session, JSON.

/healthz says the process serves requests (liveness) and names it by process id, so
an operator sees which of several workers answered; /readyz says it can do its work:
the database answers, its schema is the one this code needs, and the audit key is there
(readiness).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, current_app

from engine.store.auditkey import key_problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return {"status": "ok", "pid": os.getpid()}


@bp.get("/readyz")
def readyz() -> Any:
    problem = current_app.extensions["govflow"].db.readiness() or key_problem()
    if problem:
        return {"status": "not ready", "reason": problem}, 503
    return {"status": "ready"}
