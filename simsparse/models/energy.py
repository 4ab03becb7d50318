"""Energy: per MAC per dtype, per vector FLOP, per byte per memory level, per byte per on-chip hop, per
link byte, static.

All figures come from the preset (cited there); this module only multiplies.
"""

from __future__ import annotations

from simsparse.hw import Device, System
from simsparse.units import canonical_dtype

__all__ = ["compute_energy_j", "link_energy_j", "memory_energy_j", "noc_energy_j", "static_energy_j"]

PJ = 1e-12


def compute_energy_j(device: Device, dtype: str, energy_macs: float, vector_flops: float) -> float:
    """MAC energy for the MACs that toggle (gated zeros excluded) plus vector-unit energy.

    A dtype with no listed MAC energy uses the closest listed one of the same width, or the
    largest listed value (conservative).
    """
    table = device.energy.mac_pj
    key = canonical_dtype(dtype)
    pj = table.get(key)
    if pj is None:
        pj = max(table.values()) if table else 0.0
    return (energy_macs * pj + vector_flops * device.energy.vector_flop_pj) * PJ


def memory_energy_j(device: Device, reads: dict[str, float], writes: dict[str, float]) -> float:
    """Energy of the bytes read and written at each level."""
    total = 0.0
    for level in device.memory:
        total += reads.get(level.name, 0.0) * level.read_energy_pj_per_byte
        total += writes.get(level.name, 0.0) * level.write_energy_pj_per_byte
    return total * PJ


def noc_energy_j(device: Device, noc_bytes: float, mean_hops: float) -> float:
    """Energy of bytes moved over the on-chip network: per byte per router hop."""
    return noc_bytes * mean_hops * device.noc.energy_pj_per_byte_per_hop * PJ


def link_energy_j(system: System, link_bytes: float) -> float:
    """Energy of bytes moved over device links."""
    return link_bytes * system.interconnect.energy_pj_per_byte * PJ


def static_energy_j(system: System, seconds: float, n_devices: int | None = None) -> float:
    """Static power of the devices over ``seconds``."""
    n = system.n_devices if n_devices is None else n_devices
    return system.device.energy.static_w * seconds * n
