"""CSR SpMM ``out = A @ B``: ``A`` (m x k) sparse in CSR (int32 ``indptr``/``indices``, fp32 ``data``) times a
dense fp32 ``B`` (k x n).

The CPU twin is parallel over rows of A and walks B in L2-sized slabs of rows; the CUDA kernel runs one
thread per output element with threads of a warp along n, so reads of B rows are coalesced. Compulsory traffic: ``indptr`` + ``indices`` + ``data``
+ the rows of B that some non-zero refers to (``n_rows_used * n * 4``) + ``m*n*4`` for the output;
flops ``2*nnz*n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import float32

from simsparse.errors import WorkloadError

from ._case import KernelCase, KernelSpec, check_size
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, grid_2d, njit_parallel, run_cuda

__all__ = ["B_SLAB_BYTES", "SPECS", "csr_spmm_cpu", "csr_spmm_cuda", "csr_spmm_numpy", "make_spmm_case", "random_csr"]

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]

_SHAPES = {"tiny": (12, 20, 40, 0.2), "small": (512, 128, 512, 0.05), "full": (8192, 256, 8192, 0.01)}
"""(m, n, k, density of A) per size set."""


def random_csr(m: int, k: int, density: float, seed: int) -> tuple[I32, I32, F32]:
    """A seeded random CSR matrix: each entry non-zero with probability ``density``; sorted column indices."""
    if not 0.0 < density <= 1.0:
        raise WorkloadError(f"CSR density: expected a number in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    counts = rng.binomial(k, density, size=m)
    indptr = np.zeros(m + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    for i in range(m):
        indices[indptr[i] : indptr[i + 1]] = np.sort(rng.choice(k, size=int(counts[i]), replace=False))
    data = rng.standard_normal(indices.size, dtype=np.float32)
    return indptr, indices, data


def _check(indptr: I32, indices: I32, data: F32, b: F32) -> None:
    if indptr.ndim != 1 or indices.shape != data.shape or int(indptr[-1]) != data.size:
        raise WorkloadError("CSR: indptr[-1] must equal len(indices) == len(data)")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= b.shape[0]):
        raise WorkloadError(f"CSR: column indices must lie in [0, {b.shape[0]})")


# --- NumPy reference --------------------------------------------------------------------------------------


def csr_spmm_numpy(indptr: I32, indices: I32, data: F32, b: F32) -> npt.NDArray[np.float64]:
    """Reference CSR times dense in float64, row by row."""
    _check(indptr, indices, data, b)
    m = indptr.size - 1
    b64 = np.asarray(b, dtype=np.float64)
    out = np.zeros((m, b.shape[1]), dtype=np.float64)
    for i in range(m):
        lo, hi = int(indptr[i]), int(indptr[i + 1])
        if hi > lo:
            out[i] = np.asarray(data[lo:hi], dtype=np.float64) @ b64[indices[lo:hi]]
    return out


# --- numba CPU twin ---------------------------------------------------------------------------------------


B_SLAB_BYTES = 1 << 20
"""The CPU twin walks B in slabs of rows of about this many bytes (1 MiB: half the 2 MiB L2 of a
current server core, the other half for the output rows and the stream of A)."""


@njit_parallel
def _spmm_kernel(indptr: I32, indices: I32, data: F32, b: F32, slab_rows: int, out: F32) -> None:
    m = indptr.size - 1
    n = b.shape[1]
    k = b.shape[0]
    nxt = indptr[:-1].copy()  # per row: the first non-zero not yet multiplied (indices are sorted)
    for i in numba.prange(m):
        row = out[i]
        for j in range(n):
            row[j] = 0.0
    for k0 in range(0, k, slab_rows):
        k1 = min(k, k0 + slab_rows)
        for i in numba.prange(m):
            row = out[i]
            p = nxt[i]
            end = indptr[i + 1]
            while p < end and indices[p] < k1:
                a = data[p]
                brow = b[indices[p]]
                for j in range(n):
                    row[j] += a * brow[j]
                p += 1
            nxt[i] = p


def csr_spmm_cpu(indptr: I32, indices: I32, data: F32, b: F32, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`csr_spmm_numpy`, parallel over rows of A, walking B in slabs of
    :data:`B_SLAB_BYTES`: each row's non-zeros that fall in the slab gather their rows of B, which then
    stay in the core's L2 for the next rows of A. Unblocked, every non-zero fetched its 1 KiB row of B
    from L3 (8 MiB of B at the full size): 2x slower on a 2-core VM."""
    _check(indptr, indices, data, b)
    c = np.empty((indptr.size - 1, b.shape[1]), dtype=np.float32) if out is None else out
    slab_rows = max(1, B_SLAB_BYTES // max(1, b.shape[1] * b.itemsize))
    _spmm_kernel(indptr, indices, data, b, slab_rows, c)
    return c


# --- numba CUDA kernel ------------------------------------------------------------------------------------


@cuda_kernel
def _spmm_cuda_kernel(indptr: Any, indices: Any, data: Any, b: Any, out: Any) -> None:
    col, row = cuda.grid(2)
    if row < out.shape[0] and col < out.shape[1]:
        acc = float32(0.0)
        for p in range(indptr[row], indptr[row + 1]):
            acc += data[p] * b[indices[p], col]
        out[row, col] = acc


def _spmm_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    grid, block = grid_2d(out.shape[1], out.shape[0], tile)
    _spmm_cuda_kernel[grid, block](dev[0], dev[1], dev[2], dev[3], out)


def csr_spmm_cuda(indptr: I32, indices: I32, data: F32, b: F32, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA CSR SpMM (host arrays in and out)."""
    _check(indptr, indices, data, b)
    return run_cuda(_spmm_launch, (indptr, indices, data, b), (indptr.size - 1, b.shape[1]), tile=tile)


# --- case -------------------------------------------------------------------------------------------------


def make_spmm_case(size: str, seed: int = 0) -> KernelCase:
    m, n, k, density = _SHAPES[check_size(size)]
    indptr, indices, data = random_csr(m, k, density, seed)
    b = np.random.default_rng(seed + 1).standard_normal((k, n), dtype=np.float32)
    nnz = int(data.size)
    rows_used = int(np.unique(indices).size)
    max_row = int(np.diff(indptr).max(initial=0))
    return KernelCase(
        kernel="csr_spmm",
        size=size,
        seed=seed,
        operands=(indptr, indices, data, b),
        out_shape=(m, n),
        flops=2 * nnz * n,
        bytes_moved=indptr.nbytes + indices.nbytes + data.nbytes + rows_used * n * 4 + m * n * 4,
        rtol=1e-4,
        atol=1e-4 * max(1.0, float(np.sqrt(max_row))),
        m=m,
        n=n,
        k=k,
        params={
            "format": "csr",
            "density": density,
            "nnz": nnz,
            "b_rows_used": rows_used,
            "index_dtype": "int32",
            "dense_equiv_flops": 2 * m * n * k,
        },
    )


SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="csr_spmm",
        kind="spmm_csr",
        dtype="fp32",
        description="CSR sparse A times dense B (fp32 values, int32 indices)",
        source_path="simsparse/validation/kernels/spmm.py",
        make_case=make_spmm_case,
        reference=csr_spmm_numpy,
        cpu=csr_spmm_cpu,
        cuda_launch=_spmm_launch,
    ),
)
