"""Device interconnect: collectives over switch, ring, 2D torus, PCIe tree and multi-node systems.

Each collective is timed with the standard alpha-beta model per algorithm (Thakur, Rabenseifner
and Gropp, "Optimization of collective communication operations in MPICH", IJHPCA 2005; NCCL's
ring/tree algorithms): ``time = n_steps * latency + bytes_on_the_busiest_link / link_bandwidth``.
The bandwidth of a link is ``link_gb_per_s * sustained_fraction`` (the measured bus-bandwidth
fraction, a cited preset field). For all-to-all and all-to-all-v the traffic matrix is routed on
the topology (shortest path on a ring, dimension order on a torus, through the switch otherwise)
and the most loaded link or port - the slowest device - sets the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simsparse.errors import SimulationError
from simsparse.hw import System

__all__ = ["CollectiveCost", "collective_cost", "link_loads"]


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


def link_loads(system: System, traffic: np.ndarray) -> tuple[np.ndarray, float]:
    """Route a ``p x p`` traffic matrix (bytes, row = source) and return (per-link bytes, link GB/s).

    Switch/PCIe/multi-node: one uplink and one downlink port per device; ring: shortest path
    (ties clockwise); torus2d: dimension-order routing (X then Y), shortest way around each ring.
    """
    ic = system.interconnect
    p = traffic.shape[0]
    eff = ic.sustained_fraction
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
        return CollectiveCost(
            time_s=0.0, bandwidth_s=0.0, latency_s=0.0, send_bytes=np.zeros(max(p, 1)), busiest_link_bytes=0.0
        )
    if ic.topology == "none":
        raise SimulationError(f"interconnect.topology: expected a topology connecting {p} devices, got 'none'")
    alpha = ic.link_latency_ns * 1e-9
    fixed = ic.collective_overhead_s
    inj = _injection_gb_per_s(system) * 1e9
    if kind in ("all_reduce", "all_gather", "reduce_scatter"):
        steps = (p - 1) * (2 if kind == "all_reduce" else 1)
        per_dev = steps / p * n_bytes
        if ic.topology == "multi_node" and p > ic.devices_per_node:
            g = ic.devices_per_node
            nodes = p // g
            intra = steps / (p - 1) * (g - 1) / g * n_bytes / inj
            factor = 2 if kind == "all_reduce" else 1
            inter = factor * (nodes - 1) / nodes * (n_bytes / g) / (ic.nic_gb_per_s * 1e9 * ic.sustained_fraction)
            lat = steps / (p - 1) * (g - 1) * alpha + factor * (nodes - 1) * ic.nic_latency_ns * 1e-9
            bw_s = intra + inter
        else:
            if ic.topology == "torus2d":
                # rings along each dimension run concurrently on their own links
                bw = ic.link_gb_per_s * ic.n_links_per_device * ic.sustained_fraction * 1e9
            else:
                bw = inj
            bw_s = per_dev / bw
            lat = steps * alpha
        sent = np.full(p, per_dev)
        return CollectiveCost(
            time_s=bw_s + lat + fixed,
            bandwidth_s=bw_s,
            latency_s=lat + fixed,
            send_bytes=sent,
            busiest_link_bytes=per_dev,
        )
    if kind == "send_recv":
        bw = ic.link_gb_per_s * ic.sustained_fraction * 1e9
        t = n_bytes / bw
        sent = np.zeros(p)
        sent[0] = n_bytes
        return CollectiveCost(
            time_s=t + alpha + fixed,
            bandwidth_s=t,
            latency_s=alpha + fixed,
            send_bytes=sent,
            busiest_link_bytes=n_bytes,
        )
    if kind in ("all_to_all", "all_to_all_v"):
        if kind == "all_to_all_v":
            if traffic is None:
                raise SimulationError("traffic_bytes: expected a p x p traffic matrix for all_to_all_v, got none")
            mat = np.asarray(traffic, dtype=float).reshape(p, p)
        else:
            mat = np.full((p, p), n_bytes / p)
        np.fill_diagonal(mat, 0.0)
        loads, gbps = link_loads(system, mat)
        busiest = float(loads.max()) if loads.size else 0.0
        bw_s = busiest / (gbps * 1e9)
        # one send/recv handshake per peer (NCCL posts p-1 point-to-point pairs); on a ring or
        # torus the farthest peer is also p/2 hops away
        hops = (p - 1) if ic.topology in ("switch", "pcie_tree", "multi_node") else max(p - 1, p // 2)
        lat = alpha * hops
        if ic.topology == "multi_node" and p > ic.devices_per_node:
            g = ic.devices_per_node
            node = np.arange(p) // g
            cross = mat[node[:, None] != node[None, :]].sum() / (p // g)
            bw_s = max(bw_s, cross / (ic.nic_gb_per_s * 1e9 * ic.sustained_fraction))
            lat += ic.nic_latency_ns * 1e-9
        return CollectiveCost(
            time_s=bw_s + lat + fixed,
            bandwidth_s=bw_s,
            latency_s=lat + fixed,
            send_bytes=mat.sum(axis=1),
            busiest_link_bytes=busiest,
        )
    raise SimulationError(
        f"collective: expected all_reduce, all_gather, reduce_scatter, all_to_all, all_to_all_v or send_recv, got {kind!r}"
    )
