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
import functools
import operator
import time
from collections.abc import Callable, Mapping
from types import CodeType, MappingProxyType

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from engine import guards
from engine.errors import ScriptError
from engine.guards import (
    CURRENT,
    MemoryUp,
    Run,
    TimeUp,
    compared,
    guarded_add,
    guarded_format,
    guarded_getitem,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    hashed,
    tick,
)
from engine.model_limits import ModelScriptEngine
from engine.sandbox_builtins import getiter, guarded_getattr, make_builtins

# Calls refused at compile time. The names are not in the builtins either; refusing the
# call gives a clear message instead of a NameError, while a task-data field that merely
# happens to be called `type` or `open` can still be read.
FORBIDDEN_CALLS = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr",
    "type", "vars", "globals", "locals", "dir", "breakpoint", "input", "help", "exit",
    "quit", "memoryview", "super", "object", "classmethod", "staticmethod", "property",
    "iter", "next", "format", "ascii",
})

_INPLACE: dict[str, Callable] = {
    "+=": lambda a, b: guarded_add(a, b, operator.iadd),
    "*=": lambda a, b: guarded_mul(a, b, operator.imul),
    "**=": guarded_pow, "<<=": lambda a, b: guarded_lshift(a, b, operator.ilshift),
    "%=": lambda a, b: guarded_mod(a, b, operator.imod), "-=": operator.isub,
    "/=": operator.itruediv, "//=": operator.ifloordiv,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior,
    "^=": operator.ixor, "@=": operator.imatmul,
}

_GUARDS: dict[str, object] = {
    "_getattr_": guarded_getattr, "_getitem_": guarded_getitem, "_getiter_": getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, a, b: _INPLACE[op](a, b),
    "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_print_": PrintCollector,  # print() output is collected and discarded
    "_loop_tick_": tick, "_guarded_pow_": guarded_pow, "_guarded_mul_": guarded_mul,
    "_guarded_add_": guarded_add, "_guarded_lshift_": guarded_lshift,
    "_guarded_mod_": guarded_mod, "_format_": guarded_format, "_compared_": compared,
    "_hashed_": hashed,
}
_BINOPS = {ast.Pow: guarded_pow, ast.Mult: guarded_mul, ast.Add: guarded_add,
           ast.LShift: guarded_lshift, ast.Mod: guarded_mod}
_BINOP_GUARDS = {ast.Pow: "_guarded_pow_", ast.Mult: "_guarded_mul_",
                 ast.Add: "_guarded_add_", ast.LShift: "_guarded_lshift_",
                 ast.Mod: "_guarded_mod_"}
_NOT_STATIC = object()
_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})


