"""STREAM-style copy (``a = b``) and triad (``a = b + s*c``) on fp32 vectors: sustained memory bandwidth.

Compulsory traffic: copy reads one array and writes one (``2*n*4`` bytes), triad reads two and writes one
(``3*n*4`` bytes); write-allocate reads of ``a`` are not counted (as in STREAM). Triad does ``2*n`` flops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ._case import KernelCase, KernelSpec, check_size
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, njit_parallel, run_cuda

__all__ = [
    "CUDA_ELEMS_PER_THREAD",
    "CUDA_MAX_BLOCKS",
    "SPECS",
    "copy_cpu",
    "copy_cuda",
    "copy_numpy",
    "cuda_blocks",
    "make_copy_case",
    "make_triad_case",
    "triad_cpu",
    "triad_cuda",
    "triad_numpy",
]

F32 = npt.NDArray[np.float32]

_N = {"tiny": 1000, "small": 1 << 18, "full": 1 << 25}
"""Elements per array. ``full``: 128 MiB per array, past the L2 of any current GPU and most CPU L3s."""


# --- NumPy references -------------------------------------------------------------------------------------


def copy_numpy(b: F32) -> F32:
    """Reference copy."""
    return np.array(b, dtype=np.float32, copy=True)


def triad_numpy(b: F32, c: F32, s: float) -> F32:
    """Reference triad ``b + s*c`` in fp32 (one rounding for the product, one for the sum)."""
    return (b + np.float32(s) * c).astype(np.float32)


# --- numba CPU parallel twins -----------------------------------------------------------------------------


@njit_parallel
def _copy_kernel(b: F32, a: F32) -> None:
    for i in numba.prange(b.size):
        a[i] = b[i]


@njit_parallel
def _triad_kernel(b: F32, c: F32, s: np.float32, a: F32) -> None:
    for i in numba.prange(b.size):
        a[i] = b[i] + s * c[i]


def copy_cpu(b: F32, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`copy_numpy`."""
    a = np.empty_like(b) if out is None else out
    _copy_kernel(b, a)
    return a


def triad_cpu(b: F32, c: F32, s: float, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`triad_numpy`."""
    a = np.empty_like(b) if out is None else out
    _triad_kernel(b, c, np.float32(s), a)
    return a


# --- numba CUDA kernels (grid-stride loops, CUDA_ELEMS_PER_THREAD independent loads in flight) ------------

CUDA_ELEMS_PER_THREAD = 4
"""Elements each CUDA thread moves per loop iteration: its loads are issued back to back before the stores,
so a thread keeps this many 4-byte loads in flight. With one (the first H200 run, 2026-11-28) a resident
grid holds about 1 MB of loads in flight and the 128 MiB copy ran at 1.5 TB/s, latency-bound; STREAM
measures bandwidth, so each thread loads four."""

CUDA_MAX_BLOCKS = 65535 * 16
"""Most blocks a STREAM launch uses; the grid-stride loop covers the rest."""


@cuda_kernel
def _copy_cuda_kernel(b: Any, a: Any) -> None:
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = b.size
    while i + 3 * stride < n:
        x0 = b[i]
        x1 = b[i + stride]
        x2 = b[i + 2 * stride]
        x3 = b[i + 3 * stride]
        a[i] = x0
        a[i + stride] = x1
        a[i + 2 * stride] = x2
        a[i + 3 * stride] = x3
        i += 4 * stride
    while i < n:
        a[i] = b[i]
        i += stride


@cuda_kernel
def _triad_cuda_kernel(b: Any, c: Any, s: Any, a: Any) -> None:
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    n = b.size
    while i + 3 * stride < n:
        b0 = b[i]
        b1 = b[i + stride]
        b2 = b[i + 2 * stride]
        b3 = b[i + 3 * stride]
        c0 = c[i]
        c1 = c[i + stride]
        c2 = c[i + 2 * stride]
        c3 = c[i + 3 * stride]
        a[i] = b0 + s * c0
        a[i + stride] = b1 + s * c1
        a[i + 2 * stride] = b2 + s * c2
        a[i + 3 * stride] = b3 + s * c3
        i += 4 * stride
    while i < n:
        a[i] = b[i] + s * c[i]
        i += stride


def cuda_blocks(n: int, threads: int) -> int:
    """Blocks of a STREAM launch over ``n`` elements: one block per ``threads x CUDA_ELEMS_PER_THREAD``
    elements, at most :data:`CUDA_MAX_BLOCKS`."""
    return max(1, min(-(-n // (threads * CUDA_ELEMS_PER_THREAD)), CUDA_MAX_BLOCKS))


def _copy_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    threads = tile * tile
    _copy_cuda_kernel[cuda_blocks(out.size, threads), threads](dev[0], out)


def _triad_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    threads = tile * tile
    _triad_cuda_kernel[cuda_blocks(out.size, threads), threads](dev[0], dev[1], np.float32(host[2]), out)


def copy_cuda(b: F32, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA copy (host arrays in and out; ``tile*tile`` threads per block)."""
    return run_cuda(_copy_launch, (b,), b.shape, tile=tile)


def triad_cuda(b: F32, c: F32, s: float, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA triad (host arrays in and out; ``tile*tile`` threads per block)."""
    return run_cuda(_triad_launch, (b, c, s), b.shape, tile=tile)


# --- cases ------------------------------------------------------------------------------------------------


def _vectors(size: str, seed: int, count: int) -> list[F32]:
    n = _N[check_size(size)]
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n, dtype=np.float32) for _ in range(count)]


def make_copy_case(size: str, seed: int = 0) -> KernelCase:
    (b,) = _vectors(size, seed, 1)
    n = b.size
    return KernelCase(
        kernel="stream_copy",
        size=size,
        seed=seed,
        operands=(b,),
        out_shape=(n,),
        flops=0,
        bytes_moved=2 * n * 4,
        rtol=0.0,
        atol=0.0,
        params={"n_elems": n, "arrays_read": 1, "arrays_written": 1, "cuda_elems_per_thread": CUDA_ELEMS_PER_THREAD},
    )


def make_triad_case(size: str, seed: int = 0) -> KernelCase:
    b, c = _vectors(size, seed, 2)
    n = b.size
    return KernelCase(
        kernel="stream_triad",
        size=size,
        seed=seed,
        operands=(b, c, 3.0),
        out_shape=(n,),
        flops=2 * n,
        bytes_moved=3 * n * 4,
        rtol=1e-6,
        atol=1e-5,  # a CUDA build may fuse s*c + b into one FMA (one rounding fewer than NumPy)
        params={
            "n_elems": n,
            "arrays_read": 2,
            "arrays_written": 1,
            "scalar": 3.0,
            "cuda_elems_per_thread": CUDA_ELEMS_PER_THREAD,
        },
    )


_PATH = "simsparse/validation/kernels/stream.py"

SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="stream_copy",
        kind="bandwidth",
        dtype="fp32",
        description="STREAM copy a = b (fp32)",
        source_path=_PATH,
        make_case=make_copy_case,
        reference=copy_numpy,
        cpu=copy_cpu,
        cuda_launch=_copy_launch,
    ),
    KernelSpec(
        name="stream_triad",
        kind="bandwidth",
        dtype="fp32",
        description="STREAM triad a = b + s*c (fp32)",
        source_path=_PATH,
        make_case=make_triad_case,
        reference=triad_numpy,
        cpu=triad_cpu,
        cuda_launch=_triad_launch,
    ),
)
