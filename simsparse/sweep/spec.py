"""Sweep specs: typed, strictly loaded YAML describing a design space.

A spec names a base hardware preset (or YAML path), one or more workloads (a builder such as
``gemm`` with its arguments, or a model with a scenario), axes over dotted config paths, the
sampling (``grid``, ``random`` or ``latin_hypercube``, seeded), constraints and the metrics to
keep::

    name: stc_density
    hardware: stc-2of4
    fidelity: roofline
    workloads:
      - {builder: gemm, args: {m: 4096, n: 4096, k: 4096, dtype: fp16}}
    axes:
      - {path: workload.prune, values: [dense, "2:4"]}
      - {path: device.core.matrix_unit.array_rows, also: [device.core.matrix_unit.array_cols], values: [8, 16, 32]}
      - {path: "device.memory[hbm].read_gb_per_s", low: 1000, high: 4000, n: 4}
    sampling: {method: grid}
    constraints: ["device.area_mm2 * n_devices <= 2000"]
    metrics: [latency_s, energy_j, utilization, bottleneck]

Hardware paths are the paths the config errors use (``device.memory[hbm].read_gb_per_s``;
levels by name or index). Workload paths start with ``workload.``: the transforms ``prune``,
``quant`` and ``routing``, a builder argument (``workload.m``, ``workload.ep``) or a scenario
field of a model workload (``workload.batch``, ``workload.context_len``).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from simsparse.config import load_hardware, parse_yaml, preset_path, structure, unstructure
from simsparse.config.yamlio import Lines
from simsparse.errors import ConfigError, ConfigErrors, SimsparseError, closest
from simsparse.hw import System

__all__ = [
    "BUILDERS",
    "DEFAULT_METRICS",
    "TRANSFORMS",
    "Axis",
    "Objectives",
    "Sampling",
    "SweepSpec",
    "WorkloadSpec",
    "load_sweep",
    "sweep_from_dict",
    "validate_spec",
]

log = logging.getLogger(__name__)

BUILDERS: tuple[str, ...] = ("gemm", "moe_layer", "attention", "collective")
"""Workload builders a spec may name (functions of :mod:`simsparse`)."""

TRANSFORMS: tuple[str, ...] = ("prune", "quant", "routing")
"""Workload transforms, applied in this order: ``Workload.prune``, ``.quantize``, ``.route``."""

SCENARIO_KEYS: tuple[str, ...] = ("phase", "batch", "prompt_len", "context_len", "tp", "ep", "pp", "dtype", "kv_dtype")

DEFAULT_METRICS: tuple[str, ...] = (
    "latency_s",
    "cycles",
    "energy_j",
    "utilization",
    "bottleneck",
    "tokens_per_s",
    "energy_per_token_j",
)

KNOWN_METRICS: tuple[str, ...] = (
    "hardware",
    "workload",
    "fidelity",
    "n_devices",
    "latency_s",
    "cycles",
    "compute_cycles",
    "stall_cycles",
    "energy_j",
    "static_energy_j",
    "flops",
    "utilization",
    "bottleneck",
    "bottleneck_share",
    "time_by_cause_s",
    "bytes_by_level",
    "link_bytes",
    "ttft_s",
    "tpot_s",
    "tokens",
    "tokens_per_s",
    "energy_per_token_j",
    "peak_memory_bytes",
    "extrapolated",
)
"""Summary keys of :meth:`SimResult.summary`; ``memory_*`` keys and dotted entries of the dict
metrics (``time_by_cause_s.compute``, ``bytes_by_level.hbm``) are accepted too."""

SAFE_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "log2": math.log2,
    "log10": math.log10,
}
"""The only functions a constraint may call."""

DERIVED: tuple[str, ...] = ("total_area_mm2", "total_tdp_w", "peak_bandwidth_gb_per_s")
"""Derived names usable in constraints: ``device.area_mm2 * n_devices``, ``device.tdp_w *
n_devices`` and the outermost memory level's read bandwidth of one device."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadSpec:
    """One workload of a sweep: a ``builder`` with ``args``, or a ``model`` with a ``scenario``.

    ``transforms`` holds base values of ``prune``, ``quant`` and ``routing`` (axes override
    them). ``name`` labels the rows (defaults to the builder or model name).
    """

    name: str = ""
    builder: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    scenario: dict[str, Any] = field(default_factory=dict)
    transforms: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The row label of this workload."""
        return self.name or self.builder or self.model


@dataclass(frozen=True, slots=True, kw_only=True)
class Axis:
    """One dimension of the space.

    Either ``values`` (a list) or a range ``low``..``high`` (``log`` spacing optional; ``n``
    levels for a grid; integer fields get rounded values). ``also`` lists paths set to the same
    value (``array_cols`` following ``array_rows``). ``name`` is the column (default: ``path``).
    """

    path: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    n: int = 0
    log: bool = False
    also: tuple[str, ...] = ()
    name: str = ""

    @property
    def column(self) -> str:
        """Column of the results table holding this axis."""
        return self.name or self.path

    @property
    def is_range(self) -> bool:
        """Whether the axis is a numeric range rather than a list of values."""
        return not self.values


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampling:
    """How points are drawn: the full ``grid``, or ``n`` ``random`` / ``latin_hypercube`` samples."""

    method: Literal["grid", "random", "latin_hypercube"] = "grid"
    n: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Objectives:
    """The metrics a Pareto front of the sweep minimizes and maximizes (``simsparse sweep --pareto``)."""

    minimize: tuple[str, ...] = ("latency_s", "energy_j")
    maximize: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """A design-space sweep (see the module docstring for the YAML form)."""

    name: str
    description: str = ""
    hardware: str
    workloads: tuple[WorkloadSpec, ...]
    axes: tuple[Axis, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    constraints: tuple[str, ...] = ()
    metrics: tuple[str, ...] = DEFAULT_METRICS
    fidelity: Literal["roofline", "event", "cycle"] = "event"
    pareto: Objectives = field(default_factory=Objectives)


# --------------------------------------------------------------------------- paths


def parse_path(text: str) -> tuple[str | int, ...]:
    """Split ``device.memory[hbm].read_gb_per_s`` into ``("device", "memory", "[hbm]", "read_gb_per_s")``.

    Selectors stay as ``"[...]"`` strings (an index or a name); raises ``ValueError`` on bad syntax.
    """
    parts: list[str | int] = []
    for chunk in text.split("."):
        if not chunk:
            raise ValueError(f"empty component in {text!r}")
        head, sep, rest = chunk.partition("[")
        if head:
            parts.append(head)
        elif not parts:
            raise ValueError(f"{text!r} starts with a selector")
        while sep:
            sel, close, rest = rest.partition("]")
            if not close or not sel:
                raise ValueError(f"unbalanced [] in {text!r}")
            parts.append(f"[{sel}]")
            if rest and not rest.startswith("["):
                raise ValueError(f"unexpected {rest!r} after ] in {text!r}")
            _, sep, rest = rest.partition("[")
    return tuple(parts)


def _select(container: Any, part: str | int) -> tuple[bool, Any, list[str]]:
    """``(found, key_or_index, choices)`` of ``part`` inside ``container``."""
    if isinstance(part, str) and part.startswith("["):
        sel = part[1:-1]
        if not isinstance(container, list):
            return False, None, []
        names = [str(item.get("name", item.get("pattern", ""))) if isinstance(item, dict) else "" for item in container]
        if sel.lstrip("-").isdigit():
            i = int(sel)
            if -len(container) <= i < len(container):
                return True, i, []
        elif sel in names:
            return True, names.index(sel), []
        return False, None, [f"[{n}]" for n in names if n] + [f"[{i}]" for i in range(len(container))]
    if isinstance(container, dict):
        if part in container:
            return True, part, []
        return False, None, [str(k) for k in container]
    return False, None, []


def resolve_path(data: Any, path: Sequence[str | int]) -> tuple[Any, str | int] | None:
    """The ``(parent, key)`` addressed by ``path`` in plain data, or ``None``."""
    node = data
    parent: Any = None
    key: str | int = ""
    for part in path:
        ok, k, _ = _select(node, part)
        if not ok:
            return None
        parent, key = node, k
        node = node[k]
    return (parent, key) if parent is not None else None


def get_path(data: Any, path: Sequence[str | int]) -> Any:
    """The value at ``path`` (``KeyError`` if absent)."""
    loc = resolve_path(data, path)
    if loc is None:
        raise KeyError(".".join(str(p) for p in path))
    parent, key = loc
    return parent[key]


def set_path(data: dict[str, Any], path: Sequence[str | int], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``path`` set, copying only the containers on the path."""

    def rec(node: Any, i: int) -> Any:
        ok, k, _ = _select(node, path[i])
        if not ok:
            raise KeyError(".".join(str(p) for p in path))
        new = list(node) if isinstance(node, list) else dict(node)
        new[k] = value if i == len(path) - 1 else rec(node[k], i + 1)
        return new

    out: dict[str, Any] = rec(data, 0)
    return out


