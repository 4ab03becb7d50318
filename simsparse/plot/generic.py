"""Generic study figures: a metric against a parameter (lines) and a metric per category (bars)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsparse.errors import SimsparseError

from ._common import (
    LEGEND_SIZE,
    LINESTYLES,
    MARKERS,
    axis_label,
    color_cycle,
    finish,
    hatch_cycle,
    legend_outside,
    new_axes,
    require_columns,
    wide_range,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["bars", "lines"]


def lines(
    df: pd.DataFrame,
    x: str,
    y: str,
    ax: Axes | None = None,
    *,
    hue: str | None = None,
    style: str | None = None,
    logx: bool | None = None,
    logy: bool | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """``y`` against ``x``: one line per ``hue`` value (colour) and ``style`` value (marker, dashes).

    Axis labels come from the results schema unless ``xlabel`` / ``ylabel`` are given (for
    study parameters the schema does not name). Log axes by default when the values span more
    than a factor of 50.
    """
    require_columns(df, [c for c in (x, y, hue, style) if c], "lines(df)")
    data = df[np.isfinite(pd.to_numeric(df[y], errors="coerce").astype(float))]
    if not len(data):
        raise SimsparseError(f"lines(df): expected rows with a finite {y}, got none")
    ax = new_axes(ax)
    hues = list(dict.fromkeys(data[hue].astype(str))) if hue else [""]
    styles = list(dict.fromkeys(data[style].astype(str))) if style else [""]
    handles: list[Any] = []
    labels: list[str] = []
    for hi, h in enumerate(hues):
        for si, s in enumerate(styles):
            sel = pd.Series(True, index=data.index)
            if hue:
                sel &= data[hue].astype(str) == h
            if style:
                sel &= data[style].astype(str) == s
            grp = data[sel].sort_values(x)
            if not len(grp):
                continue
            (line,) = ax.plot(
                grp[x],
                grp[y].astype(float),
                color=color_cycle(hi),
                marker=MARKERS[si % len(MARKERS)],
                linestyle=LINESTYLES[si % len(LINESTYLES)],
                linewidth=2.0,
                markersize=7,
            )
            handles.append(line)
            labels.append(" · ".join(t for t in (h, s) if t) or axis_label(y))
    numeric_x = pd.api.types.is_numeric_dtype(data[x])
    if numeric_x and (logx if logx is not None else wide_range(data[x].astype(float))):
        ax.set_xscale("log")
    if numeric_x:
        ticks = sorted({float(v) for v in data[x]})
        if len(ticks) <= 12:
            from matplotlib.ticker import NullFormatter

            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{v:g}" for v in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if logy if logy is not None else wide_range(data[y].astype(float)):
        ax.set_yscale("log")
    finish(
        ax,
        title=title or f"{axis_label(y)} against {xlabel or axis_label(x)}",
        xlabel=xlabel or axis_label(x),
        ylabel=ylabel or axis_label(y),
    )
    legend_outside(ax, handles, labels, title=" · ".join(c for c in (hue, style) if c) or None)
    return ax


def _value_text(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v:,.0f}"
    if a < 1e-2:
        return f"{v:.2g}"
    return f"{v:.3g}"


def bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    ax: Axes | None = None,
    *,
    hue: str | None = None,
    annotate: bool = True,
    logy: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """Grouped bars: ``y`` per ``x`` category, one bar per ``hue`` value inside each group.

    Missing (NaN) values leave a gap marked "n/a" (e.g. a format the hardware cannot run).
    """
    require_columns(df, [c for c in (x, y, hue) if c], "bars(df)")
    if not len(df):
        raise SimsparseError("bars(df): expected at least one row, got none")
    ax = new_axes(ax)
    cats = list(dict.fromkeys(df[x].astype(str)))
    hues = list(dict.fromkeys(df[hue].astype(str))) if hue else [""]
    width = 0.8 / len(hues)
    handles: list[Any] = []
    labels: list[str] = []
    finite = pd.to_numeric(df[y], errors="coerce").astype(float)
    top = float(finite[np.isfinite(finite)].max()) if np.isfinite(finite).any() else 1.0
    for hi, h in enumerate(hues):
        sel = df[hue].astype(str) == h if hue else pd.Series(True, index=df.index)
        sub = df[sel]
        values: list[float] = []
        for c in cats:
            found = pd.to_numeric(sub.loc[sub[x].astype(str) == c, y], errors="coerce").astype(float)
            values.append(float(found.iloc[0]) if len(found) else math.nan)
        pos = np.arange(len(cats)) + (hi - (len(hues) - 1) / 2) * width
        heights = [v if math.isfinite(v) else 0.0 for v in values]
        cont = ax.bar(
            pos,
            heights,
            width=width * 0.95,
            color=color_cycle(hi),
            edgecolor="black",
            linewidth=0.5,
            hatch=hatch_cycle(hi),
        )
        handles.append(cont)
        labels.append(h or axis_label(y))
        if annotate:
            for p, val in zip(pos, values, strict=True):
                ax.text(
                    float(p),
                    (val if math.isfinite(val) and val > 0 else (top * 0.01 if not logy else 1.0)),
                    _value_text(val),
                    ha="center",
                    va="bottom",
                    fontsize=LEGEND_SIZE - 1 if len(hues) * len(cats) <= 24 else LEGEND_SIZE - 3,
                    rotation=0 if len(hues) * len(cats) <= 16 else 90,
                )
    ax.set_xticks(np.arange(len(cats)))
    ax.set_xticklabels(cats, rotation=0 if len(cats) <= 6 else 30, ha="center" if len(cats) <= 6 else "right")
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, top * 1.15)
    finish(
        ax,
        title=title or f"{axis_label(y)} by {xlabel or axis_label(x)}",
        xlabel=xlabel or axis_label(x),
        ylabel=ylabel or axis_label(y),
    )
    ax.grid(False, axis="x")
    if hue:
        legend_outside(ax, handles, labels, title=hue)
    return ax
