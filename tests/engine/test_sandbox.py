"""The script sandbox: what BPMN conditions and scripts may do, and what they may not."""

from __future__ import annotations

import time

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.errors import ScriptError
from engine.scripts.sandbox import (
    SandboxedEnvironment,
    _compile,
    check_script,
    make_script_engine,
)


def fake_deadline(days: int) -> str:
    return f"2026-01-0{days}T17:00:00+08:00"


@pytest.fixture
def env() -> SandboxedEnvironment:
    return SandboxedEnvironment({"deadline": fake_deadline}, time_limit=0.2)


# --- ordinary conditions and scripts ------------------------------------------------

def test_a_condition_compares_task_data(env):
    assert env.evaluate('share_class == "conditional"', {"share_class": "conditional"}) is True
    assert env.evaluate('share_class == "conditional"', {"share_class": "open"}) is False


def test_a_condition_may_use_dict_get_and_a_list_comprehension(env):
    data = {"form": {"pages": 12}, "items": [1, 5, 9]}
    assert env.evaluate('form.get("pages", 0) > 10', data) is True
    assert env.evaluate('form.get("missing", "none")', data) == "none"
    assert env.evaluate("[x * 2 for x in items if x > 1]", data) == [10, 18]


def test_a_condition_with_leading_spaces_works_as_with_plain_eval(env):
    assert env.evaluate("   amount > 3", {"amount": 4}) is True


def test_a_script_writes_new_keys_into_task_data(env):
    data = {"items": [3, 4, 5], "applicant": {"name": "张三"}}
    env.execute(
        "total = 0\n"
        "for item in items:\n"
        "    total += item\n"
        "def double(x):\n"
        "    return x * 2\n"
        "doubled = double(total)\n"
        "first, *rest = items\n"
        "names = sorted(['b', 'a'], key=lambda s: s)\n"
        "greeting = 'hello ' + applicant['name']\n"
        "squares = {i: i ** 2 for i in range(3)}\n"
        "applicant['checked'] = True\n",
        data)
    assert data["total"] == 12 and data["doubled"] == 24
    assert data["first"] == 3 and data["rest"] == [4, 5]
    assert data["names"] == ["a", "b"]
    assert data["greeting"] == "hello 张三"
    assert data["squares"] == {0: 0, 1: 1, 2: 4}
    assert data["applicant"]["checked"] is True


def test_helpers_are_callable_from_conditions_and_scripts(env):
    data = {"days": 3}
    assert env.evaluate("deadline(days)", data) == "2026-01-03T17:00:00+08:00"
    env.execute("due = deadline(days + 1)", data)
    assert data["due"] == "2026-01-04T17:00:00+08:00"


def test_helpers_builtins_and_script_functions_do_not_leak_into_task_data(env):
    data = {"n": 2}
    env.execute(
        "def helper(x):\n    return x\nf = len\nresult = helper(deadline(n))\nprint(result)",
        data, external_context={"data_object": 1})
    assert data == {"n": 2, "result": "2026-01-02T17:00:00+08:00"}


def test_task_data_that_hides_a_helper_is_refused(env):
    with pytest.raises(ScriptError, match="deadline"):
        env.execute("x = 1", {"deadline": "2026-01-01"})


def test_a_missing_attribute_raises_instead_of_reading_as_none(env):
    with pytest.raises(AttributeError):
        env.evaluate("amount.nothing", {"amount": 1})


def test_ordinary_runtime_errors_keep_their_type_for_spiffworkflow(env):
    with pytest.raises(NameError):
        env.evaluate("undefined_field == 1", {})


def test_compiled_code_is_cached_so_repeated_conditions_skip_the_compiler(env):
    source = 'share_class == "cached-condition"'
    env.evaluate(source, {"share_class": "x"})
    misses = _compile.cache_info().misses
    for _ in range(100):
        env.evaluate(source, {"share_class": "x"})
    assert _compile.cache_info().misses == misses


# --- forbidden constructs ------------------------------------------------------------

@pytest.mark.parametrize(("construct", "named"), [
    ("import os\nos.system('touch {marker}')", "import os"),
    ("__import__('os').system('touch {marker}')", "__import__"),
    ("().__class__.__base__.__subclasses__()", "__class__"),
    ("getattr(x, '__class__')", "getattr"),
    ("open('{marker}', 'w')", "open"),
    ("exec(\"open('{marker}', 'w')\")", "exec"),
    ("eval('1')", "eval"),
    ("class Sneaky: pass", "class"),
])
def test_a_forbidden_construct_is_refused_before_any_of_the_script_runs(
        env, tmp_path, construct, named):
    marker = tmp_path / "created"
    data = {"x": 1}
    with pytest.raises(ScriptError, match="refused by the sandbox") as error:
        env.execute("ran = True\n" + construct.format(marker=marker), data)
    assert named in str(error.value)
    assert "ran" not in data
    assert not marker.exists()


def test_a_forbidden_condition_is_refused_too(env):
    with pytest.raises(ScriptError, match="__class__"):
        env.evaluate("x.__class__", {"x": 1})


# --- time limit and enormous results -------------------------------------------------

@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "squares = [i for i in range(10**12)]",
    "total = sum(range(10**12))",
    "found = 'x' in range(10**12)",
    "def grow(n):\n    return grow(n - 1) + grow(n - 1) if n else 1\ngrow(200)",
    "grow = lambda n: grow(n - 1) + grow(n - 1) if n else 1\ngrow(200)",
    "while True:\n    try:\n        while True:\n            pass\n"
    "    except Exception:\n        pass",
])
def test_runaway_scripts_stop_at_the_time_limit(env, script):
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"exceeded the time limit of 0\.2 s"):
        env.execute(script, {})
    assert time.monotonic() - started < 2


