"""MoE grouped GEMM: ``out[offsets[e]:offsets[e+1]] = x[offsets[e]:offsets[e+1]] @ w[e]`` for every expert e.

``x`` (rows x k, fp32) holds the token-expert pairs sorted by expert, ``offsets`` (n_experts + 1, int32) the
start of each expert's rows (per-expert counts are ``np.diff(offsets)``, possibly 0), ``w`` (n_experts x k x
n, fp32) one weight matrix per expert. The CUDA kernel is the shared-memory tiled GEMM with the expert in
``blockIdx.z`` (blocks past an expert's count exit); the CPU twin is parallel over (expert, row block,
column block) tiles. Compulsory traffic: ``x`` + the weights of experts with at least one row + ``offsets``
+ ``out``; flops ``2*rows*k*n``.
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

from simsparse.errors import WorkloadError

from ._case import KernelCase, KernelSpec, check_size
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, njit_parallel, run_cuda
from .gemm import BM, BN, gemm_tile

__all__ = [
    "SPECS",
    "make_moe_case",
    "moe_grouped_gemm_cpu",
    "moe_grouped_gemm_cuda",
    "moe_grouped_gemm_numpy",
    "power_law_counts",
]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

_SHAPES = {"tiny": (24, 3, 12, 12), "small": (256, 8, 256, 256), "full": (4096, 8, 2048, 1024)}
"""(rows, n_experts, k, n) per size set; rows is a multiple of n_experts."""

ALPHA = 1.2
"""Power-law exponent of the synthetic routing (expert e gets a share proportional to (rank+1)**-ALPHA)."""


def power_law_counts(n_rows: int, n_experts: int, alpha: float, seed: int) -> npt.NDArray[np.int64]:
    """Seeded per-expert row counts summing to ``n_rows``: a multinomial draw from a power law over a random
    ranking of the experts."""
    if n_experts < 1 or n_rows < 0:
        raise WorkloadError(f"MoE routing: need n_experts >= 1 and n_rows >= 0, got {n_experts}, {n_rows}")
    rng = np.random.default_rng(seed)
    p = (np.arange(n_experts) + 1.0) ** -alpha
    p = p[rng.permutation(n_experts)]
    return rng.multinomial(n_rows, p / p.sum()).astype(np.int64)


def _check(x: F32, offsets: I32, w: F32) -> None:
    if offsets.size != w.shape[0] + 1 or int(offsets[0]) != 0 or int(offsets[-1]) != x.shape[0]:
        raise WorkloadError("MoE grouped GEMM: offsets must have n_experts + 1 entries from 0 to the row count")
    if np.any(np.diff(offsets) < 0):
        raise WorkloadError("MoE grouped GEMM: offsets must be non-decreasing")
    if w.shape[1] != x.shape[1]:
        raise WorkloadError(f"MoE grouped GEMM: x has k={x.shape[1]} but the weights have k={w.shape[1]}")


# --- NumPy reference --------------------------------------------------------------------------------------


def moe_grouped_gemm_numpy(x: F32, offsets: I32, w: F32) -> npt.NDArray[np.float64]:
    """Reference grouped GEMM in float64, expert by expert."""
    _check(x, offsets, w)
    out = np.zeros((x.shape[0], w.shape[2]), dtype=np.float64)
    for e in range(w.shape[0]):
        lo, hi = int(offsets[e]), int(offsets[e + 1])
        if hi > lo:
            out[lo:hi] = np.asarray(x[lo:hi], dtype=np.float64) @ np.asarray(w[e], dtype=np.float64)
    return out


# --- numba CPU twin ---------------------------------------------------------------------------------------


@njit_parallel
def _moe_kernel(x: F32, offsets: I32, w: F32, out: F32) -> None:
    n_experts = w.shape[0]
    n = w.shape[2]
    n_row_tiles = 0
    for e in range(n_experts):
        n_row_tiles += (offsets[e + 1] - offsets[e] + BM - 1) // BM
    tile_expert = np.empty(n_row_tiles, dtype=np.int64)
    tile_row0 = np.empty(n_row_tiles, dtype=np.int64)
    t = 0
    for e in range(n_experts):
        for r0 in range(offsets[e], offsets[e + 1], BM):
            tile_expert[t] = e
            tile_row0[t] = r0
            t += 1
    nbn = (n + BN - 1) // BN
    for job in numba.prange(n_row_tiles * nbn):
        ti = job // nbn
        bj = job % nbn
        e = tile_expert[ti]
        r0 = tile_row0[ti]
        gemm_tile(x, w[e], out, r0, min(r0 + BM, offsets[e + 1]), bj * BN, min(n, bj * BN + BN))


def moe_grouped_gemm_cpu(x: F32, offsets: I32, w: F32, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`moe_grouped_gemm_numpy`."""
    _check(x, offsets, w)
    c = np.empty((x.shape[0], w.shape[2]), dtype=np.float32) if out is None else out
    _moe_kernel(x, offsets, w, c)
    return c


