"""The design space of a spec: sampled points, applied paths, constraints and content hashes.

A point is ``(sample, workload)``: the axis values of one sample (grid, random or Latin
hypercube) and one of the spec's workloads; its index is ``sample * n_workloads + workload``.
Applying a point sets its hardware paths in the plain data of the base system (rebuilt and
re-validated by the worker) and its workload keys on the workload description. The content hash
of a point covers the resolved hardware, the workload description, ``simsparse.__version__``,
the fidelity and the model names, so equal points share one cached result. The hardware enters
it as the content hash of the base plus the leaves the point changes (values equal to the
base's left out), which is cheap per point; two specs share cached points when their bases have
equal content.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simsparse.errors import ConfigError, ConfigErrors, SimsparseError
from simsparse.hw import System

from .spec import (
    DERIVED,
    TRANSFORMS,
    Axis,
    SweepSpec,
    WorkloadSpec,
    derived_value,
    eval_constraint,
    get_path,
    parse_constraint,
    parse_path,
    set_path,
    validate_spec_and_system,
    workload_params,
)
from .spec import _select as _select_part

__all__ = ["Plan", "Point", "SystemApplier", "apply_hardware", "apply_to_system", "plan", "workload_description"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One design point: its index, workload index, axis values (in axis order) and content hash."""

    index: int
    workload: int
    values: tuple[Any, ...]
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything decided before any work: the points to simulate and those excluded by constraints."""

    spec: SweepSpec
    base_hw: dict[str, Any]
    system: System
    points: tuple[Point, ...]
    excluded: tuple[dict[str, Any], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Axis columns of the results table."""
        return tuple(a.column for a in self.spec.axes)


def _is_workload(path: str) -> bool:
    return path.startswith("workload.")


@functools.lru_cache(maxsize=1024)
def _parts(path: str) -> tuple[str | int, ...]:
    """:func:`parse_path`, cached (every point applies the same few paths)."""
    return parse_path(path)


def hardware_paths(spec: SweepSpec) -> tuple[tuple[int, tuple[str | int, ...]], ...]:
    """``(axis index, parsed path)`` of every hardware path the axes set, in application order."""
    return tuple(
        (j, _parts(path))
        for j, axis in enumerate(spec.axes)
        for path in (axis.path, *axis.also)
        if not _is_workload(path)
    )


def _coerce(base: Any, value: Any) -> Any:
    """``value`` as the Python type of the field it replaces (ints stay ints, numpy becomes Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(base, bool) or isinstance(value, bool):
        return value
    if isinstance(base, int) and isinstance(value, float):
        return round(value)
    if isinstance(base, float) and isinstance(value, int):
        return float(value)
    return value


def _axis_levels(axis: Axis, base: Any) -> list[Any]:
    """The grid levels of an axis."""
    if axis.values:
        return [_coerce(base, v) for v in axis.values]
    assert axis.low is not None and axis.high is not None
    if axis.n == 1:
        raw = [float(axis.low)]
    elif axis.log:
        raw = [float(x) for x in np.geomspace(axis.low, axis.high, axis.n)]
    else:
        raw = [float(x) for x in np.linspace(axis.low, axis.high, axis.n)]
    return [_coerce(base, v) for v in raw]


def _from_unit(axis: Axis, base: Any, u: float) -> Any:
    """Map ``u`` in [0, 1) to a value of the axis."""
    if axis.values:
        i = min(int(u * len(axis.values)), len(axis.values) - 1)
        return _coerce(base, axis.values[i])
    assert axis.low is not None and axis.high is not None
    if axis.log:
        v = math.exp(math.log(axis.low) + u * (math.log(axis.high) - math.log(axis.low)))
    else:
        v = axis.low + u * (axis.high - axis.low)
    return _coerce(base, float(v))


def _axis_base(spec: SweepSpec, hw: dict[str, Any], axis: Axis) -> Any:
    if not _is_workload(axis.path):
        return get_path(hw, _parts(axis.path))
    key = axis.path[len("workload.") :]
    for ws in spec.workloads:
        params = workload_params(ws)
        p = params.get(key)
        if p is not None and p.default is not p.empty and p.default is not None:
            return p.default
    return None


def samples(spec: SweepSpec, hw: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The axis values of every sample, in order (deterministic for a given seed)."""
    bases = [_axis_base(spec, hw, a) for a in spec.axes]
    method = spec.sampling.method
    if not spec.axes:
        return [()]
    if method == "grid":
        levels = [_axis_levels(a, b) for a, b in zip(spec.axes, bases, strict=True)]
        return list(itertools.product(*levels))
    n, d = spec.sampling.n, len(spec.axes)
    if method == "random":
        u = np.random.default_rng(spec.seed).random((n, d))
    else:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=d, seed=np.random.default_rng(spec.seed)).random(n)
    return [
        tuple(_from_unit(a, b, float(u[i, j])) for j, (a, b) in enumerate(zip(spec.axes, bases, strict=True)))
        for i in range(n)
    ]