def test_a_runaway_condition_stops_at_the_time_limit(env):
    started = time.monotonic()
    with pytest.raises(ScriptError, match=r"expression exceeded the time limit of 0\.2 s"):
        env.evaluate("any(i < 0 for i in range(10**12))", {})
    assert time.monotonic() - started < 2


def test_the_time_limit_message_names_the_line_that_was_running(env):
    with pytest.raises(ScriptError, match="line 3"):
        env.execute("a = 1\nb = 2\nwhile True:\n    a += 1", {})


@pytest.mark.parametrize("script", [
    "x = 10 ** 10 ** 10", "x = pow(10, 10 ** 10)", "x = 'a' * 10 ** 10",
    "x = [0] * 10 ** 10", "x = 1 << 10 ** 10", "x = [1]\nx *= 10 ** 10",
    "s = 'ab'\nwhile True:\n    s = s + s",
])
def test_enormous_results_are_refused_instead_of_computed(env, script):
    started = time.monotonic()
    with pytest.raises(ScriptError, match="would be too large"):
        env.execute(script, {})
    assert time.monotonic() - started < 2


def test_ordinary_arithmetic_is_unaffected_by_the_size_guards(env):
    data = {"n": 3}
    env.execute("a = 2 ** 10\nb = 'ab' * n\nc = [0] * n\nd = 1 << 4\ne = [1]\ne += [2]\n"
                "f = n * 1.5\ng = pow(3, 4, 5)", data)
    assert (data["a"], data["b"], data["c"], data["d"]) == (1024, "ababab", [0, 0, 0], 16)
    assert (data["e"], data["f"], data["g"]) == ([1, 2], 4.5, 1)


def test_a_time_limit_must_be_positive():
    with pytest.raises(ValueError):
        SandboxedEnvironment(time_limit=0)


# --- deploy-time checking ------------------------------------------------------------

def test_check_script_accepts_good_conditions_and_scripts():
    assert check_script('share_class == "conditional"', "eval") is None
    assert check_script("total = 0\nfor x in [1, 2]:\n    total += x", "exec") is None


def test_check_script_names_the_line_of_a_forbidden_construct():
    message = check_script("a = 1\nb = 2\nimport os", "exec")
    assert message is not None and "Line 3" in message and "import" in message


def test_check_script_names_the_line_of_a_syntax_error():
    message = check_script("a = 1\nb = (", "exec")
    assert message is not None and "Line 2" in message and "SyntaxError" in message


def test_check_script_refuses_a_statement_where_a_condition_is_expected():
    assert check_script("x = 1", "eval") is not None


# --- through SpiffWorkflow -----------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="http://govflow.test/sandbox">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="script"/>
    <bpmn:scriptTask id="script"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="script" targetRef="gateway"/>
    <bpmn:exclusiveGateway id="gateway" default="f5"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing><bpmn:outgoing>f5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f4" sourceRef="gateway" targetRef="conditional_end">
      <bpmn:conditionExpression>share_class == "conditional"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="gateway" targetRef="other_end"/>
    <bpmn:endEvent id="conditional_end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="other_end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def start_workflow(script: str, engine=None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(script=script).encode("utf-8"))
    workflow = BpmnWorkflow(parser.get_spec("proc"), script_engine=engine)
    workflow.do_engine_steps()
    return workflow


def finish_review(workflow: BpmnWorkflow) -> None:
    [review] = workflow.get_tasks(state=TaskState.READY, manual=True)
    review.run()
    workflow.do_engine_steps()


def reattach(workflow: BpmnWorkflow, engine) -> BpmnWorkflow:
    """Stands in for the engine code that reattaches the script engine after a load."""
    workflow.script_engine = engine
    return workflow


def escape(marker) -> str:
    return f"share_class = 'open'\n__import__('os').system('touch {marker}')"


def test_a_sandboxed_workflow_runs_scripts_helpers_and_conditions():
    engine = make_script_engine({"deadline": fake_deadline})
    workflow = start_workflow("share_class = 'conditional'\ndue = deadline(2)", engine)
    finish_review(workflow)
    assert workflow.is_completed()
    [end] = workflow.get_tasks(spec_name="conditional_end")
    assert end.state == TaskState.COMPLETED
    assert end.data["due"] == "2026-01-02T17:00:00+08:00"
    assert "deadline" not in end.data


def test_without_the_sandbox_the_escape_script_really_runs(tmp_path):
    marker = tmp_path / "escaped"
    workflow = start_workflow(escape(marker))
    finish_review(workflow)
    assert workflow.is_completed()
    assert marker.exists()  # proves the sandboxed tests below would notice an escape


def test_a_sandboxed_workflow_refuses_the_escape_script(tmp_path):
    marker = tmp_path / "escaped"
    workflow = start_workflow(escape(marker),
                              make_script_engine())
    with pytest.raises(WorkflowTaskException, match="refused by the sandbox"):
        finish_review(workflow)
    assert not marker.exists()


def test_deserializing_drops_the_sandbox_and_reattaching_restores_it(tmp_path):
    marker = tmp_path / "escaped"
    engine = make_script_engine()
    workflow = start_workflow(escape(marker), engine)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    loaded = serializer.deserialize_json(serializer.serialize_json(workflow))
    assert not isinstance(loaded.script_engine.environment, SandboxedEnvironment)

    reattach(loaded, engine)
    assert loaded.script_engine.environment is engine.environment
    with pytest.raises(WorkflowTaskException, match="refused by the sandbox"):
        finish_review(loaded)
    assert not marker.exists()
