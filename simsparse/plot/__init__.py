"""Figures from results tables.

Every function takes data (a :class:`~simsparse.results.SimResult`, several, or a table) and an
optional ``ax``, draws on it (or on a new slide-sized figure) and returns the Axes; none shows or
saves. Axis labels and units come from :mod:`simsparse.results.schema`; colours from the
colour-blind-safe Okabe-Ito palette; legends sit outside the data. matplotlib is imported inside
the functions, so ``import simsparse.plot`` does not import it.

* :func:`roofline`: compute roofs per dtype (dense and sparse), bandwidth slopes per memory level,
  the ops placed by arithmetic intensity.
* :func:`speedup_vs_density`: speedup over dense by sparsity pattern and hardware.
* :func:`breakdown`: where the time and the energy go, by op, memory level or stall cause.
* :func:`pareto`: sweep points with the Pareto front highlighted.
* :func:`validation`: predicted vs measured, log-log, identity line and error bands.
* :func:`moe_load`: tokens per expert and time per device.
* :func:`lines` and :func:`bars`: a metric against a study parameter, or per category.
"""

from __future__ import annotations

from ._common import OKABE_ITO
from .breakdown import BREAKDOWNS, breakdown, breakdown_table
from .generic import bars, lines
from .moe import moe_load
from .roofline import roofline
from .sweeps import MAXIMIZE, pareto, pareto_mask, speedup_table, speedup_vs_density
from .validation import validation

__all__ = [
    "BREAKDOWNS",
    "MAXIMIZE",
    "OKABE_ITO",
    "bars",
    "breakdown",
    "breakdown_table",
    "lines",
    "moe_load",
    "pareto",
    "pareto_mask",
    "roofline",
    "speedup_table",
    "speedup_vs_density",
    "validation",
]
