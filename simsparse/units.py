"""Unit constants and conversions. Binary (KiB) and decimal (KB) prefixes are distinct."""

from __future__ import annotations

KB = 1000
MB = 1000**2
GB = 1000**3
TB = 1000**4
KiB = 1024
MiB = 1024**2
GiB = 1024**3
TiB = 1024**4

NS_PER_S = 1e9
US_PER_S = 1e6
PJ_PER_J = 1e12

DTYPE_BITS: dict[str, float] = {
    "fp32": 32,
    "tf32": 32,  # stored as fp32
    "bf16": 16,
    "fp16": 16,
    "fp8_e4m3": 8,
    "fp8_e5m2": 8,
    "fp8_block": 8,
    "int8": 8,
    "int4": 4,
    "fp4": 4,
    "nvfp4": 4,
    "mxfp4": 4,
    "int32": 32,
}
"""Storage bits per value of each dtype, scale factors excluded."""

DTYPE_ALIASES: dict[str, str] = {
    "fp8": "fp8_e4m3",
    "half": "fp16",
    "float16": "fp16",
    "bfloat16": "bf16",
    "float32": "fp32",
}


def canonical_dtype(name: str) -> str:
    """Resolve aliases (``fp8`` -> ``fp8_e4m3``); unknown names are returned unchanged."""
    return DTYPE_ALIASES.get(name, name)


def dtype_bytes(name: str) -> float:
    """Bytes per value of a dtype (may be fractional for 4-bit types)."""
    return DTYPE_BITS[canonical_dtype(name)] / 8


def cycles_to_s(cycles: float, freq_ghz: float) -> float:
    """Seconds taken by ``cycles`` at ``freq_ghz``."""
    return float(cycles) / (freq_ghz * 1e9)


def s_to_cycles(seconds: float, freq_ghz: float) -> float:
    """Cycles in ``seconds`` at ``freq_ghz``."""
    return float(seconds) * freq_ghz * 1e9


def gb_per_s_to_bytes_per_cycle(gb_per_s: float, freq_ghz: float) -> float:
    """A bandwidth in GB/s (decimal) as bytes per clock cycle."""
    return gb_per_s / freq_ghz
