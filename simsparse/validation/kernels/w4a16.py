"""int4 weight-only GEMV/GEMM (W4A16): ``out = x @ dequant(w)`` with fp16 activations ``x`` (m x k) and int4
weights dequantized group-wise along k.

Format of ``w`` (k x n): ``packed`` (k/2 x n, uint8) holds two 4-bit codes per byte, row ``2i`` in the low
nibble and row ``2i+1`` in the high nibble; codes are unsigned 0..15 with a fixed zero point of 8, so the
weight is ``(code - 8) * scale``; ``scales`` (k/group_size x n, fp16) hold one scale per group of
``group_size`` rows per column (symmetric quantization, ``scale = max|w| / 7``). The output is fp32
(accumulation in fp32). Compulsory traffic: ``m*k*2`` (x) + ``k*n/2`` (codes) + ``k/g*n*2`` (scales) +
``m*n*4`` (out); flops ``2*m*n*k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import float32

from simsparse.errors import WorkloadError

from ._case import KernelCase, KernelSpec, check_size
from ._jit import DEFAULT_TILE, cuda, cuda_kernel, f16_to_f32, grid_2d, njit_parallel, run_cuda

__all__ = [
    "DEFAULT_GROUP_SIZE",
    "SPECS",
    "dequantize_int4",
    "make_w4a16_gemm_case",
    "make_w4a16_gemv_case",
    "pack_int4",
    "quantize_int4",
    "unpack_int4",
    "w4a16_cpu",
    "w4a16_cuda",
    "w4a16_numpy",
]

F16 = npt.NDArray[np.float16]
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

DEFAULT_GROUP_SIZE = 128
ZERO_POINT = 8
_SHAPES = {"tiny": (20, 64, 16), "small": (512, 512, 128), "full": (4096, 4096, 128)}
"""(n, k, group_size) per size set; m is 1 for the GEMV case and 16 for the GEMM case (3 and 5 when tiny)."""
_M = {"gemv": {"tiny": 1, "small": 1, "full": 1}, "gemm": {"tiny": 3, "small": 16, "full": 16}}


def _check_group(k: int, group_size: int) -> None:
    if group_size < 2 or group_size % 2 or k % group_size:
        raise WorkloadError(f"int4 groups: group_size must be even and divide k={k}, got {group_size}")


# --- format: pack, unpack, quantize, dequantize -----------------------------------------------------------


def pack_int4(codes: U8) -> U8:
    """Pack 4-bit codes (k x n, values 0..15, k even) two per byte along k: row 2i low nibble, 2i+1 high."""
    k = codes.shape[0]
    if k % 2:
        raise WorkloadError(f"int4 packing: k must be even, got {k}")
    if codes.size and int(codes.max()) > 15:
        raise WorkloadError("int4 packing: codes must lie in 0..15")
    c = codes.astype(np.uint8)
    return np.ascontiguousarray(c[0::2] | (c[1::2] << 4))


def unpack_int4(packed: U8) -> U8:
    """Inverse of :func:`pack_int4`: (k/2 x n) bytes to (k x n) codes."""
    out = np.empty((2 * packed.shape[0], *packed.shape[1:]), dtype=np.uint8)
    out[0::2] = packed & 0xF
    out[1::2] = packed >> 4
    return out


def quantize_int4(w: npt.NDArray[Any], group_size: int = DEFAULT_GROUP_SIZE) -> tuple[U8, F16]:
    """Symmetric group-wise int4 quantization of ``w`` (k x n) along k: ``(packed, fp16 scales)``.

    The scale is ``max|w| / 7`` over the group, rounded to fp16 (at least the smallest normal fp16), and the
    codes are ``clip(rint(w / scale), -8, 7) + 8`` computed with that rounded scale.
    """
    k, n = w.shape
    _check_group(k, group_size)
    wg = np.asarray(w, dtype=np.float64).reshape(k // group_size, group_size, n)
    amax = np.abs(wg).max(axis=1)
    tiny = float(np.finfo(np.float16).tiny)
    scales = np.maximum(amax / 7.0, tiny).astype(np.float16)
    scales = np.where(scales.astype(np.float64) > 0, scales, np.float16(tiny))  # after fp16 rounding
    q = np.clip(np.rint(wg / scales.astype(np.float64)[:, None, :]), -8, 7) + ZERO_POINT
    return pack_int4(q.reshape(k, n).astype(np.uint8)), np.ascontiguousarray(scales)


def dequantize_int4(packed: U8, scales: npt.NDArray[Any], group_size: int) -> npt.NDArray[np.float64]:
    """The (k x n) weights ``(code - 8) * scale`` of a packed int4 matrix, in float64 (exact)."""
    codes = unpack_int4(packed).astype(np.float64) - ZERO_POINT
    k, n = codes.shape
    _check_group(k, group_size)
    if scales.shape != (k // group_size, n):
        raise WorkloadError(f"int4 scales: expected shape {(k // group_size, n)}, got {scales.shape}")
    s = np.repeat(np.asarray(scales, dtype=np.float64), group_size, axis=0)
    return codes * s


# --- GEMM: NumPy reference --------------------------------------------------------------------------------


def w4a16_numpy(x: F16, packed: U8, scales: F16, group_size: int) -> npt.NDArray[np.float64]:
    """Reference ``x @ dequant(packed, scales)`` in float64."""
    return np.asarray(x, dtype=np.float64) @ dequantize_int4(packed, scales, group_size)


# --- GEMM: numba CPU twin ---------------------------------------------------------------------------------


@njit_parallel
def _w4a16_kernel(x: F32, packed: U8, scales: F32, group_size: int, n_blocks: int, out: F32) -> None:
    m = x.shape[0]
    half = packed.shape[0]
    n = packed.shape[1]
    bn = (n + n_blocks - 1) // n_blocks
    pairs = group_size // 2  # packed rows per scale group
    for b in numba.prange(n_blocks):
        j0 = min(n, b * bn)
        j1 = min(n, j0 + bn)
        nj = j1 - j0
        acc = np.zeros((m, nj), dtype=np.float32)
        gacc = np.empty((m, nj), dtype=np.float32)
        code_lo = np.empty(nj, dtype=np.float32)
        code_hi = np.empty(nj, dtype=np.float32)
        xsum = np.empty(m, dtype=np.float32)
        for g0 in range(0, half, pairs):
            srow = scales[(2 * g0) // group_size, j0:j1]
            gacc[:, :] = 0.0
            xsum[:] = 0.0
            for kk in range(g0, g0 + pairs):
                prow = packed[kk, j0:j1]
                for j in range(nj):  # unpack the row's codes once, for every row of x
                    byte = prow[j]
                    code_lo[j] = np.float32(byte & 0xF)
                    code_hi[j] = np.float32(byte >> 4)
                for i in range(m):
                    x0 = x[i, 2 * kk]
                    x1 = x[i, 2 * kk + 1]
                    xsum[i] += x0 + x1
                    grow = gacc[i]
                    for j in range(nj):
                        grow[j] += x0 * code_lo[j] + x1 * code_hi[j]
            for i in range(m):
                # sum over the group of x * (code - 8) * scale = (sum x * code - 8 sum x) * scale
                zero = np.float32(ZERO_POINT) * xsum[i]
                arow = acc[i]
                grow = gacc[i]
                for j in range(nj):
                    arow[j] += (grow[j] - zero) * srow[j]
        out[:, j0:j1] = acc


def w4a16_cpu(x: F16, packed: U8, scales: F16, group_size: int, out: F32 | None = None) -> F32:
    """numba CPU twin of :func:`w4a16_numpy`: fp16 activations and scales are decoded by numba; each thread
    owns one contiguous block of columns and walks k group by group: each packed row's codes are unpacked
    once for all rows of ``x``, ``x * code`` is summed over the group, and the zero point and the scale
    are applied once per group, row and column.

    One block per thread (not many narrow ones): a narrow block reads a few cache lines per packed row,
    one row (n bytes) apart, so every read lands in a new 4 KiB page at n = 4096, where the hardware
    prefetchers stop, and the GEMV waits on DRAM latency (2x slower at n = k = 4096 on a 2-core VM)."""
    _check_group(2 * packed.shape[0], group_size)
    xf = f16_to_f32(np.ascontiguousarray(x).view(np.uint16))
    sf = f16_to_f32(np.ascontiguousarray(scales).view(np.uint16))
    c = np.empty((x.shape[0], packed.shape[1]), dtype=np.float32) if out is None else out
    _w4a16_kernel(xf, packed, sf, group_size, max(1, numba.get_num_threads()), c)
    return c


# --- GEMM: numba CUDA kernel ------------------------------------------------------------------------------


@cuda_kernel
def _w4a16_cuda_kernel(x: Any, packed: Any, scales: Any, group_size: Any, out: Any) -> None:
    col, row = cuda.grid(2)
    if row < out.shape[0] and col < out.shape[1]:
        acc = float32(0.0)
        for kk in range(packed.shape[0]):
            k0 = 2 * kk
            byte = packed[kk, col]
            s = float32(scales[k0 // group_size, col])
            lo = float32(np.int32(byte & 0xF) - 8) * s
            hi = float32(np.int32(byte >> 4) - 8) * s
            acc += float32(x[row, k0]) * lo + float32(x[row, k0 + 1]) * hi
        out[row, col] = acc


def _w4a16_launch(host: Sequence[Any], dev: Sequence[Any], out: Any, tile: int) -> None:
    grid, block = grid_2d(out.shape[1], out.shape[0], tile)
    _w4a16_cuda_kernel[grid, block](dev[0], dev[1], dev[2], np.int32(host[3]), out)


def w4a16_cuda(x: F16, packed: U8, scales: F16, group_size: int, *, tile: int = DEFAULT_TILE) -> F32:
    """numba CUDA W4A16 kernel (host arrays in and out; one thread per output, threads along n)."""
    _check_group(2 * packed.shape[0], group_size)
    return run_cuda(_w4a16_launch, (x, packed, scales, group_size), (x.shape[0], packed.shape[1]), tile=tile)


# --- cases ------------------------------------------------------------------------------------------------


def _make_case(kernel: str, variant: str, size: str, seed: int) -> KernelCase:
    n, k, group_size = _SHAPES[check_size(size)]
    m = _M[variant][size]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k), dtype=np.float32).astype(np.float16)
    packed, scales = quantize_int4(rng.standard_normal((k, n), dtype=np.float32), group_size)
    return KernelCase(
        kernel=kernel,
        size=size,
        seed=seed,
        operands=(x, packed, scales, group_size),
        out_shape=(m, n),
        flops=2 * m * n * k,
        bytes_moved=m * k * 2 + k * n // 2 + (k // group_size) * n * 2 + m * n * 4,
        rtol=1e-4,
        atol=1e-4 * math.sqrt(k),
        m=m,
        n=n,
        k=k,
        params={
            "group_size": group_size,
            "weight_format": "int4 codes 0..15 zero point 8 packed 2 per uint8 along k",
            "scale_dtype": "float16",
            "act_dtype": "float16",
            "out_dtype": "float32",
        },
    )


def make_w4a16_gemv_case(size: str, seed: int = 0) -> KernelCase:
    return _make_case("w4a16_gemv", "gemv", size, seed)


def make_w4a16_gemm_case(size: str, seed: int = 0) -> KernelCase:
    return _make_case("w4a16_gemm", "gemm", size, seed)


_PATH = "simsparse/validation/kernels/w4a16.py"

SPECS: tuple[KernelSpec, ...] = (
    KernelSpec(
        name="w4a16_gemv",
        kind="gemm_weight_only",
        dtype="int4_wo",
        description="W4A16 GEMV (m=1): fp16 activations, int4 weights with fp16 group scales",
        source_path=_PATH,
        make_case=make_w4a16_gemv_case,
        reference=w4a16_numpy,
        cpu=w4a16_cpu,
        cuda_launch=_w4a16_launch,
    ),
    KernelSpec(
        name="w4a16_gemm",
        kind="gemm_weight_only",
        dtype="int4_wo",
        description="W4A16 GEMM (m=16): fp16 activations, int4 weights with fp16 group scales",
        source_path=_PATH,
        make_case=make_w4a16_gemm_case,
        reference=w4a16_numpy,
        cpu=w4a16_cpu,
        cuda_launch=_w4a16_launch,
    ),
)