def apply_hardware(spec: SweepSpec, base_hw: dict[str, Any], values: Sequence[Any]) -> dict[str, Any]:
    """Plain hardware data of a point: the base with every hardware axis path set."""
    hw = base_hw
    for j, parts in hardware_paths(spec):
        hw = set_path(hw, parts, _coerce(get_path(hw, parts), values[j]))
    return hw


def _prefixed(exc: ConfigError, prefix: str) -> ConfigError:
    """``exc`` with ``prefix`` put before its (relative) field path."""

    def one(e: ConfigError) -> ConfigError:
        path = f"{prefix}{'' if not e.path or e.path.startswith('[') else '.'}{e.path}" if e.path else prefix
        return ConfigError(path, e.expected, e.got, has_got=e.has_got)

    if isinstance(exc, ConfigErrors):
        return ConfigErrors([one(e) for e in exc.errors])
    return one(exc)


def _replace_path(obj: Any, parts: Sequence[str | int], value: Any) -> Any:
    """A copy of the hardware object ``obj`` with ``parts`` set: ``dataclasses.replace`` on every
    object along the path, so each of them re-validates (a :class:`ConfigError` names the full path)."""
    part = parts[0]
    label = str(part)
    if isinstance(part, str) and part.startswith("["):
        sel = part[1:-1]
        if not isinstance(obj, tuple):
            raise KeyError(part)
        names = [str(getattr(x, "name", getattr(x, "pattern", ""))) for x in obj]
        i = int(sel) if sel.lstrip("-").isdigit() else names.index(sel)
        child = obj[i]
        new = value if len(parts) == 1 else _replace_path(child, parts[1:], value)
        return (*obj[:i], new, *obj[i + 1 :]) if i >= 0 else (*obj[: len(obj) + i], new, *obj[len(obj) + i + 1 :])
    if isinstance(obj, Mapping):
        child = obj[part]
        new = _coerce(child, value) if len(parts) == 1 else _replace_path(child, parts[1:], value)
        return {**obj, str(part): new}
    child = getattr(obj, str(part))
    try:
        new = _coerce(child, value) if len(parts) == 1 else _replace_path(child, parts[1:], value)
    except ConfigError as exc:
        raise _prefixed(exc, label) from None
    try:
        return dataclasses.replace(obj, **{str(part): new})
    except ConfigError as exc:  # the object's own check: its path is relative to obj
        raise exc from None


def _index(obj: tuple[Any, ...], part: str) -> int:
    """The index a ``[name]`` or ``[i]`` selector picks in a tuple of hardware objects (``KeyError`` if none)."""
    sel = part[1:-1]
    if sel.lstrip("-").isdigit():
        i = int(sel)
        if not -len(obj) <= i < len(obj):
            raise KeyError(part)
        return i % len(obj)
    for i, x in enumerate(obj):
        if str(getattr(x, "name", getattr(x, "pattern", ""))) == sel:
            return i
    raise KeyError(part)


_INIT_FIELDS: dict[type, tuple[str, ...]] = {}


def _rebuilt(obj: Any, changes: dict[str, Any]) -> Any:
    """``dataclasses.replace(obj, **changes)`` (the class re-validates), without its per-call field scan."""
    cls = type(obj)
    names = _INIT_FIELDS.get(cls)
    if names is None:
        names = _INIT_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    kwargs = {name: getattr(obj, name) for name in names}
    kwargs.update(changes)
    return cls(**kwargs)


Tree = tuple[dict[Any, Any], set[Any]]
"""Changes keyed by attribute name / tuple index: a leaf holds the axis index of its value, an
inner node a subtree."""


