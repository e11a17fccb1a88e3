"""A RestrictedPython sandbox for BPMN conditions, scripts and timer expressions.

SpiffWorkflow runs every expression with plain ``eval``/``exec``, so a process model
could run ``__import__('os').system(...)`` or loop forever. `SandboxedEnvironment`
keeps SpiffWorkflow's data contract (scripts read and write task data directly) but
compiles with RestrictedPython and a stricter policy:

* compile time: no imports, no class definitions, no names or attributes starting with
  ``_``, no calls to getattr/open/exec/eval/type/vars/globals and friends, and no
  constant expression that is bound to be too large (``10**10**8``, ``f'{1:01000000000}'``).
  A rejected source raises `ScriptError` before any of it runs; `check_script` reports
  the same message at deploy time.
* run time: only RestrictedPython's guards, the builtins of engine/scripts/builtins.py
  and the helpers the engine passes in (read-only) are visible. Every operator, builtin
  and method that could run long in C or build a huge result checks sizes first
  (engine/scripts/guards.py), so no single C-level call holds the GIL for long. A time limit stops
  runaway Python code without threads or signals: the policy puts a `_loop_tick_()` call
  at the top of every loop body, function and lambda, and every guarded iteration
  (comprehensions, unpacking, ``range``) ticks too; the tick also watches the process size.
* afterwards: task data a script leaves must be small enough to walk and saveable as
  JSON; what is not is dropped and the script fails.

Ordinary runtime errors (NameError, KeyError, ...) propagate unchanged so that
SpiffWorkflow can still report the script line and its "did you mean" hints.
Deserializing a workflow drops its script engine: reattach one after every load.
"""

from __future__ import annotations

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
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from engine.bpmn.limits import ModelScriptEngine
from engine.errors import ScriptError
from engine.scripts import guards
from engine.scripts.builtins import getiter, guarded_getattr, make_builtins
from engine.scripts.guards import (
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
from engine.scripts.policy import SandboxPolicy


class _NoPrint:
    """print() in a script is accepted and discarded, without formatting its arguments
    (printing walks nested data in C)."""

    def __init__(self, _getattr_=None) -> None:
        pass

    def _call_print(self, *objects, **kwargs) -> None:
        pass

    def __call__(self) -> str:
        return ""


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
    "_print_": _NoPrint,
    "_loop_tick_": tick, "_guarded_pow_": guarded_pow, "_guarded_mul_": guarded_mul,
    "_guarded_add_": guarded_add, "_guarded_lshift_": guarded_lshift,
    "_guarded_mod_": guarded_mod, "_format_": guarded_format, "_compared_": compared,
    "_hashed_": hashed, "_combined_": compared,
}
_PLAIN = frozenset({str, float, bool, type(None)})  # task data values that need no check


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
        snapshot = dict(context)
        before = set(snapshot)
        context.update(external_context)
        context["__builtins__"] = self._builtins
        try:
            self._run(exec, code, context, "script")
        except BaseException:
            # A failed script leaves no new values (the step is retried from the task's
            # input); what it changed in place is dropped if it can no longer be saved.
            context.clear()
            context.update(snapshot)
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
            if type(value) in _PLAIN or (type(value) is int and -2**63 <= value < 2**64):
                continue
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
