"""The API against its own OpenAPI document: schemathesis generates requests, valid and
invalid, for every operation and checks every answer with all of its checks — no server
error, status codes, content types, headers and bodies as documented, bad input refused.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from engine.people import tokens
from tests.web.conftest import start_share
from web.openapi import ROUTES

EXAMPLES = 20   # per operation and mode: bounded, so the suite stays fast


def test_the_api_answers_every_generated_request_as_documented(app, wgf) -> None:
    start_share(wgf)
    with wgf.db.write() as conn:
        bearer = {"Authorization": "Bearer " + tokens.create(conn, "alice", "schemathesis",
                                                             now=wgf.now())}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.auth()
    class Bearer:
        def get(self, case, context):
            return bearer["Authorization"]

        def set(self, case, value, context):
            case.headers = {**(case.headers or {}), "Authorization": value}

    load_all_checks()
    every_check = CHECKS.get_all()
    statuses: set[int] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(ROUTES)   # every documented operation is exercised
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def answers_as_documented(case) -> None:
                statuses.add(case.call_and_validate(checks=every_check).status_code)
            answers_as_documented()
    # The token was used (answers other than 401) and bad input met its 400.
    assert {200, 400, 404} <= statuses
