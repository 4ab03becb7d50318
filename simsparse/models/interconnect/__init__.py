"""Device interconnect: collectives over switch, ring, 2D torus, PCIe tree and multi-node systems.

On NCCL fabrics (``switch``: NVLink/NVSwitch, ``pcie_tree``, ``multi_node``) each collective is
timed with NCCL's own cost model (:mod:`.nccl`, from ``src/graph/tuning.cc``): for every protocol
(LL, LL128, Simple) and, for all-reduce on an NVLink-SHARP switch, NVLS, ``time = latency +
bytes / algorithm_bandwidth`` with NCCL's per-protocol bandwidth factors and latency ratios, and the
fastest one is taken - as NCCL's tuner picks it. The Simple bus bandwidth is ``link_gb_per_s x
n_links_per_device x sustained_fraction`` (measured, a cited preset field); the LL base latency
(``collective_overhead_s``) and LL per-hop latency (``link_latency_ns``) are fitted. All-to-all is
``p-1`` point-to-point pairs in a group (LL up to 16 KiB per peer, Simple above) at the measured
``p2p_sustained_fraction``; the traffic matrix is routed on the topology and the most loaded port
sets the time.

On ``ring`` and ``torus2d`` fabrics (not NCCL: TPU-like ICI) the standard alpha-beta model is kept
(Thakur, Rabenseifner and Gropp, "Optimization of collective communication operations in MPICH",
IJHPCA 2005): ``time = n_steps * link_latency + bytes_on_the_busiest_link / link_bandwidth``, with
shortest-path (ring) or dimension-order (torus) routing for all-to-all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simsparse.errors import SimulationError
from simsparse.hw import System

from . import nccl
from .nccl import PROTOCOLS, Fabric, Protocol

__all__ = ["CollectiveCost", "collective_cost", "link_loads", "nccl"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectiveCost:
    """Time of a collective and what it moved.

    ``bandwidth_s``: time spent streaming bytes; ``latency_s``: per-step latencies;
    ``send_bytes``: bytes each device injected; ``busiest_link_bytes``: bytes on the slowest link.
    """

    time_s: float
    bandwidth_s: float
    latency_s: float
    send_bytes: np.ndarray
    busiest_link_bytes: float


def _injection_gb_per_s(system: System) -> float:
    ic = system.interconnect
    return ic.link_gb_per_s * ic.n_links_per_device * ic.sustained_fraction


def _ring_links(p: int) -> dict[tuple[int, int], int]:
    links: dict[tuple[int, int], int] = {}
    for i in range(p):
        for j in ((i + 1) % p, (i - 1) % p):
            if i != j and (i, j) not in links:
                links[(i, j)] = len(links)
    return links


def link_loads(system: System, traffic: np.ndarray, *, fraction: float | None = None) -> tuple[np.ndarray, float]:
    """Route a ``p x p`` traffic matrix (bytes, row = source) and return (per-link bytes, link GB/s).

    ``fraction`` is the sustained fraction of the link bandwidth (default ``sustained_fraction``).

    Switch/PCIe/multi-node: one uplink and one downlink port per device; ring: shortest path
    (ties clockwise); torus2d: dimension-order routing (X then Y), shortest way around each ring.
    """
    ic = system.interconnect
    p = traffic.shape[0]
    eff = ic.sustained_fraction if fraction is None else fraction
    if ic.topology in ("switch", "pcie_tree", "multi_node", "none"):
        bw = ic.link_gb_per_s * ic.n_links_per_device * eff
        off = traffic.copy()
        np.fill_diagonal(off, 0)
        return np.concatenate([off.sum(axis=1), off.sum(axis=0)]), bw
    if ic.topology == "ring":
        links = _ring_links(p)
        loads = np.zeros(len(links))
        for s in range(p):
            for d in range(p):
                if s == d or traffic[s, d] == 0:
                    continue
                fwd = (d - s) % p
                step = 1 if fwd <= p - fwd else -1
                cur = s
                while cur != d:
                    nxt = (cur + step) % p
                    loads[links[(cur, nxt)]] += traffic[s, d]
                    cur = nxt
        per_dir = max(ic.n_links_per_device // 2, 1)
        return loads, ic.link_gb_per_s * per_dir * eff
    if ic.topology == "torus2d":
        nx, ny = ic.torus_dims
        loads_d: dict[tuple[int, int], float] = {}

        def walk(a: int, b: int, size: int) -> list[int]:
            fwd = (b - a) % size
            step = 1 if fwd <= size - fwd else -1
            out, cur = [], a
            while cur != b:
                cur = (cur + step) % size
                out.append(cur)
            return out

        for s in range(p):
            for d in range(p):
                if s == d or traffic[s, d] == 0:
                    continue
                sx, sy = s % nx, s // nx
                dx, dy = d % nx, d // nx
                cur = s
                for x in walk(sx, dx, nx):
                    nxt = sy * nx + x
                    loads_d[(cur, nxt)] = loads_d.get((cur, nxt), 0.0) + traffic[s, d]
                    cur = nxt
                for y in walk(sy, dy, ny):
                    nxt = y * nx + dx
                    loads_d[(cur, nxt)] = loads_d.get((cur, nxt), 0.0) + traffic[s, d]
                    cur = nxt
        per_dir = max(ic.n_links_per_device // 4, 1)
        return np.array(list(loads_d.values()) or [0.0]), ic.link_gb_per_s * per_dir * eff
    raise SimulationError(f"interconnect.topology: expected a known topology, got {ic.topology!r}")


_NCCL_TOPOLOGIES = ("switch", "pcie_tree", "multi_node")


def _fabric(system: System) -> Fabric:
    return "pci" if system.interconnect.topology == "pcie_tree" else "nvlink"


def _p2p_fraction(system: System) -> float:
    ic = system.interconnect
    return ic.p2p_sustained_fraction or ic.sustained_fraction


def _zero(p: int) -> CollectiveCost:
    return CollectiveCost(
        time_s=0.0, bandwidth_s=0.0, latency_s=0.0, send_bytes=np.zeros(max(p, 1)), busiest_link_bytes=0.0
    )


def _ring_collective(system: System, kind: str, n_bytes: float, p: int) -> CollectiveCost:
    """All-reduce / all-gather / reduce-scatter: the fastest (algorithm, protocol) of NCCL's model."""
    ic = system.interconnect
    all_reduce = kind == "all_reduce"
    steps = (p - 1) * (2 if all_reduce else 1)
    per_dev = steps / p * n_bytes
    raw = ic.link_gb_per_s * ic.n_links_per_device
    hop = ic.link_latency_ns * 1e-9
    nccl_fabric = ic.topology in _NCCL_TOPOLOGIES
    protos: tuple[Protocol, ...] = PROTOCOLS if nccl_fabric else ("Simple",)
    fabric = _fabric(system)
    multi = ic.topology == "multi_node" and p > ic.devices_per_node
    best: tuple[float, float, float] | None = None  # (time, bandwidth_s, latency_s)
    for proto in protos:
        base = nccl.base_latency_s(proto, ic.collective_overhead_s) if nccl_fabric else ic.collective_overhead_s
        step = nccl.hop_latency_s(proto, hop, fabric) if nccl_fabric else hop
        if multi:
            g = ic.devices_per_node
            nodes = p // g
            intra_bw = nccl.bandwidth_factor(proto, all_reduce=all_reduce, simple_gb_per_s=raw * ic.sustained_fraction)
            nic_bw = nccl.bandwidth_factor(
                proto, all_reduce=all_reduce, simple_gb_per_s=ic.nic_gb_per_s * ic.sustained_fraction
            )
            factor = 2 if all_reduce else 1
            bw_s = steps / (p - 1) * (g - 1) / g * n_bytes / (intra_bw * 1e9)
            bw_s += factor * (nodes - 1) / nodes * (n_bytes / g) / (nic_bw * 1e9)
            nic_hop = nccl.hop_latency_s(proto, ic.nic_latency_ns * 1e-9, "net")
            lat = base + steps / (p - 1) * (g - 1) * step + factor * (nodes - 1) * nic_hop
        else:
            # torus2d: the rings along each dimension run concurrently on their own links
            bus = raw * ic.sustained_fraction
            if nccl_fabric:
                bus = nccl.bandwidth_factor(proto, all_reduce=all_reduce, simple_gb_per_s=bus)
            bw_s = per_dev / (bus * 1e9)
            lat = base + steps * step
        if best is None or bw_s + lat < best[0]:
            best = (bw_s + lat, bw_s, lat)
    assert best is not None
    if all_reduce and ic.topology == "switch" and ic.nvls_sustained_fraction > 0 and p >= nccl.NVLS_MIN_DEVICES:
        bw_s = n_bytes / (raw * ic.nvls_sustained_fraction * 1e9)
        lat = nccl.nvls_latency_s(hop)  # NCCL: latencies[NVLS] = intraLat, no base latency
        if bw_s + lat < best[0]:
            best = (bw_s + lat, bw_s, lat)
    return CollectiveCost(
        time_s=best[0],
        bandwidth_s=best[1],
        latency_s=best[2],
        send_bytes=np.full(p, per_dev),
        busiest_link_bytes=per_dev,
    )


