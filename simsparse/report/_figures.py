"""Figures that several reports draw the same way."""

from __future__ import annotations

from collections.abc import Mapping

from simsparse import plot
from simsparse.hw import System
from simsparse.results import SimResult

from ._writer import ReportWriter

__all__ = ["cause_breakdown"]


def cause_breakdown(
    w: ReportWriter,
    file: str,
    results: Mapping[str, SimResult],
    hw: System,
    *,
    title: str,
    caption: str,
    height_in: float | None = None,
) -> None:
    """Write ``file``: time and energy of each result split by the cause that bounds it
    (:func:`simsparse.plot.breakdown` with ``by="cause"``), one bar per result. ``height_in`` defaults to
    what the bars need."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, height_in if height_in is not None else 2.0 + 1.3 * len(results)))
    plot.breakdown(results, by="cause", ax=fig.add_subplot(), hw=hw, title=title)
    w.figure(file, fig, caption)
