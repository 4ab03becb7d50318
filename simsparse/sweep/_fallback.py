"""A one-op GEMM workload used only while :mod:`simsparse.workload` has no ``gemm`` builder."""

from __future__ import annotations

from dataclasses import dataclass

from simsparse.workload.op import Op

__all__ = ["OneOpWorkload", "gemm"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OneOpWorkload:
    """The smallest object :func:`simsparse.simulate` accepts: a name and a tuple of ops."""

    name: str
    ops: tuple[Op, ...]


def gemm(
    m: int, n: int, k: int, *, dtype: str = "fp16", weight_pattern: str = "dense", act_density: float = 1.0
) -> OneOpWorkload:
    """``C[m, n] = A[m, k] @ W[k, n]`` with a ``weight_pattern`` (``dense`` or ``N:M``) weight."""
    density = 1.0
    if weight_pattern != "dense" and ":" in weight_pattern:
        nn, mm = (int(x) for x in weight_pattern.split(":"))
        density = nn / mm
    op = Op(
        name="gemm",
        kind="gemm",
        m=m,
        n=n,
        k=k,
        dtype=dtype,
        a_dtype=dtype,
        b_dtype=dtype,
        c_dtype=dtype,
        b_pattern=weight_pattern,
        b_density=density,
        a_density=act_density,
    )
    return OneOpWorkload(name=f"gemm{m}x{n}x{k}", ops=(op,))
