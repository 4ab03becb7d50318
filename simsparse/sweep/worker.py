"""What a worker runs: rebuild points from the spec and simulate them.

Workers receive a :class:`Job` (the spec and the base system, a few KB) and the small
descriptions of a batch of points; they recompute the hardware (every object on a changed path
re-validates, as ``hardware_from_dict`` would) and the workload, simulate, and return one :class:`Record` per point. A bad
point becomes a record with its reason; it never raises.

Hardware and workloads are memoized per worker process across batches of the same job (keyed by
the job's ``token`` and the axis values that decide them; bounded LRU caches), since sweeps
repeat each hardware point for every workload and each workload for every hardware point.
"""

from __future__ import annotations

import json
import logging
import math
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simsparse.errors import ConfigError, ConfigErrors, SimsparseError
from simsparse.hw import System

from .space import SystemApplier, value_ids, workload_description
from .spec import SweepSpec, builder_function, model_loader

__all__ = ["Item", "Job", "Record", "build_workload", "run_batch"]

log = logging.getLogger(__name__)

Item = tuple[str, int, int, tuple[Any, ...]]
"""``(key, point index, workload index, axis values)``: what is sent per point."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """The shared part of every batch: the spec and the base hardware.

    ``token`` names the job (a digest of the spec's points) for the per-process memo of built
    hardware and workloads; an empty token memoizes within a batch only.
    """

    spec: SweepSpec
    system: System
    token: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """The result of one point: ``status`` is ``ok``, ``invalid`` (the point failed validation),
    ``error`` (the simulator refused it) or ``failed`` (an internal error; never cached)."""

    key: str
    status: str
    reason: str
    summary: str
    metrics: tuple[tuple[str, ...], tuple[Any, ...]] | None = field(default=None, compare=False)
    """For a fresh ``ok`` point: the spec's metric names and their values, as :func:`metric_value`
    reads them from ``json.loads(summary)`` (saves parsing it again for the table; not stored)."""


def metric_value(summary: dict[str, Any], name: str) -> Any:
    """The metric ``name`` (``a`` or ``a.b``) of a summary; ``None`` if missing or not a scalar."""
    if name in summary:
        value = summary[name]
    else:
        head, _, rest = name.partition(".")
        value = summary.get(head)
        value = value.get(rest) if isinstance(value, dict) and rest else None
    return None if isinstance(value, (dict, list, tuple)) else value


def _plain(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:  # the common cases first
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_NESTED = frozenset((dict, list, tuple))


def _keys_plain(value: Any) -> bool:
    """Whether every mapping key in ``value`` is a ``str`` (then JSON writes it as :func:`_plain` would).

    Recurses only into plain dicts, lists and tuples (a summary's scalars are most of its values)."""
    t = type(value)
    if t is dict:
        return all(type(k) is str and (type(v) not in _NESTED or _keys_plain(v)) for k, v in value.items())
    if t is list or t is tuple:
        return all(type(v) not in _NESTED or _keys_plain(v) for v in value)
    return True


def _scalar(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


_SUMMARY_ENCODER = json.JSONEncoder(sort_keys=True, allow_nan=False, default=_scalar)


def summary_json(summary: dict[str, Any]) -> str:
    """``json.dumps(_plain(summary), sort_keys=True)``: NaN and infinities become null, numpy
    scalars Python ones. Encodes directly when that gives the same text (str keys, finite
    numbers; ``float`` subclasses such as ``numpy.float64`` are written as floats either way)."""
    if _keys_plain(summary):
        try:
            return _SUMMARY_ENCODER.encode(summary)
        except (ValueError, TypeError):  # a NaN or infinity, or an unusual value: the general path
            pass
    return json.dumps(_plain(summary), sort_keys=True)


def _json_scalar(value: Any) -> Any:
    """A metric value as ``json.loads(json.dumps(_plain(value)))`` gives it back."""
    value = _plain(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


class _LRU:
    """A small least-recently-used map (the per-process memo of built points)."""

    __slots__ = ("data", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        try:
            self.data.move_to_end(key)
            return self.data[key]
        except KeyError:
            pass
        value = self.data[key] = make()
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


_HW_MEMO = _LRU(2048)
_WL_MEMO = _LRU(32)
_APPLIERS = _LRU(8)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ConfigErrors):
        return "; ".join(e.message for e in exc.errors)
    return str(exc).replace("\n", "; ")


def build_workload(desc: dict[str, Any]) -> Any:
    """The workload of a point from :func:`~simsparse.sweep.space.workload_description` data."""
    args = dict(desc["args"])
    wl = builder_function(desc["builder"])(**args) if desc["builder"] else model_loader()(desc["model"], **args)
    for name, value in desc["transforms"].items():
        if value is None or value in ("dense", "none", ""):
            continue
        if name == "prune":
            wl = wl.prune(**value) if isinstance(value, dict) else wl.prune(value)
        elif name == "quant":
            wl = wl.quantize(**value) if isinstance(value, dict) else wl.quantize(value)
        elif name == "routing":
            if isinstance(value, dict):
                wl = wl.route(**{"seed": desc["seed"], **value})
            else:
                policy, _, alpha = str(value).partition(":")
                kwargs: dict[str, Any] = {"seed": desc["seed"]}
                if alpha:
                    try:
                        kwargs["alpha"] = float(alpha)
                    except ValueError:
                        raise SimsparseError(
                            f"workload.routing: expected POLICY or POLICY:ALPHA, got {value!r}"
                        ) from None
                wl = wl.route(policy, **kwargs)
    return wl


def run_batch(job: Job, items: Sequence[Item]) -> list[Record]:
    """Simulate a batch of points; equal hardware / workloads within the batch are built once."""
    from simsparse.engine import simulate

    spec = job.spec
    if job.token:
        hw_memo, wl_memo = _HW_MEMO, _WL_MEMO
        applier: SystemApplier = _APPLIERS.get(job.token, lambda: SystemApplier(spec, job.system))
    else:
        hw_memo, wl_memo = _LRU(1 << 30), _LRU(1 << 30)
        applier = SystemApplier(spec, job.system)
    hw_axes = tuple(j for j, a in enumerate(spec.axes) if any(not p.startswith("workload.") for p in (a.path, *a.also)))
    wl_axes = tuple(j for j, a in enumerate(spec.axes) if any(p.startswith("workload.") for p in (a.path, *a.also)))
    out: list[Record] = []
    for key, _index, w, values in items:
        try:

            def make_hw(values: tuple[Any, ...] = values) -> Any:
                try:
                    return applier(values)
                except ConfigError as exc:
                    return exc

            hw = hw_memo.get((job.token, "hw", *value_ids(values[j] for j in hw_axes)), make_hw)
            if isinstance(hw, ConfigError):
                out.append(Record(key=key, status="invalid", reason=f"hardware: {_message(hw)}", summary=""))
                continue

            def make_wl(w: int = w, values: tuple[Any, ...] = values) -> Any:
                try:
                    return build_workload(workload_description(spec, w, values))
                except SimsparseError as exc:
                    return exc

            wl = wl_memo.get((job.token, "wl", w, *value_ids(values[j] for j in wl_axes)), make_wl)
            if isinstance(wl, SimsparseError):
                out.append(Record(key=key, status="invalid", reason=f"workload: {_message(wl)}", summary=""))
                continue
            try:
                res = simulate(hw, wl, fidelity=spec.fidelity)
            except SimsparseError as exc:
                out.append(Record(key=key, status="error", reason=f"{type(exc).__name__}: {_message(exc)}", summary=""))
                continue
            raw = res.summary()
            summary = summary_json(raw)
            # as the table would read them back from the JSON: scalars made plain, NaN -> None
            metrics = (spec.metrics, tuple(_json_scalar(metric_value(raw, m)) for m in spec.metrics))
            out.append(Record(key=key, status="ok", reason="", summary=summary, metrics=metrics))
        except Exception as exc:  # a bug, not a bad point: report it, do not cache it
            log.warning("sweep point %s failed: %s", key[:12], traceback.format_exc())
            out.append(
                Record(key=key, status="failed", reason=f"internal error: {type(exc).__name__}: {exc}", summary="")
            )
    return out
