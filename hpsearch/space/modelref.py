"""The ``model:`` key: which function builds each trial's model, and its parameters, read without importing it.

``model: mlp`` (the default) is the built-in MLP. Otherwise ``"path/to/file.py:function"`` (relative
to the config file's folder, or absolute) or ``"package.module:function"``. The function is called
as ``function(input_shape, num_classes, **model_params)``; its keyword parameters are hyperparameters.

Here the reference is resolved and the function's **signature is read from its source with ``ast``**,
never by importing it: ``validate`` and ``sample`` check a config's names against the function's
parameters without running user code (or importing torch). The commands that train import the
function (``hpsearch.training.usermodel``) and check the names again against the real signature,
before anything is written. A file's text is kept in ``ModelRef.source`` and travels with every
trial, so a worker process or another machine (Ray) can import the same code without the file.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.machinery
import importlib.util
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

BUILTIN = "mlp"
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
_FUNCTION = re.compile(r"[A-Za-z_]\w*\Z")
NO_LITERAL = object()  # a default that is not a literal (``nn.ReLU``, ``2 * WIDTH``): its value is unknown here


class ModelRefError(ValueError):
    """The reference is malformed, or its file, module or function cannot be found or read."""


@dataclass(frozen=True)
class ModelParameter:
    """A keyword parameter of the model function: a hyperparameter a config may fix or search."""

    name: str
    required: bool  # no default: the config must fix or search it
    default: Any = NO_LITERAL  # the default when it is a literal (used to check that ints get ints)


@dataclass(frozen=True)
class ModelRef:
    """Where a trial's model comes from. ``parameters`` is None when the signature is not known
    here (the name is bound by an import or an assignment, or the run folder's copy is read back
    without the file); then the names are checked only when a training command imports it."""

    reference: str = BUILTIN  # as the config wrote it
    function: str = ""
    path: str | None = None  # a file reference: the absolute path
    module: str | None = None  # a module reference: the dotted name
    source: str | None = None  # a file reference: its text, shipped to workers with each trial
    parameters: tuple[ModelParameter, ...] | None = ()
    var_keyword: bool = False  # the function takes **kwargs: any name may be passed

    @property
    def builtin(self) -> bool:
        return self.reference == BUILTIN

    @property
    def written(self) -> str:
        """The reference as a run folder's config.yaml keeps it: a file by its absolute path, so
        ``hpsearch resume`` finds it from any folder."""
        return f"{self.path}:{self.function}" if self.path is not None else self.reference

    @property
    def sha256(self) -> str | None:
        return None if self.source is None else hashlib.sha256(self.source.encode()).hexdigest()

    def names(self) -> list[str]:
        return [p.name for p in self.parameters or ()]

    def describe(self) -> dict[str, Any]:
        """What run.json and best_model.pt record: enough to find the code again and see it changed."""
        return {"reference": self.written, "function": self.function, "path": self.path, "module": self.module,
                "sha256": self.sha256}


MLP = ModelRef()


def parse_reference(text: Any, base_dir: Path | None) -> ModelRef:
    """The reference's parts, without reading anything: ``mlp``, ``file.py:function`` or ``module:function``.

    >>> parse_reference("models.cnn:build", None).module
    'models.cnn'
    """
    if text == BUILTIN:
        return MLP
    if not isinstance(text, str) or text.count(":") < 1:
        raise ModelRefError(f"must be mlp, \"path/to/file.py:function\" or \"package.module:function\", got {text!r}")
    where, function = text.rsplit(":", 1)
    if not _FUNCTION.match(function):
        raise ModelRefError(f"{function!r} after the ':' in {text!r} is not a Python name; write \"file.py:function\"")
    if where.endswith(".py"):
        path = Path(where).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return ModelRef(text, function, path=str(path.resolve()), parameters=None)
    if not _MODULE.match(where):
        raise ModelRefError(f"{where!r} in {text!r} is neither a .py file nor a dotted module name")
    return ModelRef(text, function, module=where, parameters=None)


def read_model(ref: ModelRef) -> ModelRef:
    """``ref`` with its source and the function's parameters, read from the source (nothing imported)."""
    if ref.builtin:
        return ref
    if ref.path is not None:
        path = Path(ref.path)
        if not path.is_file():
            raise ModelRefError(f"model file {path} does not exist (a relative path is read from the config file's folder)")
        source = path.read_text(encoding="utf-8")
        return replace(ref, source=source, **_signature(source, str(path), ref.function))
    found = _module_source(str(ref.module))
    if found is None:  # importable but not as Python source here (compiled, zipped): checked when training
        return ref
    return replace(ref, **_signature(found[1], found[0], ref.function))


def _module_source(dotted: str) -> tuple[str, str] | None:
    """(file, text) of a module's source, located without importing it or its packages.
    Raises ModelRefError if it cannot be found at all."""
    parts = dotted.split(".")
    spec = importlib.util.find_spec(parts[0])  # a top-level name: finders only, no package code runs
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            break
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), list(spec.submodule_search_locations))
    if spec is None:
        raise ModelRefError(f"module {dotted} is not importable here (not installed, or not on PYTHONPATH)")
    if not spec.origin or not spec.origin.endswith(".py"):
        return None
    return spec.origin, Path(spec.origin).read_text(encoding="utf-8")


def _signature(source: str, filename: str, function: str) -> dict[str, Any]:
    """The function's hyperparameters: every parameter after (input_shape, num_classes)."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise ModelRefError(f"{filename}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    bound = _top_level_bindings(tree)
    node = bound.get(function)
    if node is None:
        if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in tree.body):
            return {"parameters": None}  # a star import may bind it
        close = difflib.get_close_matches(function, [n for n, b in bound.items() if isinstance(b, _DEFS)], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ModelRefError(f"{filename} defines no function {function!r}{hint}")
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is None:
            return {"parameters": None}
        return _parameters(init.args, skip=3, where=f"{filename}:{init.lineno}: {function}.__init__")
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _parameters(node.args, skip=2, where=f"{filename}:{node.lineno}: {function}")
    return {"parameters": None}  # bound by an import or an assignment: read when imported


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _top_level_bindings(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level names and the statement that binds them last (inside if/try/with blocks too)."""
    bound: dict[str, ast.AST] = {}
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, _DEFS):
            bound[node.name] = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        bound[name.id] = node
        elif isinstance(node, ast.If | ast.Try | ast.With):
            stack[:0] = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                         *(s for h in getattr(node, "handlers", []) for s in h.body)]
    return bound


def _parameters(args: ast.arguments, skip: int, where: str) -> dict[str, Any]:
    """Parameters after the first ``skip`` positional ones (self, input_shape, num_classes)."""
    positional = [*args.posonlyargs, *args.args]
    if len(positional) < skip and args.vararg is None:
        raise ModelRefError(f"{where} must take (input_shape, num_classes, ...) as its first two parameters")
    if len(args.posonlyargs) > skip:
        raise ModelRefError(f"{where}: {args.posonlyargs[skip].arg} is positional-only; "
                            "hyperparameters are passed by keyword")
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True)][skip:] + list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    params = tuple(ModelParameter(a.arg, d is None, NO_LITERAL if d is None else _literal(d)) for a, d in pairs)
    return {"parameters": params, "var_keyword": args.kwarg is not None}


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return NO_LITERAL
