"""A runaway model step never stops the web server from answering the portal.

The step runs in a thread of the same process as a real waitress server, as it would
under `govflow serve`; its script spends its whole time limit in the largest C-level
operations the sandbox allows (sorting and printing long lists), which hold the GIL
while they run. Meanwhile anonymous GET /portal requests must each be answered within
a second.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

from waitress.server import create_server

from engine.cases.govflow import Govflow
from tests.web.conftest import make_app

RUNAWAY = """s = list(range(90000))
while True:
    t = sorted(s, reverse=True)
    u = str(s)
    v = s == t
"""
SCRIPT_MODEL = Path(__file__).parents[1] / "engine" / "models" / "script_probe.bpmn"


def test_the_portal_answers_within_a_second_while_a_runaway_step_runs(wgf, tmp_path):
    runaway = Govflow(wgf.db, clock=wgf.clock, script_time_limit=4.0, step_time_limit=6.0)
    xml = SCRIPT_MODEL.read_text(encoding="utf-8").replace("SCRIPT", RUNAWAY)
    runaway.deploy(xml.encode(), "script_probe.bpmn")

    server = create_server(make_app(wgf, tmp_path), host="127.0.0.1", port=0, threads=4)
    closing = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:   # waitress's select() meets the sockets close() just closed
            if not closing.is_set():
                raise

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.effective_port}/portal"
    try:
        assert urllib.request.urlopen(url, timeout=10).status == 200  # warm the app up
        outcome: dict[str, object] = {}
        step = threading.Thread(
            target=lambda: outcome.update(case=runaway.start_case("script_probe", {})))
        step.start()
        answered_while_running, slowest = 0, 0.0
        while step.is_alive():
            started = time.monotonic()
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200 and "/portal/apply/public_probe" in (
                    response.read().decode())
            slowest = max(slowest, time.monotonic() - started)
            answered_while_running += step.is_alive()
        step.join()
    finally:
        closing.set()
        server.close()
        serving.join(timeout=5)
    case = outcome["case"]
    assert case.status == "error" and "time limit of 4 s" in case.incident["message"]
    assert answered_while_running >= 3
    assert slowest < 1.0, f"the slowest /portal answer took {slowest:.2f} s"
