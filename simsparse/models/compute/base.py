"""The compute-model protocol, the registry, and the shared dense timing of one core."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from simsparse.errors import SimulationError, closest
from simsparse.hw import MatrixUnit, parse_pattern
from simsparse.kernels.systolic import closed_form_cycles

__all__ = [
    "ComputeCost",
    "ComputeModel",
    "GemmTask",
    "compute_model",
    "dense_core_cycles",
    "register_compute_model",
    "registered_compute_models",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class GemmTask:
    """A GEMM (or a tile of one) on ONE core: ``C[m,n] += A[m,k] @ B[k,n]``, ``batch`` times.

    Sparsity: ``b_pattern``/``b_density`` for the weights (with optional per-block nonzero
    counts ``b_block_nnz`` over blocks of ``b_block_shape``), ``a_density`` for activations.
    """

    m: int
    n: int
    k: int
    batch: int = 1
    dtype: str = "bf16"
    b_pattern: str = "dense"
    b_density: float = 1.0
    a_density: float = 1.0
    b_block_nnz: tuple[int, ...] = ()
    b_block_shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeCost:
    """Cost of a :class:`GemmTask` on one core.

    ``cycles``: datapath cycles; ``dense_cycles``: what the dense datapath would take;
    ``effective_macs``: MACs executed (after skipping); ``energy_macs``: MACs that burn energy
    (gating saves energy, not cycles); ``imbalance_cycles``: part of ``cycles`` lost to PE load
    imbalance; ``vector_flops``: extra vector-unit work (decompression of a pattern the datapath
    cannot run).
    """

    cycles: float
    dense_cycles: float
    effective_macs: float
    energy_macs: float
    imbalance_cycles: float = 0.0
    vector_flops: float = 0.0


class ComputeModel(Protocol):
    """Cycles of a GEMM task on one core's matrix unit."""

    name: str

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        """The cost of ``task`` on ``unit``; :class:`SimulationError` if it cannot run there."""
        ...


_REGISTRY: dict[str, Callable[[], ComputeModel]] = {}


def register_compute_model(name: str) -> Callable[[Callable[[], ComputeModel]], Callable[[], ComputeModel]]:
    """Class decorator registering a compute model factory under ``name``."""

    def deco(factory: Callable[[], ComputeModel]) -> Callable[[], ComputeModel]:
        _REGISTRY[name] = factory
        return factory

    return deco


def registered_compute_models() -> list[str]:
    """Names of the registered compute models."""
    return sorted(_REGISTRY)


def compute_model(name: str) -> ComputeModel:
    """The compute model registered as ``name``."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise SimulationError(
            f"compute_model: expected one of {', '.join(sorted(_REGISTRY))}{closest(name, list(_REGISTRY))}, got {name!r}"
        ) from None


def dense_core_cycles(
    unit: MatrixUnit, m: int, n: int, k: int, batch: int, dtype: str, *, sparse_n: int = 0, sparse_m: int = 0
) -> float:
    """Dense (or K-compressed N:M) cycles of a GEMM on one core.

    * ``systolic``: the exact closed form of :func:`simsparse.kernels.systolic.closed_form_cycles`
      (fill, drain and folds; SCALE-Sim's conventions), with ``n`` split evenly over the core's
      ``n_arrays`` arrays. Narrower dtypes raise the rate by ``macs_per_cycle[dtype] / (rows*cols*n_arrays)``
      (packed MACs per PE).
    * ``tensor_core``: throughput timing. ``m`` and ``n`` are padded to the instruction shape
      (``array_rows x array_cols``), and the MACs run at ``macs_per_cycle[dtype] x
      sustained_fraction[dtype]`` (the measured fraction, cited in the preset). Pipeline fill of
      the tensor cores is below a microsecond and is not modelled.
    """
    rate = unit.macs(dtype)
    if unit.kind == "systolic":
        pes = unit.array_rows * unit.array_cols * unit.n_arrays
        pack = max(rate / pes, 1.0)
        n_per = math.ceil(n / unit.n_arrays)
        cyc = closed_form_cycles(m, n_per, k, unit.array_rows, unit.array_cols, unit.dataflow, sparse_n, sparse_m)
        # SCALE-Sim reports the index of the last cycle; a single-cycle GEMM (index 0) still takes one
        cyc = max(cyc, 1)
        return float(cyc) * batch / pack / unit.sustained(dtype)
    m_pad = math.ceil(m / unit.array_rows) * unit.array_rows
    n_pad = math.ceil(n / unit.array_cols) * unit.array_cols
    k_eff = k if not sparse_m else math.ceil(k * sparse_n / sparse_m)
    return float(m_pad) * n_pad * k_eff * batch / (rate * unit.sustained(dtype))


def check_pattern(pattern: str) -> tuple[str, int, int]:
    """Parse a weight pattern (``dense``, ``N:M``, ``unstructured``, ``block:RxC``) for compute models."""
    if pattern.startswith("block"):
        return ("block", 0, 0)
    try:
        return parse_pattern(pattern)
    except ValueError as exc:
        raise SimulationError(f"weight_pattern: {exc}") from None
