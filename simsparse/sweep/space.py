"""The design space of a spec: sampled points, applied paths, constraints and content hashes.

A point is ``(sample, workload)``: the axis values of one sample (grid, random or Latin
hypercube) and one of the spec's workloads; its index is ``sample * n_workloads + workload``.
Applying a point sets its hardware paths in the plain data of the base system (rebuilt and
re-validated by the worker) and its workload keys on the workload description. The content hash
of a point covers the resolved hardware, the workload description, ``simsparse.__version__``,
the fidelity and the model names, so equal points share one cached result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simsparse.config import load_hardware
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
    validate_spec,
    workload_keys,
)

__all__ = ["Plan", "Point", "apply_hardware", "apply_to_system", "plan", "workload_description"]

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
        return get_path(hw, parse_path(axis.path))
    key = axis.path[len("workload.") :]
    for ws in spec.workloads:
        _, params = workload_keys(ws)
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
    for axis, value in zip(spec.axes, values, strict=True):
        for path in (axis.path, *axis.also):
            if not _is_workload(path):
                parts = parse_path(path)
                hw = set_path(hw, parts, _coerce(get_path(hw, parts), value))
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


def apply_to_system(spec: SweepSpec, system: System, values: Sequence[Any]) -> System:
    """The :class:`System` of a point: the base with every hardware axis path set and re-validated.

    Equivalent to setting the paths in ``unstructure(system)`` and calling ``hardware_from_dict``
    (every object on a changed path runs its checks again; the others are unchanged), about a
    hundred times faster. Raises :class:`ConfigError` naming the full path of a bad value.
    """
    out = system
    for axis, value in zip(spec.axes, values, strict=True):
        for path in (axis.path, *axis.also):
            if not _is_workload(path):
                out = _replace_path(out, parse_path(path), value)
    return out


def workload_description(spec: SweepSpec, index: int, values: Sequence[Any]) -> dict[str, Any]:
    """The workload of a point as plain data: builder/model, arguments or scenario, transforms, seed."""
    ws: WorkloadSpec = spec.workloads[index]
    _, params = workload_keys(ws)
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


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def model_names(hw: dict[str, Any]) -> dict[str, str]:
    """Names of the cost models a point uses (part of its content hash)."""
    return {
        "compute": str(hw["device"]["core"]["matrix_unit"].get("compute_model", "dense")),
        "memory": "hierarchy",
        "interconnect": str(hw.get("interconnect", {}).get("topology", "none")),
    }


def point_key(hw: dict[str, Any], workload: dict[str, Any], fidelity: str) -> str:
    """Content hash of a point."""
    import simsparse

    return _digest(
        {
            "hardware": hw,
            "workload": workload,
            "version": simsparse.__version__,
            "fidelity": fidelity,
            "models": model_names(hw),
        }
    )


def plan(spec: SweepSpec) -> Plan:
    """Validate ``spec``, sample its points, apply constraints and hash every point.

    Raises :class:`~simsparse.errors.ConfigError` for a bad spec and
    :class:`~simsparse.errors.SimsparseError` when no point satisfies the constraints.
    """
    base = validate_spec(spec)
    system = load_hardware(spec.hardware)
    constraints = [parse_constraint(c) for c in spec.constraints]
    col_of = {a.path: j for j, a in enumerate(spec.axes)} | {a.column: j for j, a in enumerate(spec.axes)}
    points: list[Point] = []
    excluded: list[dict[str, Any]] = []
    n_wl = len(spec.workloads)
    for s, values in enumerate(samples(spec, base)):
        hw = apply_hardware(spec, base, values)
        reason = ""
        for c in constraints:

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
        for w in range(n_wl):
            index = s * n_wl + w
            if reason:
                excluded.append(
                    {"point": index, "workload": spec.workloads[w].label, "reason": reason, "values": values}
                )
                continue
            key = point_key(hw, workload_description(spec, w, values), spec.fidelity)
            points.append(Point(index=index, workload=w, values=values, key=key))
    if not points:
        first = excluded[0]["reason"] if excluded else "no samples"
        raise SimsparseError(
            f"sweep {spec.name!r}: expected at least one point satisfying the constraints, got an empty space "
            f"({len(excluded)} point(s) excluded; first: {first})"
        )
    log.info("sweep %s: %d points (%d excluded by constraints)", spec.name, len(points), len(excluded))
    return Plan(spec=spec, base_hw=base, system=system, points=tuple(points), excluded=tuple(excluded))
