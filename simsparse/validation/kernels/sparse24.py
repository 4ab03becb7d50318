"""2:4 structured-sparse GEMM ``out = x @ W`` with ``W`` (k x n) stored compressed.

Format (groups of 4 consecutive rows of ``W`` along k, per output column n; at most 2 non-zeros per group):

* ``values`` (k/2 x n): the two kept values of group g in rows ``2g`` and ``2g+1``, in ascending position;
* ``meta`` (k/8 x n, uint8): the two 2-bit positions of group g as a nibble ``i0 | i1 << 2`` (``i0 < i1``);
  group ``2j`` in the low nibble of ``meta[j]``, group ``2j+1`` in the high nibble. That is 2 bits of
  metadata per kept value, as on NVIDIA sparse tensor cores.

A group with fewer than 2 non-zeros keeps its non-zeros plus the lowest free positions (with value 0).
k must be a multiple of 8. Compulsory traffic: ``m*k*4`` (x) + ``k/2*n*4`` (values) + ``k/8*n`` (meta) +
``m*n*4`` (out); flops executed ``2*m*n*k/2`` (the dense-equivalent count is ``2*m*n*k``).
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
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, grid_2d, njit_parallel, run_cuda

__all__ = [
    "SPECS",
    "compress_2of4",
    "compress_2of4_numpy",
    "decompress_2of4",
    "make_sparse24_case",
    "prune_2of4",
    "sparse24_gemm_cpu",
    "sparse24_gemm_cuda",
    "sparse24_gemm_numpy",
]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

BM, BN = 64, 64
"""CPU twin output tiles (one parallel task each). The twin transposes x once, then for each kept weight
adds ``value * x.T[row]`` over the tile's BM rows: contiguous, vectorizable, no gathers."""

_SHAPES = {"tiny": (12, 20, 64), "small": (192, 256, 512), "full": (2048, 2048, 2048)}
"""(m, n, k) per size set."""


def _check_k(k: int) -> None:
    if k % 8 != 0:
        raise WorkloadError(f"2:4 compression: the k dimension must be a multiple of 8, got {k}")


# --- format: prune, compress, decompress (NumPy) ----------------------------------------------------------


