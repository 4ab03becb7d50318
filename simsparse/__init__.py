"""simsparse: what would this sparse / MoE / low-bit LLM workload cost on this hardware?

>>> import simsparse as ss
>>> hw = ss.load_hardware("h100-sxm")
>>> res = ss.simulate(hw, ss.gemm(m=4096, n=4096, k=4096, dtype="fp16", weight_pattern="2:4"))
>>> sorted(res.summary())[:3]
['bottleneck', 'bottleneck_share', 'bytes_by_level']

Importing simsparse does not import matplotlib or dask; those load when a plot or a Dask sweep
needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from simsparse.config import hardware_presets, load_hardware
from simsparse.engine import simulate
from simsparse.errors import ConfigError, DoesNotFitError, SimsparseError, SimulationError, WorkloadError
from simsparse.hw import System
from simsparse.results import SimResult

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DoesNotFitError",
    "SimResult",
    "SimsparseError",
    "SimulationError",
    "System",
    "Workload",
    "WorkloadError",
    "__version__",
    "attention",
    "collective",
    "gemm",
    "hardware_presets",
    "load_hardware",
    "load_model",
    "load_sweep",
    "load_trace",
    "load_workload",
    "moe_layer",
    "pareto",
    "simulate",
    "sweep",
]

_LAZY = {
    "Workload": "simsparse.workload",
    "gemm": "simsparse.workload",
    "moe_layer": "simsparse.workload",
    "attention": "simsparse.workload",
    "collective": "simsparse.workload",
    "load_trace": "simsparse.workload",
    "load_workload": "simsparse.config.models",
    "load_model": "simsparse.config.models",
    "load_sweep": "simsparse.sweep",
    "pareto": "simsparse.sweep",
}


def __getattr__(name: str) -> Any:
    if name == "sweep":
        # the subpackage itself is callable: ss.sweep(spec, ...) runs simsparse.sweep.sweep
        return importlib.import_module("simsparse.sweep")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simsparse' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
