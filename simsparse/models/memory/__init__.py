"""Memory models: operand bytes (values, sparsity metadata, quantization scales), capacity-aware
tile mapping, and the bytes each level moves."""

from __future__ import annotations

from .mapping import GemmMapping, Hierarchy, choose_gemm_mapping, hierarchy_of, wave_dram_bytes
from .operands import OperandBytes, operand_bytes

__all__ = [
    "GemmMapping",
    "Hierarchy",
    "OperandBytes",
    "choose_gemm_mapping",
    "hierarchy_of",
    "operand_bytes",
    "wave_dram_bytes",
]
