"""MoE load: tokens per expert and time per device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from simsparse.errors import SimsparseError
from simsparse.results import SimResult

from ._common import LEGEND_SIZE, axis_label, color_cycle, finish, legend_outside, new_axes, require_columns

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["moe_load"]


def moe_load(
    results: SimResult | pd.DataFrame,
    ax: Axes | None = None,
    *,
    op: str | None = None,
    title: str | None = None,
) -> Axes:
    """Bars of tokens per expert (coloured by the device holding it), and each device's time.

    ``results``: a :class:`SimResult` of a workload with MoE grouped GEMMs, or its ``experts``
    table (columns ``op``, ``expert``, ``device``, ``tokens``, ``latency_s``). ``op``: the
    grouped GEMM to show (default: the first). The dashed line is the balanced load (mean
    tokens per expert); on the right axis, black segments give the time of the op on each
    device (the slowest device sets the op's time). Returns the left (tokens) Axes; the time
    axis is its twin.
    """
    table = results.experts if isinstance(results, SimResult) else results
    if not isinstance(table, pd.DataFrame) or not len(table):
        raise SimsparseError("results: expected an experts table (a workload with MoE grouped GEMMs), got an empty one")
    require_columns(table, ["op", "expert", "device", "tokens", "latency_s"], "moe_load(results)")
    ops = list(dict.fromkeys(table["op"].astype(str)))
    name = op if op is not None else ops[0]
    if name not in ops:
        raise SimsparseError(f"op: expected a grouped GEMM of the results ({', '.join(ops)}), got {name!r}")
    data = table[table["op"].astype(str) == name].sort_values(["device", "expert"]).reset_index(drop=True)
    ax = new_axes(ax)
    devices = list(dict.fromkeys(data["device"].astype(int)))
    dev_color = {d: color_cycle(i) for i, d in enumerate(devices)}
    handles: list[Any] = []
    labels: list[str] = []
    for d in devices:
        sub = data[data["device"].astype(int) == d]
        cont = ax.bar(
            sub.index, sub["tokens"].astype(float), color=dev_color[d], edgecolor="black", linewidth=0.5, width=0.8
        )
        if len(devices) <= 16:
            handles.append(cont)
            labels.append(f"experts on device {d}")
    mean = float(data["tokens"].astype(float).mean())
    bal = ax.axhline(mean, color="black", linestyle="--", linewidth=1.5)
    handles.append(bal)
    labels.append(f"balanced load: {mean:.0f} tokens")
    ax.set_xticks(list(data.index))
    ax.set_xticklabels([str(e) for e in data["expert"]], fontsize=9 if len(data) > 32 else None)
    if len(data) > 64:
        ax.set_xticks(list(data.index)[:: max(1, len(data) // 32)])
        ax.set_xticklabels([str(e) for e in data["expert"].iloc[:: max(1, len(data) // 32)]])
    ax.set_ylim(0, float(data["tokens"].max()) * 1.15 or 1.0)
    twin = ax.twinx()
    counts: dict[int, int] = {}
    dev_s: dict[int, float] = {}
    for dv, lat in zip(data["device"].astype(int), data["latency_s"].astype(float), strict=True):
        counts[int(dv)] = counts.get(int(dv), 0) + 1
        dev_s[int(dv)] = max(dev_s.get(int(dv), 0.0), float(lat))
    start = 0
    for d in devices:
        count = counts[d]
        us = dev_s[d] * 1e6
        (seg,) = twin.plot(
            [start - 0.4, start + count - 0.6], [us, us], color="black", linewidth=3, solid_capstyle="butt"
        )
        if d == devices[0]:
            handles.append(seg)
            labels.append("time of the op on the device")
        if len(devices) > 1 and len(devices) <= 16:
            twin.annotate(
                f"{us:.0f} µs",
                (start + (count - 1) / 2, us),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=LEGEND_SIZE - 1,
            )
        start += count
    twin.set_ylim(0, max(dev_s.values()) * 1e6 * 1.3 or 1.0)
    twin.set_ylabel(axis_label("latency_us"), fontsize=12)
    tokens = data["tokens"].astype(float)
    skew = float(tokens.max()) / mean if mean else 0.0
    slow = max(dev_s.values())
    fast = sum(dev_s.values()) / len(dev_s)
    finish(
        ax,
        title=title
        or (
            f"How uneven is the MoE load? {name}: busiest expert {skew:.1f}x the mean"
            + (f", slowest device {slow / fast:.2f}x the mean time" if len(devices) > 1 and fast else "")
        ),
        xlabel=axis_label("expert") + " (grouped by device)",
        ylabel=axis_label("tokens"),
    )
    ax.grid(False, axis="x")
    legend_outside(ax, handles, labels, offset=1.1)
    return ax
