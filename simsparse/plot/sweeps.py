"""Sweep figures: speedup over dense versus density, and Pareto fronts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsparse.errors import SimsparseError

from ._common import (
    LINESTYLES,
    MARKERS,
    OTHER_COLOR,
    axis_label,
    color_cycle,
    finish,
    legend_outside,
    marker_cycle,
    new_axes,
    require_columns,
    wide_range,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MAXIMIZE", "pareto", "pareto_mask", "speedup_table", "speedup_vs_density"]

MAXIMIZE: frozenset[str] = frozenset(
    {"tokens_per_s", "speedup", "achieved_flops_per_s", "utilization", "throughput", "flops_per_j"}
)
"""Columns where larger is better (the default direction of :func:`pareto` for them)."""

_PATTERN_COLUMNS = ("pattern", "weight_pattern", "b_pattern", "compute_model")
_HW_COLUMNS = ("hardware", "hw")


def _first(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    for n in names:
        if n in df.columns:
            return n
    return None


def speedup_table(
    df: pd.DataFrame, *, hue: str | None = None, style: str | None = None, baseline: str = "dense"
) -> pd.DataFrame:
    """``df`` with a ``speedup`` column: dense latency over latency within each ``style`` group.

    Kept as is when ``df`` already has ``speedup``. Otherwise needs ``latency_s`` and, per
    ``style`` value (e.g. hardware), rows whose ``hue`` (pattern) is ``baseline``, or rows with
    ``density == 1`` when there is no pattern column.
    """
    if "speedup" in df.columns:
        return df.copy()
    require_columns(df, ["latency_s"], "speedup_vs_density(df)")
    hue = hue or _first(df, _PATTERN_COLUMNS)
    style = style or _first(df, _HW_COLUMNS)
    out = df.copy()
    if hue is not None and (out[hue].astype(str) == baseline).any():
        is_base = out[hue].astype(str) == baseline
    elif "density" in out.columns:
        is_base = out["density"].astype(float) >= 1.0
    else:
        raise SimsparseError(
            f"speedup_vs_density(df): expected rows with {hue or 'pattern'} == {baseline!r} or density == 1 as the baseline"
        )
    if style is not None:
        base = out[is_base].groupby(style)["latency_s"].min()
        ref = out[style].map(base).astype(float)
    else:
        ref = pd.Series(float(out.loc[is_base, "latency_s"].min()), index=out.index)
    if ref.isna().any():
        missing = sorted(map(str, out.loc[ref.isna(), style].unique())) if style is not None else []
        raise SimsparseError(
            f"speedup_vs_density(df): expected a {baseline} baseline row for every {style}, got none for {', '.join(missing)}"
        )
    out["speedup"] = ref / out["latency_s"].astype(float)
    return out


def speedup_vs_density(
    df: pd.DataFrame,
    ax: Axes | None = None,
    *,
    hue: str | None = None,
    style: str | None = None,
    x: str = "density",
    baseline: str = "dense",
    ideal: bool = True,
    title: str | None = None,
) -> Axes:
    """Speedup over dense against weight density: one line per (pattern, hardware).

    Colour = the ``hue`` column (default: the first of ``pattern``, ``weight_pattern``,
    ``b_pattern``, ``compute_model``), marker and line style = the ``style`` column (default
    ``hardware``). ``df`` needs ``density`` and ``speedup``, or ``latency_s`` with baseline rows
    (see :func:`speedup_table`). A dotted line marks the ideal ``1 / density`` speedup and a
    grey one no speedup.
    """
    hue = hue or _first(df, _PATTERN_COLUMNS)
    style = style or _first(df, _HW_COLUMNS)
    data = speedup_table(df, hue=hue, style=style, baseline=baseline)
    require_columns(data, [x, "speedup"], "speedup_vs_density(df)")
    data = data[np.isfinite(data["speedup"].astype(float)) & (data["speedup"].astype(float) > 0)]
    if not len(data):
        raise SimsparseError("speedup_vs_density(df): expected at least one row with a finite speedup, got none")
    ax = new_axes(ax)
    hues = list(dict.fromkeys(data[hue].astype(str))) if hue else [""]
    styles = list(dict.fromkeys(data[style].astype(str))) if style else [""]
    hue_color = {h: color_cycle(i) for i, h in enumerate(hues)}
    style_idx = {s: i for i, s in enumerate(styles)}
    for keys, grp in data.groupby([c for c in (hue, style) if c], sort=False) if (hue or style) else [((), data)]:
        kt = keys if isinstance(keys, tuple) else (keys,)
        h = str(kt[0]) if hue else ""
        s = str(kt[-1]) if style else ""
        grp = grp.sort_values(x)
        i = style_idx[s]
        ax.plot(
            grp[x].astype(float),
            grp["speedup"].astype(float),
            color=hue_color[h],
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=2.0,
            markersize=7,
        )
    xs = np.sort(data[x].astype(float).unique())
    xs = xs[xs > 0]
    ref_lines: list[Any] = []
    ref_labels: list[str] = []
    if ideal and len(xs) and x == "density":
        grid = np.geomspace(xs.min(), xs.max(), 50) if xs.max() > xs.min() else xs
        (line,) = ax.plot(grid, 1.0 / grid, color="black", linestyle=":", linewidth=1.5)
        ref_lines.append(line)
        ref_labels.append("ideal: 1 / density")
    base = ax.axhline(1.0, color=OTHER_COLOR, linewidth=1.5)
    ref_lines.append(base)
    ref_labels.append("no speedup (dense)")
    if wide_range(data["speedup"].astype(float), 20.0):
        ax.set_yscale("log")

    from matplotlib.lines import Line2D

    leg_handles: list[Any] = []
    leg_labels: list[str] = []
    if hue:
        for h in hues:
            leg_handles.append(Line2D([], [], color=hue_color[h], linewidth=3))
            leg_labels.append(h)
    if style and len(styles) > 1:
        for s, i in style_idx.items():
            leg_handles.append(
                Line2D(
                    [], [], color="black", marker=MARKERS[i % len(MARKERS)], linestyle=LINESTYLES[i % len(LINESTYLES)]
                )
            )
            leg_labels.append(s)
    leg_handles += ref_lines
    leg_labels += ref_labels
    title_hw = f" on {styles[0]}" if style and len(styles) == 1 else ""
    finish(
        ax,
        title=title or f"How much faster than dense is each sparsity format as density falls{title_hw}?",
        xlabel=axis_label(x),
        ylabel=axis_label("speedup") + " (x)",
    )
    legend_outside(
        ax,
        leg_handles,
        leg_labels,
        title=" / ".join(str(c) for c in (hue, style if len(styles) > 1 else None) if c) or None,
    )
    return ax


def pareto_mask(df: pd.DataFrame, x: str, y: str, minimize: tuple[bool, bool]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Boolean mask of the rows of ``df`` on the Pareto front of ``(x, y)``."""
    xv = df[x].astype(float).to_numpy() * (1.0 if minimize[0] else -1.0)
    yv = df[y].astype(float).to_numpy() * (1.0 if minimize[1] else -1.0)
    order = np.lexsort((yv, xv))
    mask = np.zeros(len(df), dtype=bool)
    best = np.inf
    for i in order:
        if not (np.isfinite(xv[i]) and np.isfinite(yv[i])):
            continue
        if yv[i] < best:
            mask[i] = True
            best = yv[i]
    return mask


