"""The sandbox probe list: no escape, and every runaway payload ends as an incident in time.

Each payload runs as a real case (deployed, started, saved), with the real elapsed time
measured: containment is about the clock on the wall, deadlines about the frozen one.
A payload whose danger shows in its text is refused at deploy time as well; every payload
is also stored as an older release would have stored it, without today's deploy checks,
and must then end as an incident.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest
from sqlalchemy import insert

from engine.cases.govflow import Govflow
from engine.errors import BpmnValidationError, ScriptError
from engine.scripts.sandbox import SandboxedEnvironment
from engine.store.db import Database
from engine.store.schema import process_versions

MODELS = Path(__file__).parent / "models"
LIMIT = 0.5         # the script time limit of these tests (the product's default)
STEP_LIMIT = 2.0    # the step time limit (the product's default)
SLACK = 0.5         # "within the limit, give or take half a second"


def slack() -> float:
    """Half a second on a machine with a core to spare, stretched by the load when other
    processes queue for the CPU (the limit itself is measured in wall-clock time too)."""
    return SLACK * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


@pytest.fixture
def pgf(tmp_path, clock) -> Govflow:
    gf = Govflow(Database(f"sqlite:///{tmp_path / 'probes.sqlite'}"), clock=clock,
                 script_time_limit=LIMIT, step_time_limit=STEP_LIMIT)
    gf.init_schema()
    return gf


def script_model(script: str) -> bytes:
    text = (MODELS / "script_probe.bpmn").read_text(encoding="utf-8")
    return text.replace("SCRIPT", xml_escape(script)).encode()


def store_unchecked(gf: Govflow, xml: bytes, process_id: str = "script_probe") -> None:
    """Store a version as an older release might have, without today's deploy checks."""
    with gf.db.write() as conn:
        conn.execute(insert(process_versions).values(
            process_id=process_id, version=1, name="Probe", file_name="old.bpmn",
            xml=xml, content_hash=hashlib.sha256(xml).hexdigest(), deployed_at=gf.now()))


def run_timed(gf: Govflow, process_id: str, data: dict | None = None):
    """Start a case and measure the wall-clock time of its first step (the version is
    parsed beforehand: that is deploy work, not the step's)."""
    with gf.db.read() as conn:
        gf.definitions.latest(conn, process_id)
    started = time.monotonic()
    case = gf.start_case(process_id, dict(data or {}))
    return case, time.monotonic() - started


# --- escapes ---------------------------------------------------------------------------

