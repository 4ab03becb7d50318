"""The engine: map -> plan -> schedule -> account; fidelity levels ``cycle``, ``event``, ``roofline``."""

from __future__ import annotations

from .simulate import FIDELITIES, simulate
from .timing import OpTiming, time_compute_op

__all__ = ["FIDELITIES", "OpTiming", "simulate", "time_compute_op"]