def pareto(
    df: pd.DataFrame,
    x: str,
    y: str,
    ax: Axes | None = None,
    *,
    minimize: tuple[bool, bool] | None = None,
    hue: str | None = None,
    label: str | None = None,
    title: str | None = None,
) -> Axes:
    """Sweep points with the Pareto front of ``(x, y)`` highlighted.

    ``minimize``: direction per axis; by default a column is maximized when it is in
    :data:`MAXIMIZE` (throughput, speedup, utilization...) and minimized otherwise (latency,
    energy, area...). ``hue``: colour the points by this column. ``label``: a column whose
    values name the front points.
    """
    require_columns(df, [x, y], "pareto(df)")
    data = df[np.isfinite(df[x].astype(float)) & np.isfinite(df[y].astype(float))].reset_index(drop=True)
    if not len(data):
        raise SimsparseError(f"pareto(df): expected rows with finite {x} and {y}, got none")
    direction = minimize or (x not in MAXIMIZE, y not in MAXIMIZE)
    mask = pareto_mask(data, x, y, direction)
    ax = new_axes(ax)
    handles: list[Any] = []
    labels: list[str] = []
    if hue is not None:
        require_columns(data, [hue], "pareto(df)")
        for i, (h, grp) in enumerate(data.groupby(hue, sort=False)):
            sc = ax.scatter(
                grp[x].astype(float),
                grp[y].astype(float),
                s=40,
                color=color_cycle(i),
                marker=marker_cycle(i),
                alpha=0.6,
                linewidth=0,
            )
            handles.append(sc)
            labels.append(str(h))
    else:
        sc = ax.scatter(
            data[x].astype(float), data[y].astype(float), s=40, color=color_cycle(4), alpha=0.6, linewidth=0
        )
        handles.append(sc)
        labels.append(f"all points ({len(data)})")
    front = data[mask].sort_values(x)
    (line,) = ax.plot(
        front[x].astype(float),
        front[y].astype(float),
        color="#D55E00",
        linewidth=2.2,
        marker="o",
        markersize=9,
        markerfacecolor="none",
        markeredgewidth=2.0,
        drawstyle=("steps-post" if direction[0] else "steps-pre") if len(front) > 1 else "default",
        zorder=3,
    )
    handles.append(line)
    labels.append(f"Pareto front ({len(front)})")
    if label is not None and label in front.columns and len(front) <= 15:
        for _, row in front.iterrows():
            ax.annotate(
                str(row[label]), (float(row[x]), float(row[y])), xytext=(6, 4), textcoords="offset points", fontsize=9
            )
    if wide_range(data[x].astype(float), 100.0):
        ax.set_xscale("log")
    if wide_range(data[y].astype(float), 100.0):
        ax.set_yscale("log")
    better = " and ".join(
        f"{'lower' if d else 'higher'} {axis_label(c).split(' (')[0].lower()}"
        for c, d in zip((x, y), direction, strict=True)
    )
    finish(
        ax,
        title=title or f"Which configurations are not beaten on both axes? (better: {better})",
        xlabel=axis_label(x),
        ylabel=axis_label(y),
    )
    legend_outside(ax, handles, labels, title=hue)
    return ax
