"""Compute models: cycles of a GEMM task on one core, registered by name."""

from __future__ import annotations

from . import models as _models
from .base import (
    ComputeCost,
    ComputeModel,
    GemmTask,
    compute_model,
    dense_core_cycles,
    register_compute_model,
    registered_compute_models,
)

__all__ = [
    "ComputeCost",
    "ComputeModel",
    "GemmTask",
    "compute_model",
    "dense_core_cycles",
    "register_compute_model",
    "registered_compute_models",
]

_ = _models
