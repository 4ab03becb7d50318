"""Design-space sweeps: specs, local or Dask execution, a content-addressed cache, Pareto fronts.

>>> import simsparse as ss
>>> spec = ss.load_sweep("stc_density")          # a shipped spec, or a path to a YAML file
>>> df = ss.sweep(spec, progress=False)            # doctest: +SKIP
>>> front = ss.pareto(df, minimize=["latency_s", "energy_j"])  # doctest: +SKIP

Dask is imported only when a Dask executor runs.
"""

from __future__ import annotations

import sys as _sys
import types as _types
from typing import Any

from .run import EXECUTORS, pareto, skipped, sweep
from .space import Plan, Point, plan
from .spec import Axis, Objectives, Sampling, SweepSpec, WorkloadSpec, load_sweep, sweep_from_dict

__all__ = [
    "EXECUTORS",
    "Axis",
    "Objectives",
    "Plan",
    "Point",
    "Sampling",
    "SweepSpec",
    "WorkloadSpec",
    "load_sweep",
    "pareto",
    "plan",
    "skipped",
    "sweep",
    "sweep_from_dict",
]


class _CallableModule(_types.ModuleType):
    """``simsparse.sweep`` is both this package and the function: importing the package sets the
    attribute ``simsparse.sweep`` to the module, so calling the module runs :func:`sweep`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
