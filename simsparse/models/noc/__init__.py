"""On-chip networks between the cores and the device-scope memory (shared level and DRAM behind it),
registered by topology name (``Device.noc.topology``).

Every byte an op moves between a core and the device-scope levels crosses the network: the tile
panels a core loads, the results it stores, the bytes a streaming kernel reads and writes. A model
gives the network's bandwidth for a number of active cores (the contention bound), the mean hop count
(energy: ``noc_bytes x mean hops x energy_pj_per_byte_per_hop``) and the worst hop count (the latency
a kernel's first load sees: ``hops x hop_latency_ns``).

* ``none``: folded into the memory levels' bandwidths (no bound, no hops).
* ``crossbar`` (GPU SMs to L2 slices): one port of ``link_gb_per_s`` per core (each direction),
  non-blocking behind the ports, one hop. ``k`` active cores move at most ``k x link_gb_per_s``.
* ``mesh2d`` (accelerators): one core per router on a ``mesh_rows x mesh_cols`` grid, memory
  attached at the perimeter, dimension-order routing from the nearest edge. With every core pulling
  the same share, the ``2 (rows + cols)`` links that enter the mesh are the narrowest cut (the ring
  at depth ``d`` holds ``(rows-2d)(cols-2d)`` cores behind ``2(rows+cols-4d)`` links, a ratio that
  falls with ``d``), so ``k`` active cores move at most ``min(k, 2 (rows + cols)) x link_gb_per_s``.
  Hops: 1 + the distance to the nearest edge.

Approximate: traffic is spread evenly over the active cores and over time within an op; no
router buffering, virtual channels or head-of-line blocking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from simsparse.errors import SimulationError, closest
from simsparse.hw import Device, OnChipNetwork

__all__ = [
    "NocCost",
    "NocModel",
    "noc_cost",
    "noc_model",
    "register_noc_model",
    "registered_noc_models",
]


class NocModel(Protocol):
    """Bandwidth and hop counts of one topology."""

    def gb_per_s(self, noc: OnChipNetwork, n_cores: int, active_cores: int) -> float:
        """Aggregate GB/s the network carries for ``active_cores`` cores (``inf``: no bound)."""
        ...

    def hops(self, noc: OnChipNetwork, n_cores: int) -> tuple[float, int]:
        """(mean, worst) hops between a core and the memory behind the network."""
        ...


_REGISTRY: dict[str, Callable[[], NocModel]] = {}


def register_noc_model(name: str) -> Callable[[Callable[[], NocModel]], Callable[[], NocModel]]:
    """Class decorator registering an on-chip network model factory under ``name``."""

    def deco(factory: Callable[[], NocModel]) -> Callable[[], NocModel]:
        _REGISTRY[name] = factory
        return factory

    return deco


def registered_noc_models() -> list[str]:
    """Names of the registered on-chip network models."""
    return sorted(_REGISTRY)


def noc_model(name: str) -> NocModel:
    """The on-chip network model registered as ``name``."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise SimulationError(
            f"noc.topology: expected one of {', '.join(sorted(_REGISTRY))}{closest(name, list(_REGISTRY))}, got {name!r}"
        ) from None


@register_noc_model("none")
class _NoNetwork:
    def gb_per_s(self, noc: OnChipNetwork, n_cores: int, active_cores: int) -> float:
        return math.inf

    def hops(self, noc: OnChipNetwork, n_cores: int) -> tuple[float, int]:
        return 0.0, 0


@register_noc_model("crossbar")
class _Crossbar:
    def gb_per_s(self, noc: OnChipNetwork, n_cores: int, active_cores: int) -> float:
        return max(1, min(active_cores, n_cores)) * noc.link_gb_per_s

    def hops(self, noc: OnChipNetwork, n_cores: int) -> tuple[float, int]:
        return 1.0, 1


@register_noc_model("mesh2d")
class _Mesh2d:
    def gb_per_s(self, noc: OnChipNetwork, n_cores: int, active_cores: int) -> float:
        entry_links = 2 * (noc.mesh_rows + noc.mesh_cols)
        return min(max(1, min(active_cores, n_cores)), entry_links) * noc.link_gb_per_s

    def hops(self, noc: OnChipNetwork, n_cores: int) -> tuple[float, int]:
        rows, cols = noc.mesh_rows, noc.mesh_cols
        depth = [1 + min(r, rows - 1 - r, c, cols - 1 - c) for r in range(rows) for c in range(cols)]
        depth = sorted(depth)[:n_cores]  # the cores sit on the routers nearest the edge
        return sum(depth) / len(depth), max(depth)


@dataclass(frozen=True, slots=True, kw_only=True)
class NocCost:
    """What the device's network costs an op: bytes per cycle for its active cores, mean hops
    (energy) and the latency of the worst path in cycles."""

    bytes_per_cycle: float
    mean_hops: float
    latency_cycles: float


_NO_NETWORK = NocCost(bytes_per_cycle=math.inf, mean_hops=0.0, latency_cycles=0.0)


def noc_cost(device: Device, active_cores: int) -> NocCost:
    """The network of ``device`` for an op running on ``active_cores`` cores."""
    noc = device.noc
    if noc.topology == "none":
        return _NO_NETWORK
    model = noc_model(noc.topology)
    mean, worst = model.hops(noc, device.n_cores)
    gb = model.gb_per_s(noc, device.n_cores, active_cores)
    return NocCost(
        bytes_per_cycle=gb / device.freq_ghz if math.isfinite(gb) else math.inf,
        mean_hops=mean,
        latency_cycles=worst * noc.hop_latency_ns * device.freq_ghz,
    )
