"""Predicted versus measured kernel times, log-log, with the identity line and error bands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simsparse.errors import SimsparseError

from ._common import MARKERS, OKABE_ITO, axis_label, color_cycle, finish, legend_outside, new_axes, require_columns

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["validation"]


def _columns(df: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, str, str]:
    """The rows to plot and the measured / predicted column names."""
    if "measured_us" in df.columns and "predicted_us" in df.columns and metric == "latency_us":
        return df.copy(), "measured_us", "predicted_us"
    require_columns(df, ["measured", "predicted"], "validation(df)")
    data = df[df["metric"].astype(str) == metric] if "metric" in df.columns else df
    return data.copy(), "measured", "predicted"


def _axis_labels(df: pd.DataFrame, metric: str) -> tuple[str, str]:
    if metric == "latency_us":
        return axis_label("measured"), axis_label("predicted")
    unit = ""
    if "unit" in df.columns and len(df):
        unit = str(df["unit"].iloc[0])
    suffix = f" ({unit})" if unit else ""
    what = metric.replace("_", " ")
    return f"Measured {what}{suffix}", f"Predicted {what}{suffix}"


def validation(
    df: pd.DataFrame,
    ax: Axes | None = None,
    *,
    hue: str = "kind",
    marker: str | None = "regime",
    metric: str = "latency_us",
    bands: Sequence[float] = (0.1, 0.25),
    title: str | None = None,
) -> Axes:
    """Predicted against measured value per row (log-log), one colour per ``hue`` (op kind).

    ``df`` is the table of :func:`simsparse.validation.compare` (``measured``, ``predicted``,
    ``metric``, ``unit``, ``kind``, ``regime``, ``expressible``; only the rows of ``metric``,
    default ``latency_us``, are drawn), or any table with ``measured_us`` and ``predicted_us``.
    Rows with ``expressible`` False or a non-positive value are left out (their count is given
    in the legend). Shaded bands: predictions within each relative error of ``bands`` (default
    ±10 % and ±25 %); marker shape: the ``marker`` column (default ``regime``, memory or
    compute) when present and there are at most 8 colours, else a shape per colour group.
    """
    data, mcol, pcol = _columns(df, metric)
    n_all = len(data)
    if "expressible" in data.columns:
        data = data[data["expressible"].astype(bool)]
    meas = pd.to_numeric(data[mcol], errors="coerce").astype(float)
    pred = pd.to_numeric(data[pcol], errors="coerce").astype(float)
    data = data[np.isfinite(meas) & np.isfinite(pred) & (meas > 0) & (pred > 0)]
    if not len(data):
        raise SimsparseError(
            f"validation(df): expected rows of {metric} with positive measured and predicted values, got none"
        )
    n_left_out = n_all - len(data)
    xlabel, ylabel = _axis_labels(data, metric)
    meas = data[mcol].astype(float)
    pred = data[pcol].astype(float)
    rel = (pred - meas).abs() / meas
    ax = new_axes(ax, figsize=(9.0, 7.0))
    lo = float(min(meas.min(), pred.min())) / 1.6
    hi = float(max(meas.max(), pred.max())) * 1.6
    grid = np.geomspace(lo, hi, 64)
    handles: list[Any] = []
    labels: list[str] = []
    greys = ("#bbbbbb", "#dddddd", "#eeeeee")
    for i, b in enumerate(sorted(bands)):
        inner = sorted(bands)[i - 1] if i else 0.0
        fill = ax.fill_between(grid, grid * (1 + inner), grid * (1 + b), color=greys[min(i, 2)], linewidth=0, zorder=0)
        ax.fill_between(grid, grid * (1 - b), grid * (1 - inner), color=greys[min(i, 2)], linewidth=0, zorder=0)
        handles.append(fill)
        share = float((rel <= b).mean())
        labels.append(f"within ±{b:.0%} ({share:.0%} of rows)")
    (ident,) = ax.plot(grid, grid, color="black", linewidth=1.5, zorder=1)
    handles.insert(0, ident)
    labels.insert(0, "predicted = measured")
    hue_col = hue if hue in data.columns else None
    n_hues = int(data[hue_col].nunique()) if hue_col else 1
    marker_col = marker if marker is not None and marker in data.columns and n_hues <= len(OKABE_ITO) else None
    markers = (
        {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(sorted(map(str, data[marker_col].unique())))}
        if marker_col
        else {}
    )
    groups = data.groupby(hue_col, sort=True) if hue_col else [("all", data)]
    for i, (h, grp) in enumerate(groups):
        color = color_cycle(i)
        if marker_col:
            first = True
            for m, sub in grp.groupby(marker_col, sort=True):
                sc = ax.scatter(
                    sub[mcol].astype(float),
                    sub[pcol].astype(float),
                    s=45,
                    color=color,
                    marker=markers[str(m)],
                    edgecolor="black",
                    linewidth=0.5,
                    alpha=0.85,
                    zorder=3,
                )
                if first:
                    handles.append(sc)
                    hr = rel[grp.index]
                    labels.append(f"{h!s}: {len(grp)} rows, median |error| {float(hr.median()):.0%}")
                    first = False
        else:
            sc = ax.scatter(
                grp[mcol].astype(float),
                grp[pcol].astype(float),
                s=45,
                color=color,
                marker=MARKERS[(i // len(OKABE_ITO)) % len(MARKERS)],
                edgecolor="black",
                linewidth=0.5,
                alpha=0.85,
                zorder=3,
            )
            handles.append(sc)
            hr = rel[grp.index]
            labels.append(f"{h!s}: {len(grp)} rows, median |error| {float(hr.median()):.0%}")
    if marker_col:
        from matplotlib.lines import Line2D

        for m, mk in markers.items():
            handles.append(Line2D([], [], color="black", marker=mk, linestyle="none", markerfacecolor="white"))
            labels.append(f"{marker_col}: {m}")
    if n_left_out:
        from matplotlib.patches import Patch

        handles.append(Patch(color="none"))
        labels.append(f"{n_left_out} rows not expressible / not positive, left out")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    finish(
        ax,
        title=title
        or f"How close are predictions to measurements? {len(data)} rows, median |error| {float(rel.median()):.0%}",
        xlabel=xlabel,
        ylabel=ylabel,
    )
    legend_outside(ax, handles, labels)
    return ax
