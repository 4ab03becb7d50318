"""Roofline: compute roofs per dtype (dense and sparse), bandwidth slopes per memory level, ops placed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsparse.errors import SimsparseError
from simsparse.hw import Device, System
from simsparse.units import canonical_dtype

from ._common import (
    LEGEND_SIZE,
    OKABE_ITO,
    ResultsLike,
    as_named_results,
    axis_label,
    finish,
    legend_outside,
    new_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["roofline"]

_BOTTLENECK_MARKERS = {"compute": "o", "memory": "s", "other": "^"}
_LEVEL_GREYS = ("#000000", "#555555", "#888888", "#aaaaaa")
_LEVEL_STYLES = (":", (0, (5, 2, 1, 2)), (0, (1, 1)), (0, (8, 3)))


def _ops_table(results: ResultsLike | pd.DataFrame) -> pd.DataFrame:
    if isinstance(results, pd.DataFrame):
        return results.copy()
    frames = []
    for name, r in as_named_results(results):
        df = r.ops.copy()
        df["result"] = name
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _bottleneck_class(value: object) -> str:
    text = str(value)
    if text == "compute":
        return "compute"
    if text.startswith("memory"):
        return "memory"
    return "other"


def roofline(
    hw: System | Device,
    results: ResultsLike | pd.DataFrame,
    ax: Axes | None = None,
    *,
    dtypes: Sequence[str] | None = None,
    kinds: Sequence[str] | None = ("gemm", "grouped_gemm"),
    annotate: bool | None = None,
    title: str | None = None,
) -> Axes:
    """Roofline of one device with the simulated ops placed on it.

    Horizontal roofs: the device's peak FLOP/s per dtype (solid: dense; dashed: each sparsity
    pattern the matrix unit accelerates). Slopes: peak read bandwidth of every memory level
    (FLOP/s = bandwidth x intensity). Points: one per op row with FLOPs, at its arithmetic
    intensity (FLOPs per DRAM byte) and achieved FLOP/s (dense-equivalent FLOPs, so a sparse op
    may sit above the dense roof); colour = the op's dtype (as its roof), marker = its bottleneck.

    ``results``: a :class:`SimResult`, several, a mapping name -> result, or an ops table.
    ``dtypes``: the roofs to draw (default: the dtypes of the plotted ops, else bf16/fp16).
    ``kinds``: the op kinds placed (default the matrix ops, ``gemm`` and ``grouped_gemm``, whose
    roofs these are; ``None``: every op with FLOPs).
    ``annotate``: write op names next to points (default: when there are at most 12).
    """
    device = hw.device if isinstance(hw, System) else hw
    if not isinstance(device, Device):
        raise SimsparseError(f"hw: expected a System or Device, got {type(hw).__name__}")
    unit = device.core.matrix_unit
    supported = list(unit.macs_per_cycle)
    ops = _ops_table(results)
    pts = pd.DataFrame()
    if len(ops):
        needed = {"arithmetic_intensity", "achieved_flops_per_s", "flops"}
        if not needed <= set(ops.columns):
            raise SimsparseError(
                f"results: expected ops columns {', '.join(sorted(needed - set(ops.columns)))} for a roofline"
            )
        ai = pd.to_numeric(ops["arithmetic_intensity"], errors="coerce")
        perf = pd.to_numeric(ops["achieved_flops_per_s"], errors="coerce")
        keep = (ops["flops"] > 0) & np.isfinite(ai) & (ai > 0) & np.isfinite(perf) & (perf > 0)
        if kinds is not None and "kind" in ops.columns:
            keep &= ops["kind"].astype(str).isin(list(kinds))
        pts = ops.loc[keep].copy()

    if dtypes is None:
        used: list[str] = []
        if "dtype" in pts.columns:
            for d in pts["dtype"].astype(str):
                cd = canonical_dtype(d)
                if cd in supported and cd not in used:
                    used.append(cd)
        if not used:
            used = [str(d) for d in ("bf16", "fp16") if d in supported][:1] or supported[:1]
        roof_dtypes = used
    else:
        roof_dtypes = []
        for d in dtypes:
            cd = canonical_dtype(d)
            if cd not in supported:
                raise SimsparseError(f"dtypes: expected dtypes of {device.name} ({', '.join(supported)}), got {d!r}")
            roof_dtypes.append(cd)
    dtype_color = {d: OKABE_ITO[i % len(OKABE_ITO)] for i, d in enumerate(roof_dtypes)}

    peaks: list[tuple[str, str, float]] = []  # (dtype, pattern, FLOP/s)
    for d in roof_dtypes:
        peaks.append((d, "dense", device.peak_flops(d)))
        for s in unit.sparsity:
            peaks.append((d, s.pattern, device.peak_flops(d, s.pattern)))
    top = max(p for _, _, p in peaks)
    dram_bw = device.dram.read_gb_per_s * 1e9
    min_peak = min(p for _, _, p in peaks)

    ai_vals = pts["arithmetic_intensity"].astype(float).to_numpy() if len(pts) else np.array([])
    perf_vals = pts["achieved_flops_per_s"].astype(float).to_numpy() if len(pts) else np.array([])
    x_lo = min([0.1, *(ai_vals / 3).tolist()])
    x_hi = max([top / dram_bw * 8, *(ai_vals * 3).tolist()])
    y_lo = min([min_peak / 1e4, dram_bw * x_lo, *(perf_vals / 3).tolist()])
    y_hi = top * 2.5

    ax = new_axes(ax)
    handles: list[Any] = []
    labels: list[str] = []
    # compute roofs, from the DRAM ridge point to the right edge
    for d, pattern, peak in peaks:
        dense = pattern == "dense"
        ridge = peak / dram_bw
        (line,) = ax.plot(
            [ridge, x_hi],
            [peak, peak],
            color=dtype_color[d],
            linestyle="-" if dense else "--",
            linewidth=2.2 if dense else 1.8,
        )
        handles.append(line)
        labels.append(f"{d} {'dense' if dense else pattern + ' sparse'} peak: {_flops_text(peak)}")
    # bandwidth slopes, from the left edge up to the top roof
    for i, level in enumerate(device.memory):
        bw = level.read_gb_per_s * 1e9
        x_end = top / bw
        (line,) = ax.plot(
            [x_lo, x_end],
            [bw * x_lo, top],
            color=_LEVEL_GREYS[min(i, len(_LEVEL_GREYS) - 1)],
            linestyle=_LEVEL_STYLES[i % len(_LEVEL_STYLES)],
            linewidth=1.6,
        )
        handles.append(line)
        labels.append(f"{level.name} bandwidth: {_bw_text(level.read_gb_per_s)}")

    # the ops, grouped by (dtype, bottleneck class) so that each group is one legend entry
    if len(pts):
        pts["_dtype"] = pts["dtype"].astype(str).map(canonical_dtype) if "dtype" in pts.columns else "?"
        pts["_class"] = pts["bottleneck"].map(_bottleneck_class) if "bottleneck" in pts.columns else "other"
        for key, grp in pts.groupby(["_dtype", "_class"], sort=True):
            d, cls = (str(k) for k in key)
            color = dtype_color.get(str(d), "#999999")
            sc = ax.scatter(
                grp["arithmetic_intensity"].astype(float),
                grp["achieved_flops_per_s"].astype(float),
                s=70,
                marker=_BOTTLENECK_MARKERS[str(cls)],
                facecolor=color,
                edgecolor="black",
                linewidth=0.8,
                zorder=3,
            )
            handles.append(sc)
            what = "latency/overhead" if cls == "other" else cls
            labels.append(f"ops: {d}, {what}-bound ({len(grp)})")
        if annotate is None:
            annotate = len(pts) <= 12
        if annotate and "op" in pts.columns:
            for _, row in pts.iterrows():
                ax.annotate(
                    str(row["op"]),
                    (float(row["arithmetic_intensity"]), float(row["achieved_flops_per_s"])),
                    xytext=(5, -10),
                    textcoords="offset points",
                    fontsize=LEGEND_SIZE - 1,
                )

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    finish(
        ax,
        title=title or f"Roofline of {device.name}: is each op bound by compute or by memory bandwidth?",
        xlabel=axis_label("arithmetic_intensity"),
        ylabel=axis_label("achieved_flops_per_s") + " (dense-equivalent)",
    )
    legend_outside(ax, handles, labels)
    return ax


def _flops_text(value: float) -> str:
    for scale, unit in ((1e15, "PFLOP/s"), (1e12, "TFLOP/s"), (1e9, "GFLOP/s")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} FLOP/s"


def _bw_text(gb_per_s: float) -> str:
    if gb_per_s >= 1000:
        return f"{gb_per_s / 1000:.3g} TB/s"
    return f"{gb_per_s:.3g} GB/s" if math.isfinite(gb_per_s) else "?"
