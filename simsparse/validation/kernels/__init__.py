"""The measured-run kernel suite: small kernels, each with three implementations that take the same operands
and produce the same output: a numba CUDA kernel, a numba CPU parallel twin and a plain NumPy reference.

=================== ===================== ========= ===========================================================
kernel              kind (measured CSV)   dtype     what
=================== ===================== ========= ===========================================================
``stream_copy``     ``bandwidth``         fp32      ``a = b``
``stream_triad``    ``bandwidth``         fp32      ``a = b + s*c``
``gemm_fp32``       ``gemm``              fp32      shared-memory tiled GEMM / blocked CPU GEMM
``gemm_fp16``       ``gemm``              fp16      the same with fp16 inputs, fp32 accumulation and output
``sparse24_gemm``   ``sparse_gemm_2of4``  fp32      2:4 compressed weights (values + packed 2-bit metadata)
``csr_spmm``        ``spmm_csr``          fp32      CSR sparse times dense
``moe_grouped_gemm`` ``grouped_gemm``     fp32      per-expert GEMMs over rows sorted by expert
``w4a16_gemv``      ``gemm_weight_only``  int4_wo   m=1, int4 weights with fp16 group scales, fp16 activations
``w4a16_gemm``      ``gemm_weight_only``  int4_wo   the same at m=16
=================== ===================== ========= ===========================================================

Each kernel makes seeded cases at the ``tiny``, ``small`` and ``full`` size sets (:func:`make_case`) that carry
the flops and the compulsory bytes moved. This package and :mod:`simsparse.kernels` are the only places that
import numba; importing it needs no GPU (CUDA kernels compile at their first launch).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from simsparse.errors import SimulationError, closest

from . import gemm, moe, sparse24, spmm, stream, w4a16
from ._case import SIZES, KernelCase, KernelSpec
from ._jit import DEFAULT_TILE, cuda_available, cuda_module, numba_info, simulator_enabled, to_device

__all__ = [
    "DEFAULT_TILE",
    "KERNELS",
    "SIZES",
    "CudaRun",
    "KernelCase",
    "KernelSpec",
    "check_output",
    "cuda_available",
    "cuda_module",
    "get_kernel",
    "kernel_names",
    "make_case",
    "numba_info",
    "prepare_cuda",
    "run_cpu",
    "run_cuda",
    "run_reference",
    "simulator_enabled",
]

KERNELS: Mapping[str, KernelSpec] = MappingProxyType(
    {spec.name: spec for module in (stream, gemm, sparse24, spmm, moe, w4a16) for spec in module.SPECS}
)
"""Every kernel of the suite by name, in measurement order."""


def kernel_names() -> tuple[str, ...]:
    """The kernel names, in measurement order."""
    return tuple(KERNELS)


def get_kernel(name: str) -> KernelSpec:
    """The :class:`KernelSpec` called ``name``; :class:`SimulationError` (with a suggestion) when unknown."""
    try:
        return KERNELS[name]
    except KeyError:
        raise SimulationError(
            f"kernel: expected one of {list(KERNELS)}, got {name!r}{closest(name, list(KERNELS))}"
        ) from None


def make_case(name: str, size: str = "small", seed: int = 0) -> KernelCase:
    """A seeded case of kernel ``name`` at size set ``size`` (``tiny``, ``small`` or ``full``)."""
    return get_kernel(name).make_case(size, seed)


def run_reference(case: KernelCase) -> npt.NDArray[Any]:
    """The NumPy reference output of ``case`` (float64 accumulation where the kernel reduces)."""
    return get_kernel(case.kernel).reference(*case.operands)


def run_cpu(case: KernelCase, out: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
    """Run the numba CPU twin on ``case`` (into ``out`` when given) and return the output."""
    target = case.new_output() if out is None else out
    get_kernel(case.kernel).cpu(*case.operands, out=target)
    return target


class CudaRun:
    """A case staged on the GPU: operands copied once, output allocated; :meth:`launch` is asynchronous."""

    __slots__ = ("_dev", "_out", "_spec", "case", "tile")

    def __init__(self, case: KernelCase, tile: int = DEFAULT_TILE) -> None:
        cuda = cuda_module()
        self.case = case
        self.tile = tile
        self._spec = get_kernel(case.kernel)
        self._dev = to_device(case.operands)
        self._out: Any = cuda.device_array(case.out_shape, dtype=case.out_dtype)

    def launch(self) -> None:
        """Launch the kernel once (asynchronously, on the default stream)."""
        self._spec.cuda_launch(self.case.operands, self._dev, self._out, self.tile)

    def output(self) -> npt.NDArray[Any]:
        """Wait for the GPU and copy the output back."""
        cuda_module().synchronize()
        return np.asarray(self._out.copy_to_host())


def prepare_cuda(case: KernelCase, tile: int = DEFAULT_TILE) -> CudaRun:
    """Stage ``case`` on the GPU (needs CUDA or ``NUMBA_ENABLE_CUDASIM=1``)."""
    return CudaRun(case, tile)


def run_cuda(case: KernelCase, tile: int = DEFAULT_TILE) -> npt.NDArray[Any]:
    """Run the numba CUDA kernel on ``case`` once and return the output (host array)."""
    run = prepare_cuda(case, tile)
    run.launch()
    return run.output()


def check_output(case: KernelCase, out: npt.NDArray[Any], ref: npt.NDArray[Any], *, where: str = "") -> float:
    """Check ``out`` against the reference with ``np.allclose(out, ref, rtol=case.rtol, atol=case.atol)``.

    Returns the largest absolute error; raises :class:`SimulationError` on a shape mismatch, a non-finite
    value or an error beyond the tolerance.
    """
    label = f"{case.kernel} ({case.size}{', ' + where if where else ''})"
    if out.shape != ref.shape:
        raise SimulationError(f"{label}: output shape {out.shape} differs from the reference {ref.shape}")
    out64 = np.asarray(out, dtype=np.float64)
    ref64 = np.asarray(ref, dtype=np.float64)
    if not np.all(np.isfinite(out64)):
        raise SimulationError(f"{label}: output holds non-finite values")
    err = float(np.max(np.abs(out64 - ref64), initial=0.0))
    if not np.allclose(out64, ref64, rtol=case.rtol, atol=case.atol):
        bad = int(np.count_nonzero(~np.isclose(out64, ref64, rtol=case.rtol, atol=case.atol)))
        raise SimulationError(
            f"{label}: output does not match the NumPy reference: {bad} of {out.size} values outside "
            f"rtol={case.rtol:g}, atol={case.atol:g} (max abs error {err:.3g})"
        )
    return err