# --- numba CUDA kernel ------------------------------------------------------------------------------------


@functools.cache
def moe_cuda_kernel(tile: int) -> Any:
    """Grouped tiled GEMM kernel for ``tile x tile`` blocks; grid ``(n/tile, max_rows/tile, n_experts)``."""

    @cuda_kernel
    def kernel(x: Any, offsets: Any, w: Any, out: Any) -> None:
        e = cuda.blockIdx.z
        start = offsets[e]
        count = offsets[e + 1] - start
        local0 = cuda.blockIdx.y * tile
        if local0 >= count:  # the whole block is past this expert's rows
            return
        sa = cuda.shared.array((tile, tile), float32)
        sb = cuda.shared.array((tile, tile), float32)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        local = local0 + ty
        row = start + local
        col = cuda.blockIdx.x * tile + tx
        kdim = x.shape[1]
        n = out.shape[1]
        acc = float32(0.0)
        for k0 in range(0, kdim, tile):
            ka = k0 + tx
            if local < count and ka < kdim:
                sa[ty, tx] = x[row, ka]
            else:
                sa[ty, tx] = float32(0.0)
            kb = k0 + ty
            if kb < kdim and col < n:
                sb[ty, tx] = w[e, kb, col]
            else:
                sb[ty, tx] = float32(0.0)
            cuda.syncthreads()
            for i in range(tile):
                acc += sa[ty, i] * sb[i, tx]
            cuda.syncthreads()
        if local < count and col < n:
            out[row, col] = acc

    return kernel


def _moe_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    offsets = np.asarray(host[1])
    n_experts = offsets.size - 1
    max_rows = int(np.diff(offsets).max(initial=0))
    grid = (max(1, math.ceil(out.shape[1] / tile)), max(1, math.ceil(max_rows / tile)), n_experts)
    moe_cuda_kernel(tile)[grid, (tile, tile)](dev[0], dev[1], dev[2], out)


def moe_grouped_gemm_cuda(x: F32, offsets: I32, w: F32, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA grouped GEMM (host arrays in and out)."""
    _check(x, offsets, w)
    return run_cuda(_moe_launch, (x, offsets, w), (x.shape[0], w.shape[2]), tile=tile)


# --- case -------------------------------------------------------------------------------------------------


def make_moe_case(size: str, seed: int = 0) -> KernelCase:
    rows, n_experts, k, n = _SHAPES[check_size(size)]
    counts = power_law_counts(rows, n_experts, ALPHA, seed)
    offsets = np.zeros(n_experts + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((rows, k), dtype=np.float32)
    w = rng.standard_normal((n_experts, k, n), dtype=np.float32)
    active = int(np.count_nonzero(counts))
    return KernelCase(
        kernel="moe_grouped_gemm",
        size=size,
        seed=seed,
        operands=(x, offsets, w),
        out_shape=(rows, n),
        flops=2 * rows * k * n,
        bytes_moved=rows * k * 4 + active * k * n * 4 + offsets.nbytes + rows * n * 4,
        rtol=1e-4,
        atol=1e-4 * math.sqrt(k),
        m=rows // n_experts,
        n=n,
        k=k,
        tokens=rows,
        batch=n_experts,
        params={
            "experts": n_experts,
            "active_experts": active,
            "group_rows": "/".join(str(int(c)) for c in counts),
            "distribution": f"power_law_{ALPHA}",
            "m_is": "mean rows per expert (rows / experts)",
            "tokens_are": "token-expert pairs (rows of x)",
        },
    )


SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="moe_grouped_gemm",
        kind="grouped_gemm",
        dtype="fp32",
        description="MoE grouped GEMM, rows sorted by expert, per-expert weights, power-law counts (fp32)",
        source_path="simsparse/validation/kernels/moe.py",
        make_case=make_moe_case,
        reference=moe_grouped_gemm_numpy,
        cpu=moe_grouped_gemm_cpu,
        cuda_launch=_moe_launch,
    ),
)
