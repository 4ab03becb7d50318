"""Exact bytes per element of GEMM operands: values, sparsity metadata and quantization scales."""

from __future__ import annotations

import math
from dataclasses import dataclass

from simsparse.hw import MatrixUnit, parse_pattern
from simsparse.units import dtype_bytes
from simsparse.workload.op import Op

__all__ = ["OperandBytes", "operand_bytes"]

CSR_INDEX_BITS = 16
"""Bits of a CSR column index (16-bit indices within a tile), when the datapath stores CSR."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OperandBytes:
    """Bytes per *dense-position* element of A (activations), B (weights or KV) and C (output).

    ``b_values``/``b_metadata``/``b_scales`` split B's storage; ``a`` includes activation scales and
    (dual-side compression) A's metadata, ``a_values`` is A's values alone.
    """

    a: float
    a_values: float
    b_values: float
    b_metadata: float
    b_scales: float
    c: float

    @property
    def b(self) -> float:
        """All bytes of B per dense-position element."""
        return self.b_values + self.b_metadata + self.b_scales


def _metadata_bits(op: Op, unit: MatrixUnit | None) -> float:
    """Metadata bits per dense position of B for the op's pattern, in the datapath's format.

    A supported pattern uses the preset's format (``metadata_bits_per_value`` per kept value,
    or per dense position for a bitmap). Otherwise the default encodings: N:M stores
    ``ceil(log2(M))`` bits per kept value (2 bits for 2:4, as NVIDIA's format), unstructured and
    block patterns a bitmap (1 bit per position or per block).
    """
    pattern = op.b_pattern
    if pattern == "dense" or not op.b_is_weight:
        return 0.0
    if op.b_density >= 1.0 and not pattern[:1].isdigit():
        return 0.0  # nothing pruned: stored dense, no index metadata
    support = unit.supports(pattern) if unit is not None else None
    if support is None and unit is not None and pattern != "unstructured":
        support = unit.supports("unstructured") if pattern.startswith("block") else None
    if support is not None:
        if support.metadata_format == "bitmap":
            return support.metadata_bits_per_value
        if support.metadata_format == "csr":
            return support.metadata_bits_per_value * op.b_density
        return support.metadata_bits_per_value * op.b_density
    if pattern.startswith("block"):
        dims = pattern.split(":")[1] if ":" in pattern else "1x1"
        try:
            r, c = (int(x) for x in dims.split("x"))
        except ValueError:
            r, c = 1, 1
        return 1.0 / (r * c)
    try:
        kind, n, m = parse_pattern(pattern)
    except ValueError:
        return 1.0
    if kind == "nm":
        return math.ceil(math.log2(m)) * n / m if m > 1 else 0.0
    return 1.0


def operand_bytes(op: Op, unit: MatrixUnit | None = None) -> OperandBytes:
    """Bytes per dense-position element of each operand of a GEMM op (exact)."""
    a_values = a = dtype_bytes(op.a_dtype)
    dual = unit.supports("dual_side") if unit is not None else None
    if dual is not None and op.a_density < 1.0:
        # a dual-side datapath stores activations compressed too (DSTC: bitmap per position)
        a_values = a * op.a_density
        a = a_values + dual.metadata_bits_per_value / 8.0
    if op.a_scale_group_size:
        a += dtype_bytes("fp32") / op.a_scale_group_size
    values = dtype_bytes(op.b_dtype) * op.b_density
    scales = 0.0
    if op.scale_group_size and op.b_is_weight:
        scales = dtype_bytes(op.scale_dtype) * op.b_density / op.scale_group_size
    meta = _metadata_bits(op, unit) / 8.0
    return OperandBytes(
        a=a, a_values=a_values, b_values=values, b_metadata=meta, b_scales=scales, c=dtype_bytes(op.c_dtype)
    )
