"""NCCL's published cost model: protocols (LL, LL128, Simple), ring and NVLS all-reduce, p2p all-to-all.

NCCL picks, per call, the (algorithm, protocol) pair with the lowest predicted time
``latency + bytes / algorithm_bandwidth`` (``ncclTopoGetAlgoTime`` in ``src/graph/tuning.cc``).
This module carries over the *structure* and the *ratios* of that model, each constant cited to
NVIDIA/nccl ``src/graph/tuning.cc`` (v2.19-2.21, commit b6475625) unless stated:

* bandwidth per protocol, as a factor on the Simple bus bandwidth: LL moves 8-byte lines holding
  4 data bytes + a 4-byte flag and NCCL models it at 1/4 of the bus bandwidth for all-reduce and 1/3
  for the other collectives, capped at 87.7 GB/s per node (``llMaxBws``, Ampere/Hopper, one node);
  LL128 keeps 120 of every 128 bytes and NCCL models it at 0.92 (``busBw * 0.92``); Simple is the
  full bus bandwidth (the fitted ``sustained_fraction`` of the link bandwidth);
* ring bus bandwidth to algorithm bandwidth: ``n_ranks / n_steps`` with ``n_steps = 2 (p-1)`` for
  all-reduce and ``p-1`` for all-gather / reduce-scatter;
* latency per protocol: ``baseLat[ring][proto] + n_steps * hwLat[hw][ring][proto]`` with the
  per-hop latency of the fabric (NVLink, PCI, network). NCCL's absolute microseconds are selection
  heuristics, not measurements; here the LL figures are *fitted* (``collective_overhead_s`` = the LL
  base latency, ``link_latency_ns`` = the LL per-hop latency, see ``validation/calibrate.py``) and
  LL128/Simple are scaled from them by NCCL's published ratios (e.g. Simple hop = 3.4/0.6 x LL hop);
* NVLS (NVLink SHARP, reduction in the NVSwitch, Hopper): latency ``hwLat[NVLINK][NVLS][Simple]``
  (23 us; scaled like the others by the fitted LL hop), bandwidth the fitted
  ``nvls_sustained_fraction`` of the link bandwidth as algorithm bandwidth; not used on 2 GPUs
  (``src/transport/nvls.cc``: ``gpuCount <= 2`` disables NVLS);
* all-to-all is ``p-1`` send/recv pairs in one group (``ncclGroupStart``/``End``); point-to-point
  uses LL when the per-peer message is at most ``NCCL_P2P_LL_THRESHOLD`` = 16 KiB
  (``src/enqueue.cc``, ``ncclParamP2pLLThreshold`` default 16384) and Simple otherwise; the peers
  run concurrently on their own channels, so one handshake (one hop) of latency is paid.

NCCL's per-channel caps (LL128 20/36.7 GB/s per channel, 24-32 channels on DGX A100/H100) exceed
the bus bandwidth of these systems and are not modeled.
"""

from __future__ import annotations

from typing import Final, Literal

Protocol = Literal["LL", "LL128", "Simple"]
Fabric = Literal["nvlink", "pci", "net"]

PROTOCOLS: Final[tuple[Protocol, ...]] = ("LL", "LL128", "Simple")

BASE_LATENCY_US: Final[dict[Protocol, float]] = {"LL": 6.6, "LL128": 14.0, "Simple": 8.4}
"""``baseLat`` of the ring algorithm (tuning.cc): only the ratios to LL are used."""

HOP_LATENCY_US: Final[dict[Fabric, dict[Protocol, float]]] = {
    "nvlink": {"LL": 0.6, "LL128": 1.9, "Simple": 3.4},
    "pci": {"LL": 1.0, "LL128": 2.5, "Simple": 5.7},
    "net": {"LL": 2.7, "LL128": 4.0, "Simple": 14.0},
}
"""``hwLat[hw][ring][proto]`` (tuning.cc): per-step latency of a ring on each fabric; only the ratios
to LL are used (the LL figures are fitted)."""

NVLS_HOP_LATENCY_US: Final[float] = 23.0
"""``hwLat[NVLINK][NVLS][Simple]`` (tuning.cc): one NVLS all-reduce, in the same units as the ring hops."""

LL_BW_FACTOR_ALL_REDUCE: Final[float] = 1.0 / 4.0
"""Ring LL bus bandwidth / Simple for all-reduce (tuning.cc ``busBw * 1.0/4.0``)."""

LL_BW_FACTOR_OTHER: Final[float] = 1.0 / 3.0
"""Ring LL bus bandwidth / Simple for all-gather, reduce-scatter and point-to-point (tuning.cc ``1.0/3.0``)."""

LL_MAX_BUS_GB_PER_S: Final[float] = 87.7
"""LL bus bandwidth cap on one node of Ampere/Hopper GPUs (tuning.cc ``llMaxBws``)."""

LL128_BW_FACTOR: Final[float] = 0.92
"""Ring LL128 bus bandwidth / Simple (tuning.cc ``busBw * 0.92``, 120 of 128 bytes are data)."""

NVLS_MIN_DEVICES: Final[int] = 3
"""NVLS is disabled on two GPUs (src/transport/nvls.cc, ``gpuCount <= 2``)."""

P2P_LL_THRESHOLD_BYTES: Final[int] = 16384
"""Per-peer bytes up to which send/recv use LL (src/enqueue.cc, ``NCCL_P2P_LL_THRESHOLD`` default)."""


def bandwidth_factor(proto: Protocol, *, all_reduce: bool, simple_gb_per_s: float) -> float:
    """Bus bandwidth (GB/s) of ``proto`` given the Simple bus bandwidth."""
    if proto == "LL":
        factor = LL_BW_FACTOR_ALL_REDUCE if all_reduce else LL_BW_FACTOR_OTHER
        return min(simple_gb_per_s * factor, LL_MAX_BUS_GB_PER_S)
    if proto == "LL128":
        return simple_gb_per_s * LL128_BW_FACTOR
    return simple_gb_per_s


def base_latency_s(proto: Protocol, ll_base_s: float) -> float:
    """Per-call latency of ``proto``: the LL base latency scaled by NCCL's ``baseLat`` ratio."""
    return ll_base_s * BASE_LATENCY_US[proto] / BASE_LATENCY_US["LL"]


def hop_latency_s(proto: Protocol, ll_hop_s: float, fabric: Fabric = "nvlink") -> float:
    """Per-step latency of ``proto`` on ``fabric``: the LL hop scaled by NCCL's ``hwLat`` ratio."""
    table = HOP_LATENCY_US[fabric]
    return ll_hop_s * table[proto] / table["LL"]


def nvls_latency_s(ll_hop_s: float) -> float:
    """Latency of one NVLS all-reduce: NCCL's NVLS hardware latency in units of the LL NVLink hop."""
    return ll_hop_s * NVLS_HOP_LATENCY_US / HOP_LATENCY_US["nvlink"]["LL"]


def p2p_protocol(per_peer_bytes: float) -> Protocol:
    """Protocol NCCL uses for one send/recv of ``per_peer_bytes``."""
    return "LL" if per_peer_bytes <= P2P_LL_THRESHOLD_BYTES else "Simple"