def _replace_tree(obj: Any, tree: Tree, values: Sequence[Any]) -> Any:
    """A copy of ``obj`` with every change of ``tree`` made, each object on a changed path rebuilt
    once (with all its changes together, so it re-validates the final state)."""
    changes, leaves = tree
    if isinstance(obj, tuple):
        items = list(obj)
        for i, sub in changes.items():
            items[i] = values[sub] if i in leaves else _replace_tree(items[i], sub, values)
        return tuple(items)
    if isinstance(obj, Mapping):
        new = dict(obj)
        for k, sub in changes.items():
            new[k] = _coerce(obj[k], values[sub]) if k in leaves else _replace_tree(obj[k], sub, values)
        return new
    fields: dict[str, Any] = {}
    for k, sub in changes.items():
        child = getattr(obj, k)
        try:
            fields[k] = _coerce(child, values[sub]) if k in leaves else _replace_tree(child, sub, values)
        except ConfigError as exc:
            raise _prefixed(exc, k) from None
    try:
        return _rebuilt(obj, fields)
    except ConfigError as exc:  # the object's own check: its path is relative to obj
        raise exc from None


def _change_tree(system: System, paths: Sequence[tuple[int, tuple[str | int, ...]]]) -> Tree | None:
    """The paths as a :data:`Tree` (selectors resolved to indices), or ``None`` when two paths
    overlap (one sets an object another sets a field of): then they are applied one by one."""
    root: Tree = ({}, set())
    for j, parts in paths:
        node, leaves = root
        obj: Any = system
        for depth, part in enumerate(parts):
            if isinstance(part, str) and part.startswith("["):
                if not isinstance(obj, tuple):
                    raise KeyError(part)
                key: Any = _index(obj, part)
                obj = obj[key]
            elif isinstance(obj, Mapping):
                key = part
                obj = obj[part]
            else:
                key = str(part)
                obj = getattr(obj, key)
            if depth == len(parts) - 1:
                if key in node and key not in leaves:
                    return None
                node[key] = j
                leaves.add(key)
            else:
                if key in leaves:
                    return None
                node, leaves = node.setdefault(key, ({}, set()))
    return root


class SystemApplier:
    """:func:`apply_to_system` for one spec and base system, its paths resolved once."""

    __slots__ = ("paths", "system", "tree")

    def __init__(self, spec: SweepSpec, system: System) -> None:
        self.system = system
        self.paths = hardware_paths(spec)
        self.tree: Tree | None = None
        # a path that renames a level would change what a later [name] selects: those go one by one
        if self.paths and not any(parts[-1] in ("name", "pattern") for _, parts in self.paths):
            try:
                self.tree = _change_tree(system, self.paths)
            except (KeyError, AttributeError, IndexError, TypeError, ValueError):
                self.tree = None  # the one-by-one path reports it as before

    def __call__(self, values: Sequence[Any]) -> System:
        if not self.paths:
            return self.system
        if self.tree is not None:
            try:
                out: System = _replace_tree(self.system, self.tree, values)
                return out
            except ConfigError:
                pass  # a bad point: one by one below, so it reports the first bad axis value as always
        out = self.system
        for j, parts in self.paths:
            out = _replace_path(out, parts, values[j])
        return out


def apply_to_system(spec: SweepSpec, system: System, values: Sequence[Any]) -> System:
    """The :class:`System` of a point: the base with every hardware axis path set and re-validated.

    Equivalent to setting the paths in ``unstructure(system)`` and calling ``hardware_from_dict``
    (every object on a changed path runs its checks again, once, with all its changes; the others
    are unchanged), about a hundred times faster. Raises :class:`ConfigError` naming the full path
    of a bad value. For many points of one spec, build a :class:`SystemApplier` once.
    """
    return SystemApplier(spec, system)(values)


def workload_description(spec: SweepSpec, index: int, values: Sequence[Any]) -> dict[str, Any]:
    """The workload of a point as plain data: builder/model, arguments or scenario, transforms, seed."""
    ws: WorkloadSpec = spec.workloads[index]
    params = workload_params(ws)
    args = dict(ws.args if ws.builder else ws.scenario)
    transforms = {k: ws.transforms[k] for k in TRANSFORMS if k in ws.transforms}
    for axis, value in zip(spec.axes, values, strict=True):
        for path in (axis.path, *axis.also):
            if not _is_workload(path):
                continue
            key = path[len("workload.") :]
            if key in TRANSFORMS and key not in params:
                transforms[key] = value
            elif key in params:
                p = params[key]
                base = p.default if p.default is not p.empty else None
                args[key] = _coerce(base, value)
    if "seed" in params and "seed" not in args:
        args["seed"] = spec.seed
    return {
        "builder": ws.builder,
        "model": ws.model,
        "args": dict(sorted(args.items())),
        "transforms": {k: transforms[k] for k in TRANSFORMS if k in transforms},
        "seed": spec.seed,
    }