def collective_cost(
    system: System, kind: str, n_bytes: float, n_devices: int, traffic: np.ndarray | None = None
) -> CollectiveCost:
    """Time of one collective on ``n_devices`` devices of ``system``.

    ``n_bytes`` is the per-device buffer (for all-reduce the vector reduced; for all-gather the
    gathered result; for all-to-all each device's send buffer). ``traffic`` (bytes, ``p x p``)
    is required for ``all_to_all_v``.
    """
    ic = system.interconnect
    p = n_devices
    if p > system.n_devices:
        raise SimulationError(
            f"n_devices: expected at most the system's {system.n_devices} devices ({system.name}), got {p}"
        )
    if p <= 1 or (n_bytes <= 0 and traffic is None):
        return _zero(p)
    if ic.topology == "none":
        raise SimulationError(f"interconnect.topology: expected a topology connecting {p} devices, got 'none'")
    hop = ic.link_latency_ns * 1e-9
    nccl_fabric = ic.topology in _NCCL_TOPOLOGIES
    if kind in ("all_reduce", "all_gather", "reduce_scatter"):
        return _ring_collective(system, kind, n_bytes, p)
    if kind == "send_recv":
        proto = nccl.p2p_protocol(n_bytes) if nccl_fabric else "Simple"
        simple = ic.link_gb_per_s * _p2p_fraction(system)
        bw = nccl.bandwidth_factor(proto, all_reduce=False, simple_gb_per_s=simple) if nccl_fabric else simple
        t = n_bytes / (bw * 1e9)
        if nccl_fabric:
            lat = ic.p2p_overhead_s + nccl.hop_latency_s(proto, hop, _fabric(system))
        else:
            lat = ic.collective_overhead_s + hop
        sent = np.zeros(p)
        sent[0] = n_bytes
        return CollectiveCost(time_s=t + lat, bandwidth_s=t, latency_s=lat, send_bytes=sent, busiest_link_bytes=n_bytes)
    if kind in ("all_to_all", "all_to_all_v"):
        if kind == "all_to_all_v":
            if traffic is None:
                raise SimulationError("traffic_bytes: expected a p x p traffic matrix for all_to_all_v, got none")
            mat = np.asarray(traffic, dtype=float).reshape(p, p).copy()
        else:
            mat = np.full((p, p), n_bytes / p)
        np.fill_diagonal(mat, 0.0)
        if nccl_fabric:
            loads, gbps = link_loads(system, mat, fraction=_p2p_fraction(system))
            proto = nccl.p2p_protocol(float(mat.max()))
            gbps = nccl.bandwidth_factor(proto, all_reduce=False, simple_gb_per_s=gbps)
            # p-1 send/recv pairs in one group: the peers run concurrently, one handshake each
            lat = ic.p2p_overhead_s + nccl.hop_latency_s(proto, hop, _fabric(system))
        else:
            loads, gbps = link_loads(system, mat)
            # on a ring or torus the farthest peer is p/2 hops away; one handshake per peer
            lat = ic.collective_overhead_s + hop * max(p - 1, p // 2)
        busiest = float(loads.max()) if loads.size else 0.0
        bw_s = busiest / (gbps * 1e9)
        if ic.topology == "multi_node" and p > ic.devices_per_node:
            g = ic.devices_per_node
            node = np.arange(p) // g
            cross = mat[node[:, None] != node[None, :]].sum() / (p // g)
            nic = nccl.bandwidth_factor(
                proto, all_reduce=False, simple_gb_per_s=ic.nic_gb_per_s * _p2p_fraction(system)
            )
            bw_s = max(bw_s, cross / (nic * 1e9))
            lat += nccl.hop_latency_s(proto, ic.nic_latency_ns * 1e-9, "net")
        return CollectiveCost(
            time_s=bw_s + lat,
            bandwidth_s=bw_s,
            latency_s=lat,
            send_bytes=mat.sum(axis=1),
            busiest_link_bytes=busiest,
        )
    raise SimulationError(
        f"collective: expected all_reduce, all_gather, reduce_scatter, all_to_all, all_to_all_v or send_recv, got {kind!r}"
    )