ESCAPES = [
    "import os\nos.system('touch {marker}')",
    "__import__('os').system('touch {marker}')",
    "().__class__.__base__.__subclasses__()",
    "x = [c for c in ().__class__.__mro__]",
    "x = getattr(deadline, '__globals__')",
    "x = vars(deadline)",
    "x = type(1)",
    "x = deadline.__globals__",
    "x = f'{deadline.__globals__}'",
    "x = '{0.__class__}'.format(1)",
    "x = '{0.__globals__}'.format(deadline)",
    "x = '{a.__class__}'.format_map({'a': 1})",
    "x = (i for i in []).gi_frame.f_back.f_globals",
    "g = (i for i in [])\nx = g.gi_code",
    "f = lambda: 0\nx = f.__code__",
    "try:\n    1 / 0\nexcept Exception as e:\n    x = e.__traceback__.tb_frame.f_globals",
    "x = str.mro()",
    "x = dict.__dict__",
    "m = 'a'.ljust\nx = m.args",
    "x = __builtins__",
    "x = limits.__class__",
    "open('{marker}', 'w').write('x')",
    "exec(\"open('{marker}', 'w')\")",
    "x = eval('1')",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_no_escape_runs_whether_refused_at_deploy_or_stored_unchecked(pgf, tmp_path, script):
    marker = tmp_path / "escaped"
    xml = script_model("reached = True\n" + script.replace("{marker}", str(marker)))
    try:
        pgf.deploy(xml, "script_probe.bpmn")
    except BpmnValidationError as refused:
        assert refused.element == "ScriptTask_body"
        store_unchecked(pgf, xml)
    case = pgf.start_case("script_probe", {})
    assert case.status == "error" and case.incident["element_id"] == "ScriptTask_body"
    assert "x" not in case.data
    assert not marker.exists()


def test_limits_are_read_only_and_never_change_for_the_next_case(pgf):
    pgf.deploy(script_model("limits['share_answer_days'] = 1"), "script_probe.bpmn")
    case = pgf.start_case("script_probe", {})
    assert case.status == "error" and "assignment" in case.incident["message"]
    pgf.deploy(script_model("days = limits['share_answer_days']\n"
                            "copy = limits.copy()\ncopy['share_answer_days'] = 1"),
               "script_probe.bpmn")
    later = pgf.start_case("script_probe", {})
    assert later.status == "completed"
    assert later.data["days"] == pgf.profile.limits["share_answer_days"] != 1


# --- resource payloads -----------------------------------------------------------------

STATIC = [  # refused at deploy time, from the text alone
    "x = 10 ** 10 ** 8",
    "x = [0] * 10 ** 9",
    "x = 'x' * 10 ** 9",
    "x = f'{1:01000000000}'",
    "x = 'a'.ljust(10 ** 9)",
    "x = '%01000000000d' % 1",
    "x = pow(3, 2 ** 99999, 2 ** 4096 + 1)",
    "x = bytes(10 ** 9)",
    "x = str(10 ** 100000)",
    "x = round(5, -10 ** 9)",
]
RUNTIME = [  # found when they run
    "s = list(range(2000))\nok = all(map(sorted, [s] * 10 ** 4))",
    "s = list(range(50000))\nrows = []\nwhile True:\n    rows.append(s)\n"
    "    ok = all(map(sorted, rows))",
    "parts = []\nfor i in range(2000):\n    parts.append([0] * 1000)\nflat = sum(parts, [])",
    "m = 2 ** 4096 + 1\ne = 2 ** 99999\nx = pow(3, e, m)",
    "w = 10 ** 9\nx = f'{1:0{w}}'",
    "w = 10 ** 9\nx = 'a'.ljust(w)",
    "w = 10 ** 9\nx = 'a'.zfill(w)",
    "w = 10 ** 9\nx = '%0*d' % (w, 1)",
    "parts = []\nfor i in range(100):\n    parts.append('a' * 10 ** 6)\nx = ''.join(parts)",
    "n = 10 ** 9\nx = bytes(n)",
    "n = 10 ** 9\nx = (1).to_bytes(n, 'big')",
    "x = ('a' * 10 ** 6).replace('a', 'a' * 100)",
    "x = ('\\t' * 10 ** 6).expandtabs(100)",
    "x = str(2 ** 99999)",
    "x = int('9' * 100000)",
    "x = list(range(10 ** 9))",
    "x = sorted(range(10 ** 9))",
    "x = {i: i for i in range(10 ** 9)}",
    "x = [[i] * 10 for i in range(10 ** 9)]",
    "x = [0]\nwhile True:\n    x = [x, x]",
    "x = [0]\nfor i in range(100):\n    x = [x, x]",
    "x = [0]\nfor i in range(100):\n    x = [x, x]\ny = len(str(x))",
    "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\nsame = a == b",
    "t = (0,)\nfor i in range(60):\n    t = (t, t)\nd = {t: 1}",
    "t = (0,)\nfor i in range(60):\n    t = (t, t)\nd = {}\nd[t] = 1",
    "t = (0,)\nfor i in range(60):\n    t = (t, t)\nfound = t in {1: 2}",
    "t = (0,)\nfor i in range(60):\n    t = (t, t)\nx = set([t])",
    "x = [1]\nwhile True:\n    x.extend(x)",
    "x = 'ab'\nwhile True:\n    x = x + x",
    "def f(n):\n    return f(n + 1)\nf(0)",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(100)",
    "keep = []\nwhile True:\n    keep.append('x' * 10 ** 6)",
]


@pytest.mark.parametrize("script", STATIC)
def test_a_payload_visible_in_the_text_is_refused_at_deploy(pgf, script):
    with pytest.raises(BpmnValidationError, match="too large") as refused:
        pgf.deploy(script_model(script), "script_probe.bpmn")
    assert refused.value.element == "ScriptTask_body"


@pytest.mark.parametrize("script", STATIC + RUNTIME)
def test_every_payload_ends_as_an_incident_within_the_limit(pgf, script):
    store_unchecked(pgf, script_model(script))
    case, elapsed = run_timed(pgf, "script_probe")
    assert case.status == "error" and case.incident["element_id"] == "ScriptTask_body"
    assert elapsed < LIMIT + slack(), f"{elapsed:.2f} s: {case.incident['message']}"


def test_a_script_that_grows_the_process_too_much_is_stopped(tmp_path):
    env = SandboxedEnvironment(time_limit=5, memory_limit=32 * 2**20)
    started = time.monotonic()
    with pytest.raises(ScriptError, match="memory limit of 32 MB"):
        env.execute("keep = []\nwhile True:\n    keep.append('x' * 10 ** 6)", {})
    assert time.monotonic() - started < 5


def test_ordinary_scripts_still_work_with_every_guard(pgf):
    pgf.deploy(script_model(
        "x = sorted([3, 1, 2], key=lambda v: -v)\ny = max([1, 5, 2])\nz = min(3, 4)\n"
        "w = sum([1, 2, 3])\nv = f'{3.14159:.2f} {y!r} {y:>4}'\nu = '%5.1f|%s' % (2.25, 'a')\n"
        "q = ', '.join(['a', 'b'])\nr = 'ab'.ljust(4, '.')\nok = isinstance(q, str)\n"
        "d = {('a', 1): 1}\nd[('b', 2)] = 2\nfound = ('a', 1) in d and [1] == [1]\nd = None\n"
        "pairs = sorted({'b': 2, 'a': 1}.items())\nbig = len(str(list(range(1000))))"),
        "script_probe.bpmn")
    case = pgf.start_case("script_probe", {})
    assert case.status == "completed", case.incident
    data = case.data
    assert (data["x"], data["y"], data["z"], data["w"]) == ([3, 2, 1], 5, 3, 6)
    assert (data["v"], data["u"], data["q"], data["r"]) == ("3.14 5    5", "  2.2|a", "a, b",
                                                            "ab..")
    assert data["ok"] is True and data["found"] is True
    assert data["pairs"] == [["a", 1], ["b", 2]] or data["pairs"] == [("a", 1), ("b", 2)]
    assert data["big"] == 4890


# --- helper calls and engine work ------------------------------------------------------

TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_timer_probe" targetNamespace="https://govflow.example/tests">
  <bpmn:process id="timer_probe" name="Timer probe" isExecutable="true">
    <bpmn:startEvent id="StartEvent_t"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Timer_wait" name="Wait">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:KIND>EXPRESSION</bpmn:KIND></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="EndEvent_t"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_t" targetRef="Timer_wait" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Timer_wait" targetRef="EndEvent_t" />
  </bpmn:process>
</bpmn:definitions>
"""

MULTI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_mi_probe" targetNamespace="https://govflow.example/tests">
  <bpmn:process id="mi_probe" name="Multi-instance probe" isExecutable="true">
    <bpmn:startEvent id="StartEvent_m"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="ScriptTask_each" name="Each">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>CARDINALITY</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>done = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="EndEvent_m"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_m" targetRef="ScriptTask_each" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="ScriptTask_each" targetRef="EndEvent_m" />
  </bpmn:process>
</bpmn:definitions>
"""

LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_loop_probe" targetNamespace="https://govflow.example/tests">
  <bpmn:process id="loop_probe" name="Loop probe" isExecutable="true">
    <bpmn:startEvent id="StartEvent_l"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Gateway_join"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:incoming>Flow_back</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="ScriptTask_count" name="Count">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gateway_again" default="Flow_out">
      <bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_back</bpmn:outgoing>
      <bpmn:outgoing>Flow_out</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="EndEvent_l"><bpmn:incoming>Flow_out</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_l" targetRef="Gateway_join" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Gateway_join" targetRef="ScriptTask_count" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="ScriptTask_count" targetRef="Gateway_again" />
    <bpmn:sequenceFlow id="Flow_back" sourceRef="Gateway_again" targetRef="Gateway_join">
      <bpmn:conditionExpression>n &lt; until</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_out" sourceRef="Gateway_again" targetRef="EndEvent_l" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_deadline_of_millions_of_working_days_is_an_incident_at_once(pgf):
    pgf.deploy(script_model("due = deadline(working_days=2000000)"), "script_probe.bpmn")
    case, elapsed = run_timed(pgf, "script_probe")
    assert case.status == "error" and "at most 3650 working days" in case.incident["message"]
    assert elapsed < LIMIT + slack()


@pytest.mark.parametrize(("kind", "value", "message"), [
    # deploy's literal check or the sandbox's bound, whichever meets the value first
    ("timeDuration", "P99999999Y", "too long|years away"),
    ("timeCycle", "R/PT0S", "repeats too often|repeats without waiting"),
    ("timeCycle", "R5/P99999999Y", "too long|years away"),
    ("timeDate", "P99999999Y", "too long|years away"),
])
def test_a_timer_value_spiffworkflow_would_hang_on_is_refused(pgf, kind, value, message):
    constant = TIMER.replace("KIND", kind).replace("EXPRESSION", f'"{value}"').encode()
    with pytest.raises(BpmnValidationError, match=message) as refused:
        pgf.deploy(constant, "timer_probe.bpmn")
    assert refused.value.element == "Timer_wait"

    pgf.deploy(TIMER.replace("KIND", kind).replace("EXPRESSION", "value").encode(),
               "timer_probe.bpmn")
    case, elapsed = run_timed(pgf, "timer_probe", {"value": value})
    assert case.status == "error" and re.search(message, case.incident["message"])
    assert case.incident["element_id"] == "Timer_wait"
    assert elapsed < LIMIT + slack()


def test_ordinary_timers_and_cycles_still_wait(pgf):
    pgf.deploy(TIMER.replace("KIND", "timeCycle").replace("EXPRESSION", "value").encode(),
               "timer_probe.bpmn")
    case = pgf.start_case("timer_probe", {"value": "R3/PT1H"})
    assert case.status == "running" and len(case.timers) == 1


def test_a_multi_instance_of_ten_thousand_is_refused(pgf):
    with pytest.raises(BpmnValidationError, match="at most 200 instances") as refused:
        pgf.deploy(MULTI.replace("CARDINALITY", "10000").encode(), "mi_probe.bpmn")
    assert refused.value.element == "ScriptTask_each"

    pgf.deploy(MULTI.replace("CARDINALITY", "n").encode(), "mi_probe.bpmn")
    case, elapsed = run_timed(pgf, "mi_probe", {"n": 10**4})
    assert case.status == "error" and "at most 200 instances" in case.incident["message"]
    assert case.incident["element_id"] == "ScriptTask_each"
    assert elapsed < LIMIT + slack()
    assert pgf.start_case("mi_probe", {"n": 3}).status == "completed"


def test_a_multi_instance_over_ten_thousand_items_is_refused(pgf):
    over_items = MULTI.replace(
        "<bpmn:loopCardinality>CARDINALITY</bpmn:loopCardinality>",
        '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" />')
    pgf.deploy(over_items.encode(), "mi_probe.bpmn")
    case, elapsed = run_timed(pgf, "mi_probe", {"items": list(range(10**4))})
    assert case.status == "error" and "at most 200 instances, not 10000" in case.incident["message"]
    assert case.incident["element_id"] == "ScriptTask_each"
    assert elapsed < LIMIT + slack()
    assert pgf.start_case("mi_probe", {"items": ["a", "b", "c"]}).status == "completed"


def test_a_script_gateway_loop_ends_as_an_incident_not_a_silent_stop(pgf):
    pgf.deploy(LOOP.encode(), "loop_probe.bpmn")
    case, elapsed = run_timed(pgf, "loop_probe", {"n": 0, "until": 10**9})
    assert case.status == "error" and case.incident["element_id"] is not None
    assert ("depth of a case's task tree" in case.incident["message"]
            or "step exceeded its time limit" in case.incident["message"])
    assert elapsed < STEP_LIMIT + slack()
    assert pgf.start_case("loop_probe", {"n": 0, "until": 5}).status == "completed"


def test_the_depth_limit_itself_is_reported(tmp_path, clock):
    patient = Govflow(Database(f"sqlite:///{tmp_path / 'depth.sqlite'}"), clock=clock,
                      step_time_limit=600)
    patient.init_schema()
    patient.deploy(LOOP.encode(), "loop_probe.bpmn")
    case = patient.start_case("loop_probe", {"n": 0, "until": 10**9})
    assert case.status == "error"
    assert "depth of a case's task tree" in case.incident["message"]
    assert case.incident["element_id"] in ("ScriptTask_count", "Gateway_again", "Gateway_join")


@pytest.mark.parametrize("script", ["x = 2 ** 70", "x = {(1, 2): 3}", "x = range(3)",
                                    "x = 1j", "x = [bytes(3)]"])
def test_task_data_that_cannot_be_saved_is_an_incident_not_a_failed_request(pgf, script):
    pgf.deploy(script_model("kept = 1\n" + script), "script_probe.bpmn")
    case = pgf.start_case("script_probe", {})
    assert case.status == "error" and "cannot be saved" in case.incident["message"]
    assert "x" not in case.data


HEAVY = "t = (0,)\nfor i in range(60):\n    t = (t, t)\n"


@pytest.mark.parametrize("use", [
    "x = {t for _ in [0]}", "x = {t: 1 for _ in [0]}", "x = (t, t).count(t[0])",
    "x = {}.keys() | [t]", "print(t)", "x = [t].index(t[1])", "x = max([t, t])",
    "x = sorted([1, 2], key=lambda v: t)", "x = f'{t!r}'", "x = '%s' % (t,)",
    "x = {1: 2}.get(t)",
])
def test_nested_data_that_would_take_hours_to_walk_is_refused_wherever_it_is_used(use):
    env = SandboxedEnvironment(time_limit=LIMIT)
    started = time.monotonic()
    with pytest.raises(ScriptError, match="too large"):
        env.execute(HEAVY + use, {})
    assert time.monotonic() - started < LIMIT + slack()
