"""A RestrictedPython sandbox for BPMN conditions, scripts and timer expressions.

SpiffWorkflow runs every expression with plain ``eval``/``exec``, so a process model
could run ``__import__('os').system(...)`` or loop forever. `SandboxedEnvironment`
keeps SpiffWorkflow's data contract (scripts read and write task data directly) but
compiles with RestrictedPython and a stricter policy:

* compile time: no imports, no class definitions, no names or attributes starting with
  ``_``, no calls to getattr/open/exec/eval/type/vars/globals and friends. A rejected
  source raises `ScriptError` before any of it runs; `check_script` reports the same
  message at deploy time.
* run time: only RestrictedPython's guards, a set of harmless builtins and the helpers
  the engine passes in are visible. ``**``, ``*``, ``+`` and ``<<`` refuse results that
  would be enormous, and a time limit stops runaway code without threads or signals:
  the policy puts a `_loop_tick_()` call at the top of every loop body, function and
  lambda, and every guarded iteration (comprehensions, unpacking, ``range``) ticks too.

Ordinary runtime errors (NameError, KeyError, ...) propagate unchanged so that
SpiffWorkflow can still report the script line and its "did you mean" hints.
Deserializing a workflow drops its script engine: reattach one after every load.
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import functools
import math
import operator
import time
from collections.abc import Callable, Mapping
from types import CodeType

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from engine.errors import ScriptError

MAX_INT_BITS = 100_000            # ~30,000 decimal digits; far beyond any date or amount
MAX_SEQUENCE_LENGTH = 10_000_000  # characters of a str or items of a list/tuple

# Calls refused at compile time. The names are not in the builtins either; refusing the
# call gives a clear message instead of a NameError, while a task-data field that merely
# happens to be called `type` or `open` can still be read.
FORBIDDEN_CALLS = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr",
    "type", "vars", "globals", "locals", "dir", "breakpoint", "input", "help", "exit",
    "quit", "memoryview", "super", "object", "classmethod", "staticmethod", "property",
})
EXTRA_BUILTINS = (
    "len", "min", "max", "sum", "sorted", "any", "all", "dict", "list", "set", "tuple",
    "enumerate", "zip", "str", "int", "float", "bool", "abs", "round", "isinstance",
    "reversed", "map", "filter",
)
_SEQUENCES = (str, bytes, list, tuple)


class _TimeUp(BaseException):
    """Raised by the tick; a BaseException so a script's `except Exception` cannot
    swallow it. The environment turns it into ScriptError at the boundary."""


# Deadline (time.monotonic()) of the sandbox run in progress in this thread/task, or None.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "govflow_sandbox_deadline", default=None)


def _loop_tick() -> None:
    deadline = _DEADLINE.get()
    if deadline is None:
        raise ScriptError("sandboxed code can only run inside a sandbox evaluate/execute")
    if time.monotonic() > deadline:
        raise _TimeUp


def _ticking(iterable):
    """Iterate as usual, but tick once per item."""
    for item in iterable:
        _loop_tick()
        yield item


def _getiter(iterable):
    """The `_getiter_` guard: makes comprehensions and unpacking tick; a sandbox range
    already ticks and need not be wrapped twice."""
    return iter(iterable) if type(iterable) is _Range else _ticking(iterable)


class _Range:
    """`range` whose iteration ticks, so that C code consuming it (sum, list, sorted,
    dict.fromkeys, `[*r]`, ...) is still stopped by the time limit."""

    __slots__ = ("_r",)

    def __init__(self, *args: int) -> None:
        self._r = range(*args)

    def __iter__(self):
        return _ticking(self._r)

    def __reversed__(self):
        return _ticking(reversed(self._r))

    def __len__(self) -> int:
        return len(self._r)

    def __contains__(self, value: object) -> bool:
        # O(1) for ints only; anything else would be a linear scan in C.
        return value in self._r if isinstance(value, int) else any(value == i for i in self)

    def __getitem__(self, index):
        item = self._r[index]  # a slice is a range again, and must tick as well
        return _Range(item.start, item.stop, item.step) if isinstance(item, range) else item


def _too_big(what: str) -> ScriptError:
    return ScriptError(
        f"{what} would be too large: the sandbox refuses integers over {MAX_INT_BITS:,} bits "
        f"and sequences over {MAX_SEQUENCE_LENGTH:,} items")


def _guarded_pow(base, exp, mod=None):
    if (mod is None and isinstance(base, int) and isinstance(exp, int) and exp > 1
            and abs(base) > 1 and exp * math.log2(abs(base)) > MAX_INT_BITS):
        raise _too_big("this power")
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def _guarded_mul(a, b, op=operator.mul):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_big("this multiplication")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int) or (
            isinstance(b, _SEQUENCES) and isinstance(a, int)):
        seq, times = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        if len(seq) * times > MAX_SEQUENCE_LENGTH:
            raise _too_big(f"repeating a {type(seq).__name__} {times} times")
    return op(a, b)


def _guarded_add(a, b, op=operator.add):
    if (isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES)
            and len(a) + len(b) > MAX_SEQUENCE_LENGTH):
        raise _too_big("this concatenation")
    return op(a, b)


def _guarded_lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        raise _too_big("this shift")
    return a << b


_INPLACE: dict[str, Callable] = {
    "+=": lambda a, b: _guarded_add(a, b, operator.iadd),
    "*=": lambda a, b: _guarded_mul(a, b, operator.imul),
    "**=": _guarded_pow, "<<=": _guarded_lshift, "-=": operator.isub,
    "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior,
    "^=": operator.ixor, "@=": operator.imatmul,
}

_GUARDS: dict[str, object] = {
    "_getattr_": safer_getattr_raise,  # plain safer_getattr turns a missing attribute into None
    "_getitem_": operator.getitem, "_getiter_": _getiter, "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, a, b: _INPLACE[op](a, b),
    "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_print_": PrintCollector,  # print() output is collected and discarded
    "_loop_tick_": _loop_tick, "_guarded_pow_": _guarded_pow, "_guarded_mul_": _guarded_mul,
    "_guarded_add_": _guarded_add, "_guarded_lshift_": _guarded_lshift,
}
_BINOP_GUARDS = {ast.Pow: "_guarded_pow_", ast.Mult: "_guarded_mul_",
                 ast.Add: "_guarded_add_", ast.LShift: "_guarded_lshift_"}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, like))


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus our refusals and the injected guard calls."""

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        names = ", ".join(alias.name for alias in node.names)
        where = f"from {node.module} " if isinstance(node, ast.ImportFrom) else ""
        self.error(node, f"import statements are not allowed ({where}import {names})")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, f"class definitions are not allowed (class {node.name})")
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            self.error(node, f"calling {node.func.id}() is not allowed")
            return self.node_contents_visit(node)
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return _call(guard, [node.left, node.right], node) if guard else node

    def _tick_first(self, node):
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_loop_tick_", [], node)), node))
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        return self._tick_first(super().visit_While(node))

    def visit_For(self, node: ast.For) -> ast.AST:
        return self._tick_first(super().visit_For(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        # Recursion needs no loop: `def f(n): return f(n-1) + f(n-1)` must tick too.
        return self._tick_first(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(  # lambda: _loop_tick_() or <body>
            ast.BoolOp(ast.Or(), [_call("_loop_tick_", [], node), node.body]), node.body)
        return node


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> tuple[CodeType | None, str | None]:
    """Compile once per (source, mode): a gateway condition is evaluated for every case."""
    if mode == "eval":
        source = source.lstrip(" \t")  # as builtins.eval() does
        compiler = compile_restricted_eval
    elif mode == "exec":
        compiler = compile_restricted_exec
    else:
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    try:
        # '<string>' is the file name SpiffWorkflow looks for to report the failing line.
        result = compiler(source, filename="<string>", policy=SandboxPolicy)
    except (ValueError, RecursionError) as exc:  # e.g. NUL bytes, absurd nesting
        return None, f"Line 1: {exc}"
    if result.errors:
        return None, "; ".join(error.rstrip(".") for error in result.errors)
    return result.code, None


def check_script(source: str, mode: str) -> str | None:
    """Why the sandbox would refuse `source` (syntax or policy, with line numbers), or None."""
    return _compile(source, mode)[1]


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running RestrictedPython code under a time limit.

    Data semantics match TaskDataEnvironment: evaluate sees the task data, execute
    writes into it, and afterwards callables, helpers and external context are removed
    from it. Helpers and builtins live in ``__builtins__``, so they never enter the data.
    """

    def __init__(self, helpers: Mapping[str, Callable] | None = None, *,
                 time_limit: float = 0.5) -> None:
        helpers = dict(helpers or {})
        bad = [name for name in helpers if not name.isidentifier() or name.startswith("_")]
        if bad:
            raise ValueError(f"helper names must be identifiers not starting with '_': {bad}")
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        super().__init__(helpers)
        self.time_limit = time_limit
        allowed = {name: value for name, value in safe_builtins.items()
                   if name not in ("__build_class__", "setattr", "delattr")}
        allowed.update({name: getattr(builtins, name) for name in EXTRA_BUILTINS})
        allowed.update(range=_Range, pow=_guarded_pow, **_GUARDS)
        allowed.update(helpers)
        self._builtins = allowed

    def evaluate(self, expression, context, external_context=None):
        code = self._code(expression, "eval", "expression")
        my_globals = dict(external_context or {})
        my_globals.update(context)
        my_globals["__builtins__"] = self._builtins
        return self._run(eval, code, my_globals, "expression")

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = self._code(script, "exec", "script")
        before = set(context)
        context.update(external_context)
        context["__builtins__"] = self._builtins
        try:
            self._run(exec, code, context, "script")
        finally:
            self._clean(context, external_context, before)
        return True

    def check_for_overwrite(self, context, external_context):
        clash = (set(self.globals) | set(external_context)) & set(context)
        if clash:
            raise ScriptError(
                "task data overwrites predefined function(s); rename these fields: "
                f"{', '.join(sorted(clash))}")

    def _code(self, source: str, mode: str, kind: str) -> CodeType:
        code, error = _compile(source, mode)
        if error:
            raise ScriptError(f"{kind} refused by the sandbox: {error}", source=source)
        return code

    def _run(self, run, code, namespace, kind):
        deadline = time.monotonic() + self.time_limit
        outer = _DEADLINE.get()  # a helper running a nested sandbox keeps the outer limit
        token = _DEADLINE.set(deadline if outer is None else min(deadline, outer))
        try:
            return run(code, namespace)
        except _TimeUp as exc:
            tb, line = exc.__traceback__, None
            while tb is not None:  # report the innermost line of the script that was running
                if tb.tb_frame.f_code.co_filename == "<string>":
                    line = tb.tb_lineno
                tb = tb.tb_next
            where = f" (stopped at line {line})" if line else ""
            raise ScriptError(
                f"{kind} exceeded the time limit of {self.time_limit:g} s{where}") from None
        finally:
            _DEADLINE.reset(token)

    def _clean(self, context, external_context, before) -> None:
        for key in list(context):
            if (key == "__builtins__" or callable(context[key]) or key in self.globals
                    or key in external_context
                    or (isinstance(key, str) and key.startswith("_") and key not in before)):
                del context[key]


def make_script_engine(helpers: Mapping[str, Callable] | None = None, *,
                       time_limit: float = 0.5) -> PythonScriptEngine:
    """A SpiffWorkflow PythonScriptEngine whose every expression and script is sandboxed."""
    return PythonScriptEngine(environment=SandboxedEnvironment(helpers, time_limit=time_limit))
