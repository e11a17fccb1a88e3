"""The compile-time policy of the script sandbox: RestrictedPython's, plus refusals of
imports, classes and dangerous calls, guard calls injected around operators, comparisons,
keys and formatted values, and deploy-time refusal of constants that are bound to be too
large. engine/scripts/sandbox.py compiles with it."""

from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.errors import ScriptError
from engine.scripts import guards
from engine.scripts.guards import (
    guarded_add,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
)

# Calls refused at compile time. The names are not in the builtins either; refusing the
# call gives a clear message instead of a NameError, while a task-data field that merely
# happens to be called `type` or `open` can still be read.
FORBIDDEN_CALLS = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr",
    "type", "vars", "globals", "locals", "dir", "breakpoint", "input", "help", "exit",
    "quit", "memoryview", "super", "object", "classmethod", "staticmethod", "property",
    "iter", "next", "format", "ascii",
})

_BINOPS = {ast.Pow: guarded_pow, ast.Mult: guarded_mul, ast.Add: guarded_add,
           ast.LShift: guarded_lshift, ast.Mod: guarded_mod}
_BINOP_GUARDS = {ast.Pow: "_guarded_pow_", ast.Mult: "_guarded_mul_",
                 ast.Add: "_guarded_add_", ast.LShift: "_guarded_lshift_",
                 ast.Mod: "_guarded_mod_"}
_SET_OPERATORS = (ast.BitOr, ast.BitAnd, ast.BitXor, ast.Sub)
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
        if guard:
            return _call(guard, [node.left, node.right], node)
        if isinstance(node.op, _SET_OPERATORS):  # set and dict-view operators hash items
            node.left = self._guarded("_combined_", node.left)
            node.right = self._guarded("_combined_", node.right)
        return node

    def _refuse_if_too_big(self, node: ast.AST) -> None:
        """A constant expression that is bound to be refused is refused at deploy time."""
        try:
            _static(node)
        except ScriptError as exc:
            self.error(node, exc.message)

    def _guarded(self, name: str, node: ast.expr) -> ast.expr:
        """`name(node)`, unless node is a constant or a display of constants."""
        if isinstance(node, ast.Constant) or (
                isinstance(node, ast.List | ast.Tuple | ast.Set) and len(node.elts) <= 64
                and all(isinstance(elt, ast.Constant) for elt in node.elts)):
            return node
        return _call(name, [node], node)

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

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        node = super().visit_SetComp(node)
        node.elt = self._guarded("_hashed_", node.elt)
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        node = super().visit_DictComp(node)
        node.key = self._guarded("_hashed_", node.key)
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