def prune_2of4(w: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Magnitude 2:4 pruning along axis 0: in each group of 4 rows keep the 2 largest ``|w|`` per column
    (ties keep the lower row)."""
    k, n = w.shape
    if k % 4 != 0:
        raise WorkloadError(f"2:4 pruning: the k dimension must be a multiple of 4, got {k}")
    wg = w.reshape(k // 4, 4, n)
    order = np.argsort(-np.abs(wg), axis=1, kind="stable")
    keep = np.zeros(wg.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :2, :], True, axis=1)
    return np.where(keep, wg, np.zeros((), dtype=w.dtype)).reshape(k, n)


def compress_2of4_numpy(w: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], U8]:
    """Compress a 2:4-sparse ``w`` (k x n) to ``(values, meta)`` (NumPy reference of :func:`compress_2of4`)."""
    k, n = w.shape
    _check_k(k)
    wg = w.reshape(k // 4, 4, n)
    nz = wg != 0
    bad = int(np.count_nonzero(nz.sum(axis=1) > 2))
    if bad:
        raise WorkloadError(f"2:4 compression: {bad} group(s) of 4 along k hold more than 2 non-zeros")
    pos = np.arange(4)[None, :, None]
    key = np.where(nz, pos, pos + 4)  # non-zeros first, then free positions, each in ascending order
    idx = np.sort(np.argsort(key, axis=1, kind="stable")[:, :2, :], axis=1)  # (k/4, 2, n)
    values = np.take_along_axis(wg, idx, axis=1).reshape(k // 2, n)
    nib = (idx[:, 0, :] | (idx[:, 1, :] << 2)).astype(np.uint8)  # (k/4, n)
    meta = (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(values), np.ascontiguousarray(meta)


def decompress_2of4(values: npt.NDArray[Any], meta: U8) -> npt.NDArray[Any]:
    """The dense ``k x n`` matrix of a compressed ``(values, meta)`` pair."""
    half, n = values.shape
    k = 2 * half
    _check_k(k)
    if meta.shape != (k // 8, n):
        raise WorkloadError(f"2:4 metadata: expected shape {(k // 8, n)}, got {meta.shape}")
    nib = np.empty((k // 4, n), dtype=np.uint8)
    nib[0::2] = meta & 0xF
    nib[1::2] = meta >> 4
    i0 = (nib & 3).astype(np.intp)
    i1 = (nib >> 2).astype(np.intp)
    if np.any(i0 >= i1):
        raise WorkloadError("2:4 metadata: each group needs two distinct positions in ascending order")
    dense = np.zeros((k // 4, 4, n), dtype=values.dtype)
    vg = values.reshape(k // 4, 2, n)
    np.put_along_axis(dense, i0[:, None, :], vg[:, 0:1, :], axis=1)
    np.put_along_axis(dense, i1[:, None, :], vg[:, 1:2, :], axis=1)
    return dense.reshape(k, n)


# --- format: numba compress twin --------------------------------------------------------------------------


@njit_parallel
def _compress_kernel(w: F32, values: F32, meta: U8, bad: npt.NDArray[np.int64]) -> None:
    k, n = w.shape
    for j in numba.prange(n):
        n_bad = 0
        for g in range(k // 4):
            chosen = 0
            p0 = 0
            p1 = 0
            for p in range(4):  # non-zeros first
                if w[4 * g + p, j] != 0:
                    if chosen == 0:
                        p0 = p
                    elif chosen == 1:
                        p1 = p
                    chosen += 1
            if chosen > 2:
                n_bad += 1
                chosen = 2
            for p in range(4):  # then the lowest free positions
                if chosen >= 2:
                    break
                if w[4 * g + p, j] == 0 and not (chosen == 1 and p == p0):
                    if chosen == 0:
                        p0 = p
                    else:
                        p1 = p
                    chosen += 1
            if p1 < p0:
                p0, p1 = p1, p0
            values[2 * g, j] = w[4 * g + p0, j]
            values[2 * g + 1, j] = w[4 * g + p1, j]
            nib = np.uint8(p0 | (p1 << 2))
            if g % 2 == 0:
                meta[g // 2, j] = nib
            else:
                meta[g // 2, j] = meta[g // 2, j] | np.uint8(nib << 4)
        bad[j] = n_bad


def compress_2of4(w: F32) -> tuple[F32, U8]:
    """numba twin of :func:`compress_2of4_numpy` for fp32 ``w`` (parallel over columns)."""
    k, n = w.shape
    _check_k(k)
    w = np.ascontiguousarray(w, dtype=np.float32)
    values = np.empty((k // 2, n), dtype=np.float32)
    meta = np.zeros((k // 8, n), dtype=np.uint8)
    bad = np.zeros(n, dtype=np.int64)
    _compress_kernel(w, values, meta, bad)
    n_bad = int(bad.sum())
    if n_bad:
        raise WorkloadError(f"2:4 compression: {n_bad} group(s) of 4 along k hold more than 2 non-zeros")
    return values, meta


# --- GEMM: NumPy reference --------------------------------------------------------------------------------


def sparse24_gemm_numpy(x: F32, values: F32, meta: U8) -> npt.NDArray[np.float64]:
    """Reference ``x @ decompress(values, meta)`` in float64."""
    return np.asarray(x, dtype=np.float64) @ decompress_2of4(values, meta).astype(np.float64)


# --- GEMM: numba CPU twin ---------------------------------------------------------------------------------


@njit_parallel
def _sparse24_kernel(x: F32, values: F32, meta: U8, out: F32) -> None:
    m, k = x.shape
    n = values.shape[1]
    xt = np.empty((k, m), dtype=np.float32)  # x transposed once, so a kept weight scales a contiguous row
    for kk in numba.prange(k):
        for i in range(m):
            xt[kk, i] = x[i, kk]
    n_groups = k // 4
    nbm = (m + BM - 1) // BM
    nbn = (n + BN - 1) // BN
    for t in numba.prange(nbm * nbn):
        i0 = (t // nbn) * BM
        i1 = min(m, i0 + BM)
        j0 = (t % nbn) * BN
        j1 = min(n, j0 + BN)
        ni = i1 - i0
        nj = j1 - j0
        acc = np.zeros((nj, ni), dtype=np.float32)  # transposed output tile
        for g in range(n_groups):
            shift = (g & 1) * 4
            for j in range(nj):
                nib = (meta[g >> 1, j0 + j] >> shift) & 0xF
                r0 = xt[4 * g + (nib & 3), i0:i1]
                r1 = xt[4 * g + (nib >> 2), i0:i1]
                v0 = values[2 * g, j0 + j]
                v1 = values[2 * g + 1, j0 + j]
                arow = acc[j]
                for i in range(ni):
                    arow[i] += r0[i] * v0 + r1[i] * v1
        out[i0:i1, j0:j1] = acc.T


def sparse24_gemm_cpu(x: F32, values: F32, meta: U8, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`sparse24_gemm_numpy` (decodes the metadata on the fly)."""
    _check_k(x.shape[1])
    c = np.empty((x.shape[0], values.shape[1]), dtype=np.float32) if out is None else out
    _sparse24_kernel(x, values, meta, c)
    return c


# --- GEMM: numba CUDA kernel ------------------------------------------------------------------------------


@functools.cache
def sparse24_cuda_kernel(tile: int) -> Any:
    """2:4 GEMM kernel for ``tile x tile`` blocks: x is staged in shared memory ``4*tile`` columns (= ``tile``
    groups) at a time; each thread decodes the metadata of its output column."""
    kt = 4 * tile

    @cuda_kernel
    def kernel(x: Any, values: Any, meta: Any, out: Any) -> None:
        sx = cuda.shared.array((tile, kt), float32)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * tile + ty
        col = cuda.blockIdx.x * tile + tx
        m = x.shape[0]
        kdim = x.shape[1]
        n = out.shape[1]
        n_groups = kdim // 4
        acc = float32(0.0)
        for k0 in range(0, kdim, kt):
            for c in range(tx, kt, tile):
                kk = k0 + c
                if row < m and kk < kdim:
                    sx[ty, c] = x[row, kk]
                else:
                    sx[ty, c] = float32(0.0)
            cuda.syncthreads()
            if col < n:
                g0 = k0 // 4
                for gl in range(tile):
                    g = g0 + gl
                    if g < n_groups:
                        nib = (np.int32(meta[g >> 1, col]) >> ((g & 1) * 4)) & 0xF
                        acc += sx[ty, 4 * gl + (nib & 3)] * values[2 * g, col]
                        acc += sx[ty, 4 * gl + (nib >> 2)] * values[2 * g + 1, col]
            cuda.syncthreads()
        if row < m and col < n:
            out[row, col] = acc

    return kernel


def _sparse24_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    grid, block = grid_2d(out.shape[1], out.shape[0], tile)
    sparse24_cuda_kernel(tile)[grid, block](dev[0], dev[1], dev[2], out)


def sparse24_gemm_cuda(x: F32, values: F32, meta: U8, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA 2:4 GEMM (host arrays in and out)."""
    _check_k(x.shape[1])
    return run_cuda(_sparse24_launch, (x, values, meta), (x.shape[0], values.shape[1]), tile=tile)


# --- case -------------------------------------------------------------------------------------------------


def make_sparse24_case(size: str, seed: int = 0) -> KernelCase:
    m, n, k = _SHAPES[check_size(size)]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = prune_2of4(rng.standard_normal((k, n), dtype=np.float32))
    values, meta = compress_2of4_numpy(w)
    return KernelCase(
        kernel="sparse24_gemm",
        size=size,
        seed=seed,
        operands=(x, values, meta),
        out_shape=(m, n),
        flops=2 * m * n * (k // 2),
        bytes_moved=m * k * 4 + (k // 2) * n * 4 + (k // 8) * n + m * n * 4,
        rtol=1e-4,
        atol=1e-4 * math.sqrt(k),
        m=m,
        n=n,
        k=k,
        params={
            "pattern": "2:4",
            "meta_bits_per_value": 2,
            "dense_equiv_flops": 2 * m * n * k,
            "acc_dtype": "float32",
        },
    )


SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="sparse24_gemm",
        kind="sparse_gemm_2of4",
        dtype="fp32",
        description="2:4 compressed-weight GEMM (values k/2 x n + packed 2-bit metadata), fp32",
        source_path="simsparse/validation/kernels/sparse24.py",
        make_case=make_sparse24_case,
        reference=sparse24_gemm_numpy,
        cpu=sparse24_gemm_cpu,
        cuda_launch=_sparse24_launch,
    ),
)
