"""The two records of the kernel suite: a kernel's description (:class:`KernelSpec`) and one seeded problem
(:class:`KernelCase`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from simsparse.errors import SimulationError, closest

__all__ = ["SIZES", "KernelCase", "KernelSpec", "Operand", "check_size"]

SIZES: tuple[str, ...] = ("tiny", "small", "full")
"""Size sets: ``tiny`` (a few CUDA blocks; for the CUDA simulator), ``small`` (tests, quick runs) and ``full``
(measurement runs: working sets past the last-level cache where that is affordable)."""

Operand = npt.NDArray[Any] | int | float
"""A kernel input: an array, or a scalar (triad's ``s``, W4A16's group size)."""

ParamValue = str | int | float


def check_size(size: str) -> str:
    if size not in SIZES:
        raise SimulationError(f"size set: expected one of {list(SIZES)}, got {size!r}{closest(size, SIZES)}")
    return size


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelCase:
    """One seeded problem of a kernel: the operands every implementation takes, the output it must produce,
    the shape in the measured-CSV convention (m tokens, n outputs, k reduction), and the work it implies.

    ``flops`` counts the arithmetic the kernel executes (a multiply-add is 2). ``bytes_moved`` is the
    compulsory traffic: every input byte the result depends on read once, every output byte written once;
    write-allocate reads and re-reads caused by tiling are not counted.
    """

    kernel: str
    size: str
    seed: int
    operands: tuple[Operand, ...]
    out_shape: tuple[int, ...]
    flops: int
    bytes_moved: int
    rtol: float
    atol: float
    m: int | None = None
    n: int | None = None
    k: int | None = None
    tokens: int | None = None
    batch: int | None = None
    params: Mapping[str, ParamValue] = field(default_factory=lambda: MappingProxyType({}))
    out_dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.flops < 0 or self.bytes_moved <= 0:
            raise ValueError(f"{self.kernel}: flops must be >= 0 and bytes_moved > 0")
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def new_output(self) -> npt.NDArray[Any]:
        """A fresh output array for the CPU twin to fill."""
        return np.empty(self.out_shape, dtype=self.out_dtype)


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelSpec:
    """A kernel of the suite: its measured-CSV ``kind`` and ``dtype``, how to make a case, and the three
    implementations, all taking ``case.operands``:

    * ``reference(*operands) -> out``: plain NumPy (float64 accumulation), the truth;
    * ``cpu(*operands, out=out)``: the numba CPU parallel twin, filling ``out``;
    * ``cuda_launch(host_operands, device_operands, device_out, tile)``: launches the numba CUDA kernel
      asynchronously (the caller synchronizes).
    """

    name: str
    kind: str
    dtype: str
    description: str
    source_path: str
    make_case: Callable[[str, int], KernelCase]
    reference: Callable[..., npt.NDArray[Any]]
    cpu: Callable[..., npt.NDArray[Any]]
    cuda_launch: Callable[[Sequence[Any], Sequence[Any], Any, int], None]
