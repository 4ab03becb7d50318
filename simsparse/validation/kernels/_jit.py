"""numba plumbing shared by the kernel modules: typed decorators, the fp16 decoder and CUDA launch helpers.

``numba.cuda`` imports without a GPU or driver; kernels decorated with :func:`cuda_kernel` are handed to
``numba.cuda.jit`` and compiled at their first launch, so importing the suite works on any machine.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from simsparse.errors import SimulationError


def _import_cuda() -> Any:
    """``numba.cuda`` (importing it needs no GPU or driver), or None where numba lacks the CUDA target."""
    try:
        from numba import cuda as module
    except ImportError:  # pragma: no cover - numba builds without the CUDA target
        return None
    return module


cuda: Any = _import_cuda()
"""``numba.cuda`` (or None where numba lacks it). Kernel bodies refer to it as the global name ``cuda``."""

__all__ = [
    "DEFAULT_TILE",
    "cuda",
    "cuda_available",
    "cuda_kernel",
    "cuda_module",
    "f16_bits_to_f32",
    "f16_to_f32",
    "grid_2d",
    "njit_parallel",
    "njit_serial",
    "numba_info",
    "run_cuda",
    "simulator_enabled",
]

_log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TILE = 16
"""Default CUDA tile edge: blocks of ``tile x tile`` threads and shared-memory tiles of that edge."""


def njit_parallel(fn: F) -> F:
    """``numba.njit(parallel=True, cache=True)`` with the wrapped function's type kept for mypy."""
    return cast(F, numba.njit(parallel=True, cache=True)(fn))


def njit_serial(fn: F) -> F:
    """``numba.njit(cache=True)``: helpers called from the parallel kernels."""
    return cast(F, numba.njit(cache=True)(fn))


def cuda_module() -> Any:
    """``numba.cuda``. Raises :class:`SimulationError` when numba has no CUDA target."""
    if cuda is None:  # pragma: no cover - numba builds without the CUDA target
        raise SimulationError("numba.cuda cannot be imported: this numba has no CUDA support")
    return cuda


def simulator_enabled() -> bool:
    """Whether ``NUMBA_ENABLE_CUDASIM=1`` selected numba's CUDA simulator (set before numba was imported)."""
    return bool(getattr(numba.config, "ENABLE_CUDASIM", False))


def numba_info() -> dict[str, str | int]:
    """numba/llvmlite versions, the CPU threading layer (``unknown`` before any parallel region ran in this
    process) and the number of CPU threads numba uses."""
    import llvmlite  # type: ignore[import-untyped]

    try:
        layer = str(numba.threading_layer())  # type: ignore[attr-defined]
    except ValueError:
        layer = "unknown"
    return {
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "threading_layer": layer,
        "threads": int(numba.get_num_threads()),
    }


def cuda_available() -> bool:
    """Whether numba finds a usable CUDA GPU and driver (or the simulator is enabled); never raises."""
    try:
        return bool(cuda_module().is_available())
    except Exception:  # any driver/library failure means "not available"
        _log.debug("numba.cuda.is_available() failed", exc_info=True)
        return False


class _LazyCudaKernel:
    """A ``numba.cuda.jit`` kernel created on first launch: ``kernel[grid, block](*args)``."""

    __slots__ = ("_fn", "_kernel")

    def __init__(self, fn: Callable[..., None]) -> None:
        self._fn = fn
        self._kernel: Any = None

    def __getitem__(self, config: Any) -> Any:
        if self._kernel is None:
            self._kernel = cuda_module().jit(self._fn)
        return self._kernel[config]

    @property
    def py_func(self) -> Callable[..., None]:
        return self._fn


def cuda_kernel(fn: Callable[..., None]) -> _LazyCudaKernel:
    """Decorate a CUDA kernel body; ``numba.cuda`` is imported and the kernel compiled at first launch."""
    return _LazyCudaKernel(fn)


_POW2 = np.array([2.0 ** (e - 25) for e in range(32)], dtype=np.float64)
"""``2**(e-25)``: the weight of the implicit-leading-one mantissa of an fp16 value with biased exponent e."""


@njit_serial
def f16_bits_to_f32(h: int) -> float:
    """Decode the bits of one IEEE fp16 value (as an integer) to its exact float value."""
    v = int(h)
    e = (v >> 10) & 0x1F
    f = v & 0x3FF
    if e == 0:
        mag = f * 5.9604644775390625e-08  # subnormal: f * 2**-24
    elif e == 31:
        mag = np.inf if f == 0 else np.nan
    else:
        mag = (f + 1024) * _POW2[e]
    return -mag if (v & 0x8000) != 0 else mag


@njit_parallel
def _f16_to_f32_2d(bits: npt.NDArray[np.uint16], out: npt.NDArray[np.float32]) -> None:
    rows, cols = bits.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = np.float32(f16_bits_to_f32(bits[i, j]))


def f16_to_f32(bits: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """Decode a 2-D array of fp16 bit patterns (``x.view(np.uint16)``) to float32 with the numba decoder,
    parallel over rows. numba's CPU target has no float16 type, so the CPU twins receive fp16 data as bits.
    """
    if bits.ndim != 2:
        raise ValueError(f"f16_to_f32 expects a 2-D array, got {bits.ndim}-D")
    out = np.empty(bits.shape, dtype=np.float32)
    _f16_to_f32_2d(bits, out)
    return out


def grid_2d(n_cols: int, n_rows: int, tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(grid, block) covering an ``n_rows x n_cols`` output with ``tile x tile`` blocks (x runs along columns)."""
    return (max(1, math.ceil(n_cols / tile)), max(1, math.ceil(n_rows / tile))), (tile, tile)


def to_device(operands: Sequence[Any]) -> tuple[Any, ...]:
    """Copy the array operands to the GPU; scalars pass through."""
    cuda = cuda_module()
    return tuple(cuda.to_device(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x for x in operands)


def run_cuda(
    launch: Callable[[Sequence[Any], Sequence[Any], Any, int], None],
    operands: Sequence[Any],
    out_shape: tuple[int, ...],
    out_dtype: npt.DTypeLike = np.float32,
    *,
    tile: int = DEFAULT_TILE,
) -> npt.NDArray[Any]:
    """Copy ``operands`` to the GPU, launch, wait, and copy the output back: the host-level CUDA entry point."""
    cuda = cuda_module()
    dev = to_device(operands)
    d_out = cuda.device_array(out_shape, dtype=out_dtype)
    launch(operands, dev, d_out, tile)
    cuda.synchronize()
    return cast(npt.NDArray[Any], d_out.copy_to_host())
