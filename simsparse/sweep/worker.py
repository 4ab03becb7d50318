"""What a worker runs: rebuild points from the spec and simulate them.

Workers receive a :class:`Job` (the spec and the base system, a few KB) and the small
descriptions of a batch of points; they recompute the hardware (every object on a changed path
re-validates, as ``hardware_from_dict`` would) and the workload, simulate, and return one :class:`Record` per point. A bad
point becomes a record with its reason; it never raises.
"""

from __future__ import annotations

import json
import logging
import math
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simsparse.errors import ConfigError, ConfigErrors, SimsparseError
from simsparse.hw import System

from .space import apply_to_system, workload_description
from .spec import SweepSpec, builder_function, model_loader

__all__ = ["Item", "Job", "Record", "build_workload", "run_batch"]

log = logging.getLogger(__name__)

Item = tuple[str, int, int, tuple[Any, ...]]
"""``(key, point index, workload index, axis values)``: what is sent per point."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """The shared part of every batch: the spec and the base hardware."""

    spec: SweepSpec
    system: System


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """The result of one point: ``status`` is ``ok``, ``invalid`` (the point failed validation),
    ``error`` (the simulator refused it) or ``failed`` (an internal error; never cached)."""

    key: str
    status: str
    reason: str
    summary: str


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
    hw_memo: dict[str, Any] = {}
    wl_memo: dict[str, Any] = {}
    out: list[Record] = []
    for key, _index, w, values in items:
        try:
            hw_id = json.dumps(
                [v for a, v in zip(spec.axes, values, strict=True) if not a.path.startswith("workload.")]
            )
            if hw_id not in hw_memo:
                try:
                    hw_memo[hw_id] = apply_to_system(spec, job.system, values)
                except ConfigError as exc:
                    hw_memo[hw_id] = exc
            hw = hw_memo[hw_id]
            if isinstance(hw, ConfigError):
                out.append(Record(key=key, status="invalid", reason=f"hardware: {_message(hw)}", summary=""))
                continue
            desc = workload_description(spec, w, values)
            wl_id = json.dumps(desc, sort_keys=True, default=str)
            if wl_id not in wl_memo:
                try:
                    wl_memo[wl_id] = build_workload(desc)
                except SimsparseError as exc:
                    wl_memo[wl_id] = exc
            wl = wl_memo[wl_id]
            if isinstance(wl, SimsparseError):
                out.append(Record(key=key, status="invalid", reason=f"workload: {_message(wl)}", summary=""))
                continue
            try:
                res = simulate(hw, wl, fidelity=spec.fidelity)
            except SimsparseError as exc:
                out.append(Record(key=key, status="error", reason=f"{type(exc).__name__}: {_message(exc)}", summary=""))
                continue
            summary = json.dumps(_plain(res.summary()), sort_keys=True)
            out.append(Record(key=key, status="ok", reason="", summary=summary))
        except Exception as exc:  # a bug, not a bad point: report it, do not cache it
            log.warning("sweep point %s failed: %s", key[:12], traceback.format_exc())
            out.append(
                Record(key=key, status="failed", reason=f"internal error: {type(exc).__name__}: {exc}", summary="")
            )
    return out
