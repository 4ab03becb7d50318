"""Where the time and energy go: stacked shares by op, by memory level or by stall cause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from simsparse.errors import SimsparseError
from simsparse.hw import Device, System
from simsparse.results import SimResult

from ._common import (
    LEGEND_SIZE,
    OTHER_COLOR,
    ResultsLike,
    as_named_results,
    cause_color,
    color_cycle,
    finish,
    legend_outside,
    memory_levels_of,
    new_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BREAKDOWNS", "breakdown", "breakdown_table"]

BREAKDOWNS: tuple[str, ...] = ("op", "level", "cause")
MEMORY_ALL = "memory (all levels)"

_CAUSE_COLUMNS: dict[str, str] = {
    "compute": "time_compute_s",
    "memory": "time_memory_s",
    "latency": "time_latency_s",
    "imbalance": "time_imbalance_s",
    "interconnect": "time_interconnect_s",
    "noc": "time_noc_s",
    "overhead": "overhead_s",
}


def _op_shares(r: SimResult, top: int) -> tuple[dict[str, float], dict[str, float]]:
    ops = r.ops
    if not len(ops):
        return {}, {}
    rep = ops["repeat"].astype(float) if "repeat" in ops.columns else pd.Series(1.0, index=ops.index)
    # per-device rows of one op: the slowest device sets the op's time; energy adds up
    time = ops.assign(_t=ops["total_s"].astype(float)).groupby("op", sort=False)["_t"].max()
    energy = ops.assign(_e=ops["energy_j"].astype(float) * rep).groupby("op", sort=False)["_e"].sum()
    order = list(time.sort_values(ascending=False).index)
    keep = order[:top]
    t = {str(k): float(time[k]) for k in keep}
    e = {str(k): float(energy[k]) for k in keep}
    if len(order) > top:
        rest = order[top:]
        t["other ops"] = float(time[rest].sum())
        e["other ops"] = float(energy[rest].sum())
    static = float(r.totals.get("static_energy_j", 0.0))
    if static > 0:
        e["static power"] = static
    return t, e


def _cause_shares(r: SimResult) -> tuple[dict[str, float], dict[str, float]]:
    t = {str(k): float(v) for k, v in dict(r.totals.get("time_by_cause_s", {})).items() if float(v) > 0}
    # energy of each op split over the causes in proportion to the time they bound it
    e: dict[str, float] = {}
    ops = r.ops
    if len(ops):
        rep = ops["repeat"].astype(float) if "repeat" in ops.columns else pd.Series(1.0, index=ops.index)
        cols = {c: col for c, col in _CAUSE_COLUMNS.items() if col in ops.columns}
        parts = pd.DataFrame({c: ops[col].astype(float).clip(lower=0) for c, col in cols.items()})
        total = parts.sum(axis=1).replace(0.0, np.nan)
        energy = ops["energy_j"].astype(float) * rep
        share = parts.div(total, axis=0).fillna(0.0)
        for c in share.columns:
            v = float((share[c] * energy).sum())
            if v > 0:
                e[MEMORY_ALL if c == "memory" else str(c)] = v
        unassigned = float(energy[total.isna()].sum())
        if unassigned > 0:
            e["unattributed"] = e.get("unattributed", 0.0) + unassigned
    static = float(r.totals.get("static_energy_j", 0.0))
    if static > 0:
        e["static"] = static
    return t, e


def _level_shares(r: SimResult, device: Device | None) -> tuple[dict[str, float], dict[str, float]]:
    causes = {str(k): float(v) for k, v in dict(r.totals.get("time_by_cause_s", {})).items()}
    t = {k.split(":", 1)[1]: v for k, v in causes.items() if k.startswith("memory:") and v > 0}
    rest = sum(v for k, v in causes.items() if not k.startswith("memory:"))
    if rest > 0:
        t["not memory-bound"] = rest
    e: dict[str, float] = {}
    levels = r.levels
    if len(levels):
        for _, row in levels.iterrows():
            name = str(row["level"])
            read, write = float(row["read_bytes"]), float(row["write_bytes"])
            if device is not None:
                try:
                    lv = device.level(name)
                except KeyError:
                    continue
                v = (read * lv.read_energy_pj_per_byte + write * lv.write_energy_pj_per_byte) * 1e-12
            else:
                v = read + write
            if v > 0:
                e[name] = v
    if device is not None:
        other = float(r.totals.get("energy_j", 0.0)) - sum(e.values())
        if other > 0:
            e["compute, links, static"] = other
    return t, e


def breakdown_table(
    results: ResultsLike,
    by: Literal["op", "level", "cause"] = "op",
    *,
    hw: System | Device | None = None,
    top: int = 8,
) -> pd.DataFrame:
    """The numbers :func:`breakdown` draws: one row per (result, metric, category).

    Columns: ``result``, ``metric`` (``time_s``, ``energy_j``, or ``bytes`` for
    ``by="level"`` without ``hw``), ``category``, ``value``, ``share`` (of the bar's total).
    """
    if by not in BREAKDOWNS:
        raise SimsparseError(f"by: expected one of {', '.join(BREAKDOWNS)}, got {by!r}")
    device = hw.device if isinstance(hw, System) else hw
    rows: list[dict[str, Any]] = []
    for name, r in as_named_results(results):
        if by == "op":
            t, e = _op_shares(r, top)
            second = "energy_j"
        elif by == "cause":
            t, e = _cause_shares(r)
            second = "energy_j"
        else:
            t, e = _level_shares(r, device)
            second = "energy_j" if device is not None else "bytes"
        for metric, parts in (("time_s", t), (second, e)):
            total = sum(parts.values())
            for cat, v in parts.items():
                rows.append(
                    {
                        "result": name,
                        "metric": metric,
                        "category": cat,
                        "value": v,
                        "share": v / total if total else 0.0,
                    }
                )
    return pd.DataFrame(rows, columns=["result", "metric", "category", "value", "share"])


_METRIC_TEXT = {"time_s": "time", "energy_j": "energy", "bytes": "bytes moved"}


def _total_text(metric: str, value: float) -> str:
    if metric == "time_s":
        for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if value >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value * 1e9:.3g} ns"
    if metric == "energy_j":
        for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ")):
            if value >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value * 1e9:.3g} nJ"
    for scale, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} B"


def breakdown(
    results: ResultsLike,
    by: Literal["op", "level", "cause"] = "op",
    ax: Axes | None = None,
    *,
    hw: System | Device | None = None,
    top: int = 8,
    title: str | None = None,
) -> Axes:
    """Stacked horizontal bars of where the time and the energy of each result go.

    For every result two bars (time and energy), each stacked by category as a percentage of its
    total, with the total written at the bar's end:

    * ``by="op"``: the ``top`` ops by time (slowest device for per-device ops) and "other ops";
      the energy bar adds the static (leakage) energy.
    * ``by="cause"``: time by stall cause (``compute``, ``memory:<level>``, ``latency``,
      ``overhead``, ``interconnect``, ``imbalance``); each op's energy is split over the causes
      in proportion to its time, plus static energy.
    * ``by="level"``: time bound by each memory level (and "not memory-bound"); the second bar
      is the energy of each level when ``hw`` is given (bytes x pJ/byte, remainder = compute,
      links and static), else the bytes moved at each level.
    """
    table = breakdown_table(results, by, hw=hw, top=top)
    ax = new_axes(ax)
    levels: list[str] = []
    device = hw.device if isinstance(hw, System) else hw
    if device is not None:
        levels = [m.name for m in device.memory]
    else:
        levels = memory_levels_of([r for _, r in as_named_results(results)])
    categories: list[str] = list(dict.fromkeys(table["category"].astype(str)))
    colors: dict[str, str] = {}
    for i, cat in enumerate(categories):
        if by == "cause":
            colors[cat] = cause_color("static" if cat == "static" else cat, levels)
        elif by == "level":
            colors[cat] = cause_color(f"memory:{cat}", levels) if cat in levels else OTHER_COLOR
        else:
            colors[cat] = (
                OTHER_COLOR if cat == "other ops" else ("#000000" if cat == "static power" else color_cycle(i))
            )

    # the energy split by cause has one "memory" share (ops do not split memory time by level):
    # hatched, so that it is not mistaken for the outermost level
    hatches = {MEMORY_ALL: "//"} if by == "cause" else {}
    bars: list[tuple[str, str]] = []  # (result, metric), top to bottom
    for (name, metric), _ in table.groupby(["result", "metric"], sort=False):
        bars.append((str(name), str(metric)))
    handles: dict[str, Any] = {}
    ytick_labels: list[str] = []
    for y, (name, metric) in enumerate(bars):
        part = table[(table["result"] == name) & (table["metric"] == metric)]
        left = 0.0
        for _, row in part.iterrows():
            cat = str(row["category"])
            width = 100.0 * float(row["share"])
            cont = ax.barh(
                y,
                width,
                left=left,
                color=colors[cat],
                edgecolor="white",
                linewidth=0.8,
                height=0.7,
                label=cat,
                hatch=hatches.get(cat),
            )
            handles.setdefault(cat, cont)
            if width >= 8:
                ax.text(
                    left + width / 2,
                    y,
                    f"{width:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=LEGEND_SIZE - 1,
                    color="white" if colors[cat] in ("#000000", "#0072B2", "#D55E00", "#009E73") else "black",
                )
            left += width
        total = float(part["value"].sum())
        ax.text(101.0, y, _total_text(metric, total), va="center", ha="left", fontsize=LEGEND_SIZE)
        prefix = f"{name}\n" if len({b[0] for b in bars}) > 1 else ""
        ytick_labels.append(f"{prefix}{_METRIC_TEXT[metric]}")
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels(ytick_labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    what = {"op": "op", "level": "memory level", "cause": "stall cause"}[by]
    names = [n for n, _ in as_named_results(results)]
    subject = names[0] if len(names) == 1 else f"{len(names)} configurations"
    finish(
        ax,
        title=title or f"Where do time and energy go, by {what}? ({subject})",
        xlabel="Share of the total (%)",
        ylabel="",
    )
    ax.grid(False, axis="y")
    legend_outside(ax, list(handles.values()), list(handles), title=what.capitalize(), offset=1.12)
    return ax