def leaf_paths(data: Any, prefix: str = "") -> list[str]:
    """Every addressable path of plain hardware data (levels by name), for did-you-mean."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "sources" and not prefix:
                continue
            p = f"{prefix}.{k}" if prefix else str(k)
            out.append(p)
            out.extend(leaf_paths(v, p))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            sel = v.get("name", v.get("pattern", i)) if isinstance(v, dict) else i
            p = f"{prefix}[{sel}]"
            out.append(p)
            out.extend(leaf_paths(v, p))
    return out


def _path_error(hw: dict[str, Any], text: str, where: str) -> str | None:
    """``None`` if ``text`` addresses a hardware field, else the expected-text of the error."""
    try:
        parts = parse_path(text)
    except ValueError as exc:
        return f"a dotted path like device.memory[hbm].read_gb_per_s ({exc})"
    node: Any = hw
    for depth, part in enumerate(parts):
        ok, k, choices = _select(node, part)
        if not ok:
            done = ".".join(str(p) for p in parts[:depth]).replace(".[", "[") or "the top level"
            hint = closest(text, leaf_paths(hw)) or closest(str(part), choices)
            known = ", ".join(choices[:12]) if choices else "none (not a mapping or list)"
            return f"a config path{hint}; {part!r} is not a field of {done} (known: {known})"
        node = node[k]
    _ = where
    return None


# --------------------------------------------------------------------------- workloads


def builder_function(name: str) -> Callable[..., Any]:
    """The workload builder ``simsparse.<name>`` (``gemm``, ``moe_layer``, ...)."""
    if name not in BUILDERS:
        raise ConfigError("builder", f"one of {', '.join(BUILDERS)}{closest(name, BUILDERS)}", name)
    try:
        module = importlib.import_module("simsparse.workload")
        fn = getattr(module, name)
    except (ImportError, AttributeError):
        if name == "gemm":
            from ._fallback import gemm

            return gemm
        raise ConfigError(
            "builder", f"a builder simsparse provides (simsparse.workload.{name} is not available)", name
        ) from None
    return fn  # type: ignore[no-any-return]


def model_loader() -> Callable[..., Any]:
    """``simsparse.load_workload``."""
    try:
        import simsparse

        fn = simsparse.load_workload
    except (ImportError, AttributeError):
        raise ConfigError(
            "model", "a model workload simsparse can load (simsparse.load_workload is not available)", None
        ) from None
    return fn  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=64)
def _params(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return {}


def workload_keys(ws: WorkloadSpec) -> tuple[list[str], dict[str, inspect.Parameter]]:
    """Keys ``workload.<key>`` may name for ``ws`` and the parameters of its builder/loader."""
    fn = builder_function(ws.builder) if ws.builder else model_loader()
    keys, params = _workload_keys(fn, bool(ws.builder))
    return list(keys), dict(params)


@functools.lru_cache(maxsize=64)
def _workload_keys(fn: Callable[..., Any], is_builder: bool) -> tuple[tuple[str, ...], dict[str, inspect.Parameter]]:
    """:func:`workload_keys` of a builder or loader function (cached: every point asks; do not mutate)."""
    if is_builder:
        params = dict(_params(fn))
    else:
        params = dict(_params(fn))
        first = next(iter(params), "")
        if first and params[first].kind is not inspect.Parameter.KEYWORD_ONLY:
            params.pop(first)  # the model name
        for key in SCENARIO_KEYS:
            params.setdefault(key, inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY))
    params = {k: p for k, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and k != "name"}
    keys = tuple(sorted(set(params) | set(TRANSFORMS)))
    return keys, params


def workload_params(ws: WorkloadSpec) -> Mapping[str, inspect.Parameter]:
    """The parameters of the builder/loader of ``ws`` (shared, read-only: for per-point use)."""
    fn = builder_function(ws.builder) if ws.builder else model_loader()
    return _workload_keys(fn, bool(ws.builder))[1]


def is_transform(ws: WorkloadSpec, key: str, params: Mapping[str, Any]) -> bool:
    """Whether ``workload.<key>`` is a transform (else a builder argument / scenario field)."""
    return key in TRANSFORMS and key not in params


# --------------------------------------------------------------------------- constraints


_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Constant,
    ast.Call,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Load,
    ast.IfExp,
)


def _reference_text(node: ast.expr) -> str | None:
    """Dotted path text of a Name/Attribute/Subscript chain (``device.memory[hbm].x``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _reference_text(node.value)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, ast.Subscript):
        base = _reference_text(node.value)
        sl = node.slice
        if isinstance(sl, ast.Name):
            sel = sl.id
        elif isinstance(sl, ast.Constant) and isinstance(sl.value, (int, str)) and not isinstance(sl.value, bool):
            sel = str(sl.value)
        elif isinstance(sl, ast.UnaryOp) and isinstance(sl.op, ast.USub) and isinstance(sl.operand, ast.Constant):
            sel = f"-{sl.operand.value!s}"
        else:
            return None
        return None if base is None else f"{base}[{sel}]"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraint:
    """A parsed constraint: its text, its AST and the paths it reads."""

    text: str
    tree: ast.Expression
    refs: tuple[str, ...]