def model_names(hw: dict[str, Any]) -> dict[str, str]:
    """Names of the cost models a point uses (part of its content hash)."""
    return {
        "compute": str(hw["device"]["core"]["matrix_unit"].get("compute_model", "dense")),
        "memory": "hierarchy",
        "interconnect": str(hw.get("interconnect", {}).get("topology", "none")),
    }


class TreeHasher:
    """Content hashes of plain data trees (dicts, lists), each container hashed from its children's.

    The hash of a container is the SHA-256 of its JSON text with every nested container replaced
    by ``{"#": <that container's hash>}`` (an object form plain data never has inline here, since
    every dict is replaced): so equal data always hashes equal, whatever object it is. Containers
    of the ``base`` tree are hashed once and remembered (by identity; the hasher keeps them alive);
    a point's hardware, which shares every unchanged subtree with the base (:func:`set_path`
    copies only the containers on the path), then costs only the few containers on its paths.
    """

    __slots__ = ("memo",)

    def __init__(self, base: Any = None) -> None:
        self.memo: dict[int, tuple[Any, dict[str, str]]] = {}
        if type(base) in _CONTAINERS:
            self._walk(base, True)

    def token(self, obj: Any) -> Any:
        """What stands for ``obj`` inside its parent: ``{"#": hash}`` for a container, else ``obj``."""
        return self._walk(obj, False) if type(obj) in _CONTAINERS else obj

    def _walk(self, obj: Any, remember: bool) -> dict[str, str]:
        hit = self.memo.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        walk = self._walk
        shallow: Any
        if type(obj) is dict:
            shallow = {
                k if type(k) is str else str(k): walk(v, remember) if type(v) in _CONTAINERS else v
                for k, v in obj.items()
            }
        else:
            shallow = [walk(v, remember) if type(v) in _CONTAINERS else v for v in obj]
        token = {"#": hashlib.sha256(_ENCODER.encode(shallow).encode()).hexdigest()}
        if remember:
            self.memo[id(obj)] = (obj, token)
        return token


_CONTAINERS = frozenset((dict, list, tuple))
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
"""The canonical JSON of content hashes (built once: ``json.dumps`` with options builds one per call)."""


def point_key(hw: dict[str, Any], workload: dict[str, Any], fidelity: str, *, hasher: TreeHasher | None = None) -> str:
    """Content hash of a point: resolved hardware, workload description, version, fidelity, model names.

    The hardware enters as the content hash of the whole resolved tree; :func:`plan` keys points
    more cheaply by base hash plus changed leaves (see :class:`_HardwareKeys`), so the two differ.

    ``hasher`` (a :class:`TreeHasher` built on the base hardware) makes it cheap; the key is the
    same with or without one.
    """
    h = hasher if hasher is not None else TreeHasher()
    return _key(h.token(hw), model_names(hw), workload, fidelity)


def _key(hardware: Any, models: dict[str, str], workload: dict[str, Any], fidelity: str) -> str:
    import simsparse

    text = _ENCODER.encode(
        {
            "fidelity": fidelity,
            "hardware": hardware,
            "models": models,
            "version": simsparse.__version__,
            "workload": workload,
        }
    )
    return hashlib.sha256(text.encode()).hexdigest()


_MODEL_PATHS = frozenset(("device.core.matrix_unit.compute_model", "interconnect.topology"))


class _HardwareKeys:
    """The hardware part of point keys: ``{"base": <content hash of the base>, "set": {leaf: value}}``
    with the leaves a point changes (canonical paths, levels by index; values equal to the base's
    left out), so the key is a function of the base's content and the resolved hardware, at the
    cost of a small dict per point rather than hashing the resolved tree. Specs whose paths
    overlap, rename a level or change a cost model name use the content hash of the resolved tree.
    """

    __slots__ = ("base", "base_models", "base_token", "hasher", "leaves", "spec")

    def __init__(self, spec: SweepSpec, base: dict[str, Any], hasher: TreeHasher) -> None:
        self.spec, self.base, self.hasher = spec, base, hasher
        self.base_token = hasher.token(base)
        self.base_models = model_names(base)
        self.leaves: list[tuple[str, int, Any]] | None = []
        for j, parts in hardware_paths(spec):
            node: Any = base
            text = ""
            for part in parts:
                ok, k, _ = _select_part(node, part)
                if not ok:
                    self.leaves = None
                    return
                text += f"[{k}]" if isinstance(k, int) else (f".{k}" if text else str(k))
                node = node[k]
            if type(node) in _CONTAINERS or text in _MODEL_PATHS or parts[-1] in ("name", "pattern"):
                self.leaves = None
                return
            self.leaves.append((text, j, node))
        names = {t for t, _, _ in self.leaves}
        if any(a != b and b.startswith((a + ".", a + "[")) for a in names for b in names):
            self.leaves = None

    def __call__(self, values: Sequence[Any], hw: dict[str, Any] | None) -> tuple[Any, dict[str, str]]:
        """``(hardware token, model names)`` of a point (``hw``: its plain hardware, if already built)."""
        if self.leaves is None:
            hw = hw if hw is not None else apply_hardware(self.spec, self.base, values)
            return self.hasher.token(hw), model_names(hw)
        changed: dict[str, Any] = {}
        for text, j, base_value in self.leaves:
            v = _coerce(base_value, values[j])
            if type(v) is type(base_value) and repr(v) == repr(base_value):
                changed.pop(text, None)
            else:
                changed[text] = v
        return {"base": self.base_token, "set": changed}, self.base_models


