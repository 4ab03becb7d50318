"""NCCL protocol model of the collectives (models/interconnect): protocol choice, monotonicity, links."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from simsparse.config import load_hardware
from simsparse.hw import Interconnect, System
from simsparse.models.interconnect import collective_cost, nccl

SIZES = [2.0**k for k in range(3, 34)]


def _chosen(system: System, n_bytes: float, p: int) -> str:
    """Which candidate the model picked, recovered from its latency."""
    ic = system.interconnect
    hop = ic.link_latency_ns * 1e-9
    cost = collective_cost(system, "all_reduce", n_bytes, p)
    steps = 2 * (p - 1)
    for proto in nccl.PROTOCOLS:
        lat = nccl.base_latency_s(proto, ic.collective_overhead_s) + steps * nccl.hop_latency_s(proto, hop)
        if np.isclose(cost.latency_s, lat, rtol=1e-9, atol=0.0):
            return proto
    assert np.isclose(cost.latency_s, nccl.nvls_latency_s(hop))
    return "NVLS"


@pytest.mark.parametrize("name", ["dgx-a100", "dgx-h100"])
@pytest.mark.parametrize("p", [2, 4, 8])
def test_small_messages_choose_ll_large_choose_bandwidth_protocols(name: str, p: int) -> None:
    system = load_hardware(name)
    assert _chosen(system, 4096, p) == "LL"
    big = _chosen(system, 2.0**30, p)
    assert big in (("Simple", "NVLS") if p >= nccl.NVLS_MIN_DEVICES else ("Simple",))
    if name == "dgx-a100":
        assert big == "Simple"  # no NVLink SHARP on the A100 NVSwitch


def test_nvls_needs_three_gpus_and_a_switch() -> None:
    system = load_hardware("dgx-h100")
    assert _chosen(system, 2.0**30, 2) == "Simple"
    assert _chosen(system, 2.0**30, 8) == "NVLS"
    with pytest.raises(Exception, match="nvls_sustained_fraction"):
        Interconnect(topology="ring", link_gb_per_s=25.0, nvls_sustained_fraction=0.5)


def test_protocol_bandwidth_factors_follow_nccl() -> None:
    assert nccl.bandwidth_factor("Simple", all_reduce=True, simple_gb_per_s=200.0) == 200.0
    assert nccl.bandwidth_factor("LL128", all_reduce=True, simple_gb_per_s=200.0) == pytest.approx(184.0)
    assert nccl.bandwidth_factor("LL", all_reduce=True, simple_gb_per_s=200.0) == pytest.approx(50.0)
    assert nccl.bandwidth_factor("LL", all_reduce=False, simple_gb_per_s=200.0) == pytest.approx(200.0 / 3)
    assert nccl.bandwidth_factor("LL", all_reduce=True, simple_gb_per_s=1000.0) == nccl.LL_MAX_BUS_GB_PER_S
    assert nccl.p2p_protocol(nccl.P2P_LL_THRESHOLD_BYTES) == "LL"
    assert nccl.p2p_protocol(nccl.P2P_LL_THRESHOLD_BYTES + 1) == "Simple"


@pytest.mark.parametrize("name", ["dgx-a100", "dgx-h100", "dgx-b200"])
@pytest.mark.parametrize("kind", ["all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"])
@pytest.mark.parametrize("p", [2, 4, 8])
def test_time_monotone_in_bytes(name: str, kind: str, p: int) -> None:
    system = load_hardware(name)
    times = [collective_cost(system, kind, n, p).time_s for n in SIZES]
    assert all(b >= a * (1 - 1e-12) for a, b in itertools.pairwise(times)), times


def _with_links(system: System, n_links: int) -> System:
    return dataclasses.replace(
        system, interconnect=dataclasses.replace(system.interconnect, n_links_per_device=n_links)
    )


@pytest.mark.parametrize("name", ["dgx-a100", "dgx-h100"])
@pytest.mark.parametrize("kind", ["all_reduce", "all_gather", "all_to_all", "send_recv"])
def test_more_links_never_slower(name: str, kind: str) -> None:
    system = load_hardware(name)
    n = system.interconnect.n_links_per_device
    for size in SIZES[::3]:
        fewer = collective_cost(_with_links(system, max(n // 2, 1)), kind, size, 8).time_s
        more = collective_cost(system, kind, size, 8).time_s
        assert more <= fewer * (1 + 1e-12)


def test_mid_size_all_reduce_is_slower_than_one_alpha_beta_line() -> None:
    """LL/LL128 trade bandwidth for latency: mid-size messages run below the Simple bus bandwidth."""
    system = load_hardware("dgx-a100")
    ic = system.interconnect
    n, p = 2.0**21, 8
    simple_line = (
        nccl.base_latency_s("LL", ic.collective_overhead_s)
        + 2 * (p - 1) * ic.link_latency_ns * 1e-9
        + 2 * (p - 1) / p * n / (ic.link_gb_per_s * ic.n_links_per_device * ic.sustained_fraction * 1e9)
    )
    assert collective_cost(system, "all_reduce", n, p).time_s > simple_line


def test_ring_and_torus_keep_the_alpha_beta_model() -> None:
    dev = load_hardware("dgx-a100").device
    ring = System(
        name="ring4",
        device=dev,
        n_devices=4,
        interconnect=Interconnect(topology="ring", link_gb_per_s=50.0, n_links_per_device=2, link_latency_ns=1000.0),
        sources={},
    )
    cost = collective_cost(ring, "all_reduce", 2.0**20, 4)
    expect = 6 * 1e-6 + 1.5 * 2.0**20 / (100e9)
    assert cost.time_s == pytest.approx(expect)
    torus = dataclasses.replace(
        ring,
        interconnect=Interconnect(
            topology="torus2d", link_gb_per_s=50.0, n_links_per_device=4, link_latency_ns=1000.0, torus_dims=(2, 2)
        ),
    )
    assert collective_cost(torus, "all_to_all", 2.0**20, 4).time_s > 0