def parse_constraint(text: str) -> Constraint:
    """Parse a constraint over the safe vocabulary (numbers, comparisons, arithmetic, paths and
    :data:`SAFE_FUNCTIONS`); ``ValueError`` on anything else. Nothing is ever passed to ``eval``."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"a syntax error: {exc.msg}") from None
    refs: list[str] = []

    def walk(node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in a constraint")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS or node.keywords:
                raise ValueError(f"only calls to {', '.join(SAFE_FUNCTIONS)} are allowed")
            for arg in node.args:
                walk(arg)
            return
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            ref = _reference_text(node)
            if ref is None:
                raise ValueError(f"{ast.unparse(node)!r} is not a config path")
            refs.append(ref)
            return
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
            raise ValueError(f"constant {node.value!r} is not allowed")
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return Constraint(text=text, tree=tree, refs=tuple(dict.fromkeys(refs)))


def eval_constraint(c: Constraint, lookup: Callable[[str], Any]) -> Any:
    """Evaluate ``c`` with ``lookup(path)`` giving each referenced value."""
    import operator

    bin_ops: dict[type, Callable[[Any, Any], Any]] = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod,
        ast.Pow: operator.pow,
    }
    cmp_ops: dict[type, Callable[[Any, Any], Any]] = {
        ast.Eq: operator.eq,
        ast.NotEq: operator.ne,
        ast.Lt: operator.lt,
        ast.LtE: operator.le,
        ast.Gt: operator.gt,
        ast.GtE: operator.ge,
    }

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            return lookup(_reference_text(node) or "")
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return bin_ops[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else (+v if isinstance(node.op, ast.UAdd) else not v)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = ev(comp)
                if not cmp_ops[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return SAFE_FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover - parse_constraint rejects it

    return ev(c.tree)


def derived_value(name: str, hw: dict[str, Any]) -> float:
    """Value of a :data:`DERIVED` name for plain hardware data."""
    dev = hw["device"]
    if name == "total_area_mm2":
        return float(dev["area_mm2"]) * int(hw["n_devices"])
    if name == "total_tdp_w":
        return float(dev["tdp_w"]) * int(hw["n_devices"])
    if name == "peak_bandwidth_gb_per_s":
        return float(dev["memory"][-1]["read_gb_per_s"])
    raise KeyError(name)


# --------------------------------------------------------------------------- loading and checks


def _type_error(base: Any, value: Any) -> str | None:
    """Why ``value`` cannot replace the field value ``base`` (``None`` if it can)."""
    if base is None:
        return None
    if isinstance(base, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(base, int):
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            return "an integer"
        return None
    if isinstance(base, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "a finite number"
        return None
    if isinstance(base, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(base, dict):
        return None if isinstance(value, dict) else "a mapping"
    if isinstance(base, list):
        return None if isinstance(value, list) else "a list"
    return None


_ANNOTATED: dict[Any, Any] = {
    "int": 0,
    int: 0,
    "float": 0.0,
    float: 0.0,
    "str": "",
    str: "",
    "bool": False,
    bool: False,
}


def _param_type_error(param: inspect.Parameter | None, value: Any) -> str | None:
    if param is None:
        return None
    base = param.default
    if base is inspect.Parameter.empty or base is None:
        try:
            base = _ANNOTATED.get(param.annotation)
        except TypeError:  # unhashable annotation
            base = None
    return _type_error(base, value)


@functools.lru_cache(maxsize=16)
def _load_file(path: str, _mtime_ns: int, _size: int) -> System:
    return load_hardware(Path(path))


def base_system(hardware: str) -> System:
    """The :class:`~simsparse.hw.System` of a spec's ``hardware`` (preset name or YAML path).

    Parsed once per process and file version (keyed by path, modification time and size): the
    strict line-tracking YAML parse costs tens of milliseconds, a lot for a short sweep. Systems
    are immutable, so sharing one is safe.
    """
    text = str(hardware)
    try:
        is_file = text.endswith((".yaml", ".yml")) or os.sep in text
        path = Path(text) if is_file else preset_path("hwconfigs", text)
        st = path.stat()
        resolved = str(path.resolve())
    except (ConfigError, OSError):
        return load_hardware(text)  # raises the loader's own error
    return _load_file(resolved, st.st_mtime_ns, st.st_size)


def validate_spec(spec: SweepSpec, *, lines: Lines | None = None, file: str | None = None) -> dict[str, Any]:
    """Check every path, value type, workload, constraint and metric of ``spec`` before any work.

    Returns the base hardware as plain data. Raises :class:`ConfigErrors` listing every problem.
    """
    return validate_spec_and_system(spec, lines=lines, file=file)[0]


def validate_spec_and_system(
    spec: SweepSpec, *, lines: Lines | None = None, file: str | None = None
) -> tuple[dict[str, Any], System]:
    """:func:`validate_spec`, also returning the base :class:`~simsparse.hw.System` (loaded once)."""
    errors: list[ConfigError] = []
    lines = lines or {}

    def fail(path: tuple[str | int, ...], expected: str, got: Any, has_got: bool = True) -> None:
        text = ""
        for p in path:
            text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
        line = None
        probe = path
        while probe:
            if probe in lines:
                line = lines[probe]
                break
            probe = probe[:-1]
        errors.append(ConfigError(text, expected, got, file=file, line=line, has_got=has_got))

    try:
        system = base_system(spec.hardware)
        hw: dict[str, Any] = unstructure(system)
    except ConfigError as exc:
        fail(("hardware",), f"a hardware preset name or YAML file that loads ({exc.message})", spec.hardware)
        raise ConfigErrors(errors) from None

    if not spec.workloads:
        fail(("workloads",), "at least one workload", [])
    wl_params: list[dict[str, inspect.Parameter]] = []
    labels: list[str] = []
    for i, ws in enumerate(spec.workloads):
        if bool(ws.builder) == bool(ws.model):
            fail(
                ("workloads", i),
                "either 'builder' (with args) or 'model' (with scenario)",
                ws.builder or ws.model or None,
            )
            wl_params.append({})
            continue
        if ws.builder and ws.scenario:
            fail(
                ("workloads", i, "scenario"), "no scenario for a builder workload (put its fields in args)", ws.scenario
            )
        if ws.model and ws.args:
            fail(("workloads", i, "args"), "no args for a model workload (use scenario)", ws.args)
        try:
            _keys, params = workload_keys(ws)
        except ConfigError as exc:
            fail(("workloads", i, "builder" if ws.builder else "model"), exc.expected, exc.got)
            wl_params.append({})
            continue
        wl_params.append(params)
        given = ws.args if ws.builder else ws.scenario
        for key, value in given.items():
            at: tuple[str | int, ...] = ("workloads", i, "args" if ws.builder else "scenario", key)
            if key not in params:
                fail(
                    at,
                    f"an argument of {ws.builder or 'load_workload'}{closest(key, list(params))} (known: {', '.join(sorted(params))})",
                    key,
                )
            elif (why := _param_type_error(params[key], value)) is not None:
                fail(at, why, value)
        for key, value in ws.transforms.items():
            at = ("workloads", i, "transforms", key)
            if key not in TRANSFORMS:
                fail(at, f"one of the transforms {', '.join(TRANSFORMS)}{closest(key, TRANSFORMS)}", key)
            elif value is not None and not isinstance(value, (str, dict)):
                fail(at, "a string or a mapping of arguments", value)
        if ws.label in labels:
            fail(("workloads", i, "name"), "a name not used by another workload (set 'name')", ws.label)
        labels.append(ws.label)

    columns: list[str] = []
    for a, axis in enumerate(spec.axes):
        where: tuple[str | int, ...] = ("axes", a)
        if axis.column in columns or axis.column == "workload":
            fail((*where, "name"), "a column name not used by another axis (set 'name')", axis.column)
        columns.append(axis.column)
        if axis.values and (axis.low is not None or axis.high is not None):
            fail(where, "either values or a low/high range, not both", axis.path)
        elif not axis.values:
            if axis.low is None or axis.high is None:
                fail((*where, "values"), "a non-empty list of values, or low and high", [])
                continue
            if not axis.low <= axis.high:
                fail((*where, "high"), f"a number >= low ({axis.low})", axis.high)
            if axis.log and axis.low <= 0:
                fail((*where, "low"), "a number > 0 for a log range", axis.low)
            if spec.sampling.method == "grid" and axis.n < 1:
                fail((*where, "n"), "the number of grid levels (an integer >= 1) for a range axis on a grid", axis.n)
        for p, path in enumerate((axis.path, *axis.also)):
            pwhere = (*where, "path") if p == 0 else (*where, "also", p - 1)
            if path.startswith("workload.") or path == "workload":
                key = path[len("workload.") :]
                ok_any = False
                hints: set[str] = set()
                for params in wl_params:
                    known = sorted(set(params) | set(TRANSFORMS))
                    hints.update(known)
                    if key in known:
                        ok_any = True
                        why = None
                        for v in axis.values:
                            if key in TRANSFORMS and key not in params:
                                why = (
                                    None
                                    if v is None or isinstance(v, (str, dict))
                                    else "a string (or a mapping of arguments)"
                                )
                            else:
                                why = _param_type_error(params.get(key), v)
                            if why:
                                fail((*where, "values"), f"{why} for {path}", v)
                                break
                if not ok_any:
                    fail(
                        pwhere,
                        f"a workload path workload.<key>{closest(key, sorted(hints))} (known: {', '.join(sorted(hints))})",
                        path,
                    )
                continue
            why_path = _path_error(hw, path, "")
            if why_path is not None:
                fail(pwhere, why_path, path)
                continue
            base = get_path(hw, parse_path(path))
            if isinstance(base, (dict, list)) and not axis.values:
                fail(pwhere, "a numeric field for a range axis", path)
            if axis.is_range and isinstance(base, (str, bool)):
                fail(pwhere, "a numeric field for a range axis (use values for this field)", path)
            for v in axis.values:
                why = _type_error(base, v)
                if why is not None:
                    fail((*where, "values"), f"{why} for {path}", v)
                    break

    if spec.sampling.method != "grid" and spec.sampling.n < 1:
        fail(("sampling", "n"), f"the number of samples (an integer >= 1) for {spec.sampling.method}", spec.sampling.n)
    if spec.sampling.method == "grid" and spec.sampling.n:
        fail(("sampling", "n"), "no n for a grid (its size is the product of the axes)", spec.sampling.n)
    if spec.sampling.method == "latin_hypercube" and not spec.axes:
        fail(("axes",), "at least one axis for latin_hypercube sampling", [])

    axis_cols = {ax.path for ax in spec.axes} | {ax.column for ax in spec.axes}
    for c, text in enumerate(spec.constraints):
        try:
            con = parse_constraint(text)
        except ValueError as exc:
            fail(
                ("constraints", c),
                f"a constraint over config paths, numbers and {', '.join(SAFE_FUNCTIONS)} ({exc})",
                text,
            )
            continue
        for ref in con.refs:
            if ref in DERIVED or ref in axis_cols or ref.startswith("workload."):
                if ref.startswith("workload.") and ref not in axis_cols:
                    fail(
                        ("constraints", c),
                        f"workload paths that are axes ({', '.join(sorted(a for a in axis_cols if a.startswith('workload.'))) or 'none'})",
                        ref,
                    )
                continue
            why_path = _path_error(hw, ref, "")
            if why_path is not None:
                fail(
                    ("constraints", c),
                    why_path.replace("a config path", f"a config path or one of {', '.join(DERIVED)}", 1),
                    ref,
                )

    for m, name in enumerate(spec.metrics):
        head = name.split(".", 1)[0]
        if head not in KNOWN_METRICS and not head.startswith("memory_"):
            fail(
                ("metrics", m),
                f"a summary metric{closest(name, KNOWN_METRICS)} (known: {', '.join(KNOWN_METRICS)})",
                name,
            )
    for side in ("minimize", "maximize"):
        for o, name in enumerate(getattr(spec.pareto, side)):
            allowed = [*spec.metrics, *(a.column for a in spec.axes)]
            if name not in allowed:
                fail(
                    ("pareto", side, o),
                    f"a metric kept or an axis column ({', '.join(allowed)}){closest(name, allowed)}",
                    name,
                )
    if errors:
        raise ConfigErrors(errors)
    return hw, system


def sweep_from_dict(
    data: Any, *, lines: Lines | None = None, file: str | None = None, base_dir: str | os.PathLike[str] | None = None
) -> SweepSpec:
    """A validated :class:`SweepSpec` from plain data (the YAML structure)."""
    if isinstance(data, dict):
        data = dict(data)
        for key in ("axes", "workloads", "constraints", "metrics"):
            if key in data and isinstance(data[key], list):
                data[key] = list(data[key])
    spec = structure(SweepSpec, data, lines=lines, file=file)
    hw = spec.hardware
    if base_dir is not None and (hw.endswith((".yaml", ".yml")) or os.sep in hw) and not os.path.isabs(hw):
        candidate = Path(base_dir) / hw
        if candidate.exists():
            spec = dataclasses.replace(spec, hardware=str(candidate.resolve()))
    validate_spec(spec, lines=lines, file=file)
    return spec


def load_sweep(name_or_path: str | os.PathLike[str]) -> SweepSpec:
    """Load a sweep spec from a YAML file, or a shipped one by name (``"stc_density"``).

    Every problem (unknown keys or paths with did-you-mean, wrong value types, bad constraints)
    is raised at once as a :class:`~simsparse.errors.ConfigError`, before any simulation.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, os.PathLike) or text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(name_or_path)
    else:
        path = preset_path("workloads/sweeps", text)
    shown = str(name_or_path)
    if not path.is_file():
        raise ConfigError(
            "", "an existing sweep spec file", "a missing file" if not path.exists() else "a directory", file=shown
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError("", "a readable file", exc.strerror, file=shown) from None
    data, lines = parse_yaml(raw, shown)
    return sweep_from_dict(data, lines=lines, file=shown, base_dir=path.parent)


_ = SimsparseError
