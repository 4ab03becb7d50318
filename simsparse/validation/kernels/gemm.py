"""Dense GEMM ``out = a @ b`` with ``a`` (m x k) activations and ``b`` (k x n) weights, fp32 accumulation.

fp32 inputs, or fp16 inputs with fp32 accumulation and an fp32 output. The CUDA kernel is the classic
shared-memory tiled GEMM (``tile x tile`` threads, one output element each, ``tile x tile`` tiles of ``a``
and ``b`` staged in shared memory). The CPU twin blocks the output into ``BM x BN`` tiles, parallel over
tiles, and walks k in ``BK`` panels. Compulsory traffic: ``(m*k + k*n) * input bytes + m*n*4``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import float32

from ._case import KernelCase, KernelSpec, check_size
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, f16_to_f32, grid_2d, njit_parallel, njit_serial, run_cuda

__all__ = [
    "BK",
    "BM",
    "BN",
    "SPECS",
    "gemm_cpu",
    "gemm_cuda",
    "gemm_numpy",
    "gemm_tile",
    "make_gemm_fp16_case",
    "make_gemm_fp32_case",
]

F32 = npt.NDArray[np.float32]

BM, BN, BK = 32, 128, 128
"""CPU twin blocking: output tiles of BM x BN (one parallel task each), k walked in panels of BK."""

_SHAPES = {"tiny": (12, 20, 24), "small": (192, 256, 320), "full": (2048, 2048, 2048)}
"""(m, n, k) per size set."""


# --- NumPy reference --------------------------------------------------------------------------------------


def gemm_numpy(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Reference ``a @ b`` accumulated in float64 (inputs widened exactly)."""
    return np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)


# --- numba CPU twin ---------------------------------------------------------------------------------------


@njit_serial
def gemm_tile(a: F32, b: F32, out: F32, i0: int, i1: int, j0: int, j1: int) -> None:
    """``out[i0:i1, j0:j1] = a[i0:i1] @ b[:, j0:j1]`` with a private fp32 accumulator, k in BK panels."""
    k = a.shape[1]
    nj = j1 - j0
    acc = np.zeros((i1 - i0, nj), dtype=np.float32)
    for k0 in range(0, k, BK):
        k1 = min(k0 + BK, k)
        for i in range(i0, i1):
            arow = acc[i - i0]
            for kk in range(k0, k1):
                aik = a[i, kk]
                brow = b[kk, j0:j1]  # a contiguous slice keeps the j loop vectorized
                for j in range(nj):
                    arow[j] += aik * brow[j]
    out[i0:i1, j0:j1] = acc


@njit_parallel
def _gemm_kernel(a: F32, b: F32, out: F32) -> None:
    m = a.shape[0]
    n = b.shape[1]
    nbm = (m + BM - 1) // BM
    nbn = (n + BN - 1) // BN
    for t in numba.prange(nbm * nbn):
        bi = t // nbn
        bj = t % nbn
        gemm_tile(a, b, out, bi * BM, min(m, bi * BM + BM), bj * BN, min(n, bj * BN + BN))


def gemm_cpu(a: npt.NDArray[Any], b: npt.NDArray[Any], out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`gemm_numpy`; fp16 inputs are decoded to fp32 by numba first."""
    if a.dtype == np.float16:
        a = f16_to_f32(np.ascontiguousarray(a).view(np.uint16))
    if b.dtype == np.float16:
        b = f16_to_f32(np.ascontiguousarray(b).view(np.uint16))
    c = np.empty((a.shape[0], b.shape[1]), dtype=np.float32) if out is None else out
    _gemm_kernel(a, b, c)
    return c


# --- numba CUDA kernel ------------------------------------------------------------------------------------


@functools.cache
def gemm_cuda_kernel(tile: int) -> Any:
    """The shared-memory tiled GEMM kernel for ``tile x tile`` blocks (fp32 or fp16 inputs, fp32 out)."""

    @cuda_kernel
    def kernel(a: Any, b: Any, out: Any) -> None:
        sa = cuda.shared.array((tile, tile), float32)
        sb = cuda.shared.array((tile, tile), float32)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * tile + ty
        col = cuda.blockIdx.x * tile + tx
        m = a.shape[0]
        kdim = a.shape[1]
        n = b.shape[1]
        acc = float32(0.0)
        for k0 in range(0, kdim, tile):
            ka = k0 + tx
            if row < m and ka < kdim:
                sa[ty, tx] = float32(a[row, ka])
            else:
                sa[ty, tx] = float32(0.0)
            kb = k0 + ty
            if kb < kdim and col < n:
                sb[ty, tx] = float32(b[kb, col])
            else:
                sb[ty, tx] = float32(0.0)
            cuda.syncthreads()
            for i in range(tile):
                acc += sa[ty, i] * sb[i, tx]
            cuda.syncthreads()
        if row < m and col < n:
            out[row, col] = acc

    return kernel


def _gemm_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    grid, block = grid_2d(out.shape[1], out.shape[0], tile)
    gemm_cuda_kernel(tile)[grid, block](dev[0], dev[1], out)


def gemm_cuda(a: npt.NDArray[Any], b: npt.NDArray[Any], *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA tiled GEMM (host arrays in and out)."""
    return run_cuda(_gemm_launch, (a, b), (a.shape[0], b.shape[1]), tile=tile)


# --- cases ------------------------------------------------------------------------------------------------


def _make_case(kernel: str, size: str, seed: int, dtype: type[np.floating[Any]]) -> KernelCase:
    m, n, k = _SHAPES[check_size(size)]
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32).astype(dtype)
    b = rng.standard_normal((k, n), dtype=np.float32).astype(dtype)
    isz = np.dtype(dtype).itemsize
    return KernelCase(
        kernel=kernel,
        size=size,
        seed=seed,
        operands=(a, b),
        out_shape=(m, n),
        flops=2 * m * n * k,
        bytes_moved=(m * k + k * n) * isz + m * n * 4,
        rtol=1e-4,
        atol=1e-4 * math.sqrt(k),
        m=m,
        n=n,
        k=k,
        params={"in_dtype": np.dtype(dtype).name, "acc_dtype": "float32", "out_dtype": "float32"},
    )


def make_gemm_fp32_case(size: str, seed: int = 0) -> KernelCase:
    return _make_case("gemm_fp32", size, seed, np.float32)


def make_gemm_fp16_case(size: str, seed: int = 0) -> KernelCase:
    return _make_case("gemm_fp16", size, seed, np.float16)


_PATH = "simsparse/validation/kernels/gemm.py"

SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="gemm_fp32",
        kind="gemm",
        dtype="fp32",
        description="tiled dense GEMM, fp32 in, fp32 accumulate and out",
        source_path=_PATH,
        make_case=make_gemm_fp32_case,
        reference=gemm_numpy,
        cpu=gemm_cpu,
        cuda_launch=_gemm_launch,
    ),
    KernelSpec(
        name="gemm_fp16",
        kind="gemm",
        dtype="fp16",
        description="tiled dense GEMM, fp16 in, fp32 accumulate and out",
        source_path=_PATH,
        make_case=make_gemm_fp16_case,
        reference=gemm_numpy,
        cpu=gemm_cpu,
        cuda_launch=_gemm_launch,
    ),
)