def _static(node: ast.AST):
    """The value of a constant expression made of literals and guarded operators."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _static(node.operand)
        return -value if isinstance(value, int | float) else _NOT_STATIC
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= 16:
        values = [_static(elt) for elt in node.elts]
        if _NOT_STATIC in values:
            return _NOT_STATIC
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _static(node.left), _static(node.right)
        if left is _NOT_STATIC or right is _NOT_STATIC:
            return _NOT_STATIC
        try:
            return _BINOPS[type(node.op)](left, right)
        except ScriptError:
            raise
        except Exception:  # noqa: BLE001 - e.g. 1 % 0: a run-time error, not ours to judge
            return _NOT_STATIC
    return _NOT_STATIC


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
        self._refuse_constant_call(node)
        return super().visit_Call(node)

    def _refuse_constant_call(self, node: ast.Call) -> None:
        """`'a'.ljust(10**9)`, `bytes(10**9)`, `pow(3, 2**99999, 7)` with constant
        arguments are refused at deploy time, as they would be at run time."""
        try:
            args = [_static(arg) for arg in node.args]
        except ScriptError as exc:
            self.error(node, exc.message)
            return
        if node.keywords or _NOT_STATIC in args:
            return
        func, check = node.func, None
        if isinstance(func, ast.Name) and func.id in ("bytes", "pow", "round"):
            check = {"bytes": lambda n, *a: guards.width(n // 100, "bytes()"),
                     "pow": guards.check_pow,
                     "round": lambda n, digits: guards.width(digits, "round() digits")}[func.id]
        elif (isinstance(func, ast.Attribute) and func.attr in _PADDING
              and isinstance(func.value, ast.Constant) and args):
            check = lambda *a: guards.width(a[0], f"{func.attr}() width")  # noqa: E731
        if check is None:
            return
        try:
            check(*args)
        except ScriptError as exc:
            self.error(node, exc.message)
        except Exception:  # noqa: BLE001 - wrong arguments fail at run time as usual
            pass

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self._refuse_if_too_big(node)
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return _call(guard, [node.left, node.right], node) if guard else node

    def _refuse_if_too_big(self, node: ast.AST) -> None:
        """A constant expression that is bound to be refused is refused at deploy time."""
        try:
            _static(node)
        except ScriptError as exc:
            self.error(node, exc.message)

    def _guarded(self, name: str, node: ast.expr) -> ast.expr:
        return node if isinstance(node, ast.Constant) else _call(name, [node], node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        # Comparing (and `in`, which hashes) walks nested data in C: check its size first.
        node = self.node_contents_visit(node)
        node.left = self._guarded("_compared_", node.left)
        node.comparators = [self._guarded("_compared_", c) for c in node.comparators]
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        node = self.node_contents_visit(node)
        node.keys = [k if k is None else self._guarded("_hashed_", k) for k in node.keys]
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        node = self.node_contents_visit(node)
        node.elts = [self._guarded("_hashed_", e) for e in node.elts]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        node = super().visit_Subscript(node)
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                and not isinstance(node.slice, ast.Slice)):
            node.slice = self._guarded("_hashed_", node.slice)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # f'{x:01000000000}' builds a 1 GB string in C: widths and sizes are checked first.
        spec = node.format_spec
        if spec is not None and all(isinstance(v, ast.Constant) for v in spec.values):
            try:
                guards.check_format_spec("".join(str(v.value) for v in spec.values))
            except ScriptError as exc:
                self.error(node, exc.message)
        node = self.node_contents_visit(node)
        args = [node.value, ast.Constant(node.conversion),
                node.format_spec or ast.Constant("")]
        node.value, node.conversion, node.format_spec = _call("_format_", args, node), -1, None
        return node

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
                 time_limit: float = 0.5, memory_limit: int = guards.MAX_MEMORY_GROWTH) -> None:
        helpers = dict(helpers or {})
        bad = [name for name in helpers if not name.isidentifier() or name.startswith("_")]
        if bad:
            raise ValueError(f"helper names must be identifiers not starting with '_': {bad}")
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        helpers = {name: _read_only(value) for name, value in helpers.items()}
        super().__init__(helpers)
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self._builtins = {**make_builtins(), **_GUARDS, **helpers}

    def evaluate(self, expression, context, external_context=None):
        code = self._code(expression, "eval", "expression")
        my_globals = dict(external_context or {})
        my_globals.update(context)
        my_globals["__builtins__"] = self._builtins
        result = self._run(eval, code, my_globals, "expression")
        return guards.weigh(result, "the value of this expression")

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = self._code(script, "exec", "script")
        before = set(context)
        context.update(external_context)
        context["__builtins__"] = self._builtins
        try:
            self._run(exec, code, context, "script")
        except BaseException:
            self._clean(context, external_context, before)
            self._drop_oversized(context)
            raise
        self._clean(context, external_context, before)
        dropped = self._drop_oversized(context)
        if dropped:
            raise ScriptError(f"the script left task data that cannot be saved: {dropped}")
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
        outer = CURRENT.get()  # a helper running a nested sandbox keeps the outer limits
        token = CURRENT.set(Run(deadline, self.memory_limit) if outer is None else outer)
        try:
            return run(code, namespace)
        except (TimeUp, MemoryUp) as exc:
            tb, line = exc.__traceback__, None
            while tb is not None:  # report the innermost line of the script that was running
                if tb.tb_frame.f_code.co_filename == "<string>":
                    line = tb.tb_lineno
                tb = tb.tb_next
            where = f" (stopped at line {line})" if line else ""
            if isinstance(exc, MemoryUp):
                raise ScriptError(f"{kind} exceeded the memory limit of "
                                  f"{self.memory_limit // 2**20} MB{where}") from None
            raise ScriptError(
                f"{kind} exceeded the time limit of {self.time_limit:g} s{where}") from None
        except MemoryError:
            raise ScriptError(f"{kind} ran out of memory") from None
        finally:
            CURRENT.reset(token)

    @staticmethod
    def _drop_oversized(context) -> str:
        """Task data is saved as JSON, in C: a value too large to walk is dropped, even
        from a script that failed half-way."""
        dropped = ""
        for key, value in list(context.items()):
            try:
                guards.check_saveable(guards.weigh(value))
            except ScriptError as exc:
                del context[key]
                dropped += f"{'; ' if dropped else ''}{key} ({exc.message})"
        return dropped

    def _clean(self, context, external_context, before) -> None:
        for key in list(context):
            if (key == "__builtins__" or callable(context[key]) or key in self.globals
                    or key in external_context
                    or (isinstance(key, str) and key.startswith("_") and key not in before)):
                del context[key]


def _read_only(value):
    """A helper value as scripts see it: a model cannot change it for the next case."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_read_only(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    return value


def make_script_engine(helpers: Mapping[str, Callable] | None = None, *,
                       time_limit: float = 0.5) -> PythonScriptEngine:
    """A SpiffWorkflow script engine whose every expression and script is sandboxed, and
    whose timer and multi-instance values are checked before SpiffWorkflow uses them."""
    return ModelScriptEngine(environment=SandboxedEnvironment(helpers, time_limit=time_limit))