def value_ids(values: Iterable[Any]) -> tuple[tuple[type, str], ...]:
    """A hashable identity of axis values: ``1``, ``1.0``, ``True`` and ``-0.0`` all stay distinct
    (equal Python values can still yield different hardware or workloads)."""
    return tuple((type(v), repr(v)) for v in values)


class _Descriptions:
    """:func:`workload_description` of every point, memoized by workload and workload-axis values."""

    __slots__ = ("memo", "spec", "wl_axes")

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.wl_axes = tuple(j for j, a in enumerate(spec.axes) if any(_is_workload(p) for p in (a.path, *a.also)))
        self.memo: dict[Any, dict[str, Any]] = {}

    def __call__(self, w: int, values: Sequence[Any]) -> dict[str, Any]:
        key = (w, *value_ids(values[j] for j in self.wl_axes))
        desc = self.memo.get(key)
        if desc is None:
            if len(self.memo) > 4096:
                self.memo.clear()
            desc = self.memo[key] = workload_description(self.spec, w, values)
        return desc


def plan(spec: SweepSpec) -> Plan:
    """Validate ``spec``, sample its points, apply constraints and hash every point.

    Raises :class:`~simsparse.errors.ConfigError` for a bad spec and
    :class:`~simsparse.errors.SimsparseError` when no point satisfies the constraints.
    """
    base, system = validate_spec_and_system(spec)
    hw_keys = _HardwareKeys(spec, base, TreeHasher(base))
    descriptions = _Descriptions(spec)
    constraints = [parse_constraint(c) for c in spec.constraints]
    col_of = {a.path: j for j, a in enumerate(spec.axes)} | {a.column: j for j, a in enumerate(spec.axes)}
    points: list[Point] = []
    excluded: list[dict[str, Any]] = []
    n_wl = len(spec.workloads)
    for s, values in enumerate(samples(spec, base)):
        hw = apply_hardware(spec, base, values) if constraints else None
        reason = ""
        for c in constraints:
            assert hw is not None

            def lookup(ref: str, hw: dict[str, Any] = hw, values: tuple[Any, ...] = values) -> Any:
                if ref in col_of:
                    return values[col_of[ref]]
                if ref in DERIVED:
                    return derived_value(ref, hw)
                return get_path(hw, parse_path(ref))

            try:
                ok = bool(eval_constraint(c, lookup))
            except (ArithmeticError, TypeError, ValueError, KeyError) as exc:
                ok, reason = False, f"constraint {c.text!r} could not be evaluated: {exc}"
            if not ok:
                reason = reason or f"constraint {c.text!r} is false"
                break
        hw_token: Any = None
        models: dict[str, str] = {}
        for w in range(n_wl):
            index = s * n_wl + w
            if reason:
                excluded.append(
                    {"point": index, "workload": spec.workloads[w].label, "reason": reason, "values": values}
                )
                continue
            if hw_token is None:
                hw_token, models = hw_keys(values, hw)
            key = _key(hw_token, models, descriptions(w, values), spec.fidelity)
            points.append(Point(index=index, workload=w, values=values, key=key))
    if not points:
        first = excluded[0]["reason"] if excluded else "no samples"
        raise SimsparseError(
            f"sweep {spec.name!r}: expected at least one point satisfying the constraints, got an empty space "
            f"({len(excluded)} point(s) excluded; first: {first})"
        )
    log.info("sweep %s: %d points (%d excluded by constraints)", spec.name, len(points), len(excluded))
    return Plan(spec=spec, base_hw=base, system=system, points=tuple(points), excluded=tuple(excluded))
