"""Shared helpers of the plot functions: palette, axes creation, text sizes, results coercion.

matplotlib is imported inside functions only, so importing this module (and
:mod:`simsparse.plot`) does not import matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from simsparse.errors import SimsparseError
from simsparse.results import SimResult, label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend

__all__ = [
    "CAUSE_COLORS",
    "MARKERS",
    "OKABE_ITO",
    "OTHER_COLOR",
    "ResultsLike",
    "as_named_results",
    "cause_color",
    "color_cycle",
    "finish",
    "legend_outside",
    "new_axes",
    "require_columns",
]

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (last: low contrast on white as a line)
    "#000000",  # black
)
"""The Okabe-Ito colour-blind-safe palette, ordered for contrast on white."""

OTHER_COLOR = "#999999"
"""Grey for 'other' / remainder categories."""

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES: tuple[Literal["-", "--", "-.", ":"], ...] = ("-", "--", "-.", ":")

CAUSE_COLORS: dict[str, str] = {
    "compute": "#0072B2",
    "memory": "#E69F00",
    "memory (all levels)": "#E69F00",
    "latency": "#CC79A7",
    "overhead": "#999999",
    "interconnect": "#009E73",
    "imbalance": "#F0E442",
    "static": "#000000",
}
_MEMORY_COLORS: tuple[str, ...] = ("#E69F00", "#D55E00", "#56B4E9", "#8C510A")

TITLE_SIZE = 14
LABEL_SIZE = 12
TICK_SIZE = 11
LEGEND_SIZE = 10
FIGSIZE: tuple[float, float] = (10.0, 6.0)

ResultsLike = SimResult | Sequence[SimResult] | Mapping[str, SimResult]
"""One result, several results (named by hardware and workload) or a mapping name -> result."""


def color_cycle(i: int) -> str:
    """The ``i``-th palette colour (cycling)."""
    return OKABE_ITO[i % len(OKABE_ITO)]


HATCHES: tuple[str | None, ...] = (None, "//", "..", "xx")


def hatch_cycle(i: int) -> str | None:
    """No hatch for the first 8 categories, then a hatch per further round of the palette."""
    return HATCHES[(i // len(OKABE_ITO)) % len(HATCHES)]


def marker_cycle(i: int) -> str:
    """A marker per round of the palette, so that category 9 is not mistaken for category 1."""
    return MARKERS[(i // len(OKABE_ITO)) % len(MARKERS)]


def cause_color(cause: str, memory_levels: Sequence[str] = ()) -> str:
    """A fixed colour per stall cause, so that every figure colours causes alike."""
    if cause in CAUSE_COLORS:
        return CAUSE_COLORS[cause]
    if cause.startswith("memory:"):
        level = cause.split(":", 1)[1]
        order = list(memory_levels)
        # outermost level (DRAM) first: it is the one that matters most and gets orange
        idx = (len(order) - 1 - order.index(level)) if level in order else sum(map(ord, level))
        return _MEMORY_COLORS[idx % len(_MEMORY_COLORS)]
    return OTHER_COLOR


def memory_levels_of(results: Sequence[SimResult]) -> list[str]:
    """Memory level names, inner to outer, from the ``bytes_<level>`` columns of the ops tables."""
    levels: list[str] = []
    for r in results:
        for col in r.ops.columns:
            name = str(col)
            if name.startswith("bytes_") and name[6:] not in levels:
                levels.append(name[6:])
    return levels


def new_axes(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """``ax``, or the Axes of a new figure sized for slides (no pyplot state is touched)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100)
    return fig.add_subplot(1, 1, 1)


def finish(ax: Axes, *, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels and tick sizes readable at slide size; a light grid behind the data."""
    ax.set_title(title, fontsize=TITLE_SIZE, loc="left", wrap=True)
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, which="major", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def legend_outside(
    ax: Axes,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    offset: float = 1.02,
    y: float = 1.0,
) -> Legend:
    """A legend to the right of the axes, never over the data."""
    kwargs: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (offset, y),
        "borderaxespad": 0.0,
        "fontsize": LEGEND_SIZE,
        "title_fontsize": LEGEND_SIZE,
        "frameon": False,
    }
    if title is not None:
        kwargs["title"] = title
    if handles is not None and labels is not None:
        return ax.legend(list(handles), list(labels), **kwargs)
    return ax.legend(**kwargs)


def as_named_results(results: ResultsLike) -> list[tuple[str, SimResult]]:
    """``[(name, result), ...]``; names from the mapping keys or ``hardware / workload``."""
    if isinstance(results, SimResult):
        return [(f"{results.hardware} / {results.workload}", results)]
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    else:
        seq = list(results)
        names = [f"{r.hardware} / {r.workload}" if isinstance(r, SimResult) else "" for r in seq]
        if len(set(names)) < len(names):
            names = [f"{n} #{i}" for i, n in enumerate(names)]
        items = list(zip(names, seq, strict=True))
    for name, r in items:
        if not isinstance(r, SimResult):
            raise SimsparseError(f"results[{name!r}]: expected a SimResult, got {type(r).__name__}")
    if not items:
        raise SimsparseError("results: expected at least one SimResult, got none")
    return items


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a :class:`SimsparseError` naming the missing columns of ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SimsparseError(
            f"{what}: expected columns {', '.join(missing)}, got a table with {', '.join(map(str, df.columns)) or 'no columns'}"
        )


def wide_range(values: Iterable[float], ratio: float = 50.0) -> bool:
    """Whether positive ``values`` span more than ``ratio`` (then a log axis reads better)."""
    pos = [v for v in values if v > 0 and math.isfinite(v)]
    return bool(pos) and max(pos) / min(pos) > ratio


def axis_label(column: str) -> str:
    """The schema label of ``column`` (with its unit)."""
    return label(column)
