"""On-chip network (``Device.noc``, ``simsparse.models.noc``): exact bounds and hop counts on small
cases, energy per hop, the roofline bound, and the bad-input errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsparse as ss
from simsparse.errors import ConfigError, SimulationError
from simsparse.hw import OnChipNetwork, System
from simsparse.models.noc import noc_cost, noc_model, registered_noc_models
from simsparse.workload import Workload
from simsparse.workload.op import Op

A100 = ss.load_hardware("a100-sxm")


def _with_noc(hw: System, **fields: object) -> System:
    return dataclasses.replace(hw, device=dataclasses.replace(hw.device, noc=OnChipNetwork(**fields)))  # type: ignore[arg-type]


def _copy(n: int) -> Workload:
    op = Op(name="copy", kind="elementwise", m=1, n=n, dtype="fp16", a_dtype="fp16", b_dtype="fp16", c_dtype="fp16")
    return Workload(name="copy", ops=(op,))


def test_registered_topologies_and_unknown_name() -> None:
    assert registered_noc_models() == ["crossbar", "mesh2d", "none"]
    with pytest.raises(SimulationError, match=r"noc\.topology: expected one of crossbar, mesh2d, none"):
        noc_model("ring")


def test_mesh_hops_and_entry_links_on_a_4x4_mesh() -> None:
    noc = OnChipNetwork(topology="mesh2d", link_gb_per_s=10.0, mesh_rows=4, mesh_cols=4)
    model = noc_model("mesh2d")
    # 12 routers on the edge (1 hop), the inner 2x2 two hops
    assert model.hops(noc, 16) == (pytest.approx(20 / 16), 2)
    # 16 entry links: 8 active cores pull 8 links' worth, 16 or more the whole perimeter
    assert model.gb_per_s(noc, 16, 8) == 80.0
    assert model.gb_per_s(noc, 16, 16) == 160.0
    big = OnChipNetwork(topology="mesh2d", link_gb_per_s=10.0, mesh_rows=8, mesh_cols=8)
    assert model.gb_per_s(big, 64, 64) == 320.0  # 32 entry links for 64 cores: the perimeter binds
    crossbar = OnChipNetwork(topology="crossbar", link_gb_per_s=10.0)
    assert noc_model("crossbar").gb_per_s(crossbar, 108, 7) == 70.0
    assert noc_model("crossbar").hops(crossbar, 108) == (1.0, 1)


def test_a_narrow_crossbar_bounds_a_streaming_op_exactly() -> None:
    link = 1.0  # GB/s per SM port: 108 GB/s in all, far below HBM
    hw = _with_noc(A100, topology="crossbar", link_gb_per_s=link, hop_latency_ns=50.0, energy_pj_per_byte_per_hop=2.0)
    n = 1 << 24
    res = ss.simulate(hw, _copy(n))
    dev = hw.device
    moved = 2.0 * n * 2  # read and write of fp16, in opposite directions over the network
    expected = moved / 2 / (108 * link * 1e9) + (dev.dram.latency_ns + 50.0) * 1e-9 + dev.kernel_launch_s
    flops_cycles = 0.0  # a copy has no flops
    assert res.summary()["latency_s"] == pytest.approx(expected + flops_cycles, rel=1e-9)
    op = res.ops.iloc[0]
    assert op["bottleneck"] == "noc" and op["noc_bytes"] == moved
    assert res.summary()["noc_bytes"] == moved
    plain = ss.simulate(A100, _copy(n))
    assert res.summary()["energy_j"] - plain.summary()["energy_j"] == pytest.approx(
        moved * 1 * 2.0e-12 + dev.energy.static_w * (res.summary()["latency_s"] - plain.summary()["latency_s"]),
        rel=1e-6,
    )


def test_a_wide_network_changes_nothing_but_latency_and_energy() -> None:
    wide = _with_noc(A100, topology="crossbar", link_gb_per_s=1e6)
    wl = ss.gemm(m=4096, n=4096, k=4096, dtype="bf16")
    t0 = ss.simulate(A100, wl).summary()["latency_s"]
    assert ss.simulate(wide, wl).summary()["latency_s"] == pytest.approx(t0, rel=1e-9)


def test_gemm_fill_traffic_crosses_the_network() -> None:
    narrow = _with_noc(A100, topology="mesh2d", link_gb_per_s=20.0, mesh_rows=9, mesh_cols=12)
    wl = ss.gemm(m=4096, n=4096, k=4096, dtype="bf16")
    res = ss.simulate(narrow, wl)
    op = res.ops.iloc[0]
    assert op["bottleneck"] == "noc"
    # 42 entry links x 20 GB/s (each direction) carry the tile panels the cores load; the results
    # go the other way
    loaded = op["noc_bytes"] - 4096 * 4096 * 2
    assert res.summary()["latency_s"] >= loaded / (42 * 20e9)
    assert op["noc_bytes"] >= op["bytes_hbm"]
    assert noc_cost(narrow.device, 108).mean_hops > 1.0


@settings(max_examples=25, deadline=None)
@given(
    link=st.sampled_from([5.0, 20.0, 80.0, 400.0]),
    factor=st.sampled_from([1.5, 4.0]),
    topology=st.sampled_from(["crossbar", "mesh2d"]),
    shape=st.sampled_from([(1, 4096, 4096), (64, 8192, 1024), (2048, 2048, 2048)]),
    kind=st.sampled_from(["gemm", "copy"]),
)
def test_more_network_bandwidth_is_never_slower_and_never_beats_the_roofline(
    link: float, factor: float, topology: str, shape: tuple[int, int, int], kind: str
) -> None:
    mesh = {"mesh_rows": 9, "mesh_cols": 12} if topology == "mesh2d" else {}
    slow = _with_noc(A100, topology=topology, link_gb_per_s=link, hop_latency_ns=20.0, **mesh)
    fast = _with_noc(A100, topology=topology, link_gb_per_s=link * factor, hop_latency_ns=20.0, **mesh)
    m, n, k = shape
    wl = ss.gemm(m=m, n=n, k=k, dtype="bf16") if kind == "gemm" else _copy(m * n)
    t_slow = ss.simulate(slow, wl).summary()["latency_s"]
    assert ss.simulate(fast, wl).summary()["latency_s"] <= t_slow * (1 + 1e-9)
    assert ss.simulate(A100, wl).summary()["latency_s"] <= t_slow * (1 + 1e-9)  # no network is the limit
    assert t_slow >= ss.simulate(slow, wl, fidelity="roofline").summary()["latency_s"] * (1 - 1e-9)


def test_a_mesh_smaller_than_the_cores_is_a_config_error(tmp_path: object) -> None:
    from pathlib import Path

    text = (Path(ss.__file__).parent / "data" / "hwconfigs" / "a100-sxm.yaml").read_text()
    bad = text.replace(
        "noc: {topology: none}", "noc: {topology: mesh2d, link_gb_per_s: 10, mesh_rows: 4, mesh_cols: 4}"
    )
    path = Path(str(tmp_path)) / "mesh.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match=r"device.noc.mesh_rows: expected mesh_rows x mesh_cols >= n_cores \(108"):
        ss.load_hardware(str(path))


def test_a_mesh_of_systolic_cores_is_bound_by_its_entry_links() -> None:
    base = ss.load_hardware("systolic-32x32")
    dev = dataclasses.replace(base.device, n_cores=16)

    def mesh(link: float) -> System:
        noc = OnChipNetwork(topology="mesh2d", link_gb_per_s=link, mesh_rows=4, mesh_cols=4, hop_latency_ns=1.0)
        return dataclasses.replace(base, device=dataclasses.replace(dev, noc=noc))

    wl = ss.gemm(m=512, n=512, k=512, dtype=next(iter(dev.core.matrix_unit.macs_per_cycle)))
    plain = ss.simulate(dataclasses.replace(base, device=dev), wl)
    narrow, wide = ss.simulate(mesh(0.01), wl), ss.simulate(mesh(1e5), wl)
    op = narrow.ops.iloc[0]
    assert op["bottleneck"] == "noc"
    # 16 entry links carry the busier direction (the operand stream) at 0.01 GB/s each
    assert narrow.summary()["latency_s"] >= op["bytes_" + dev.dram.name] / 2 / (16 * 0.01e9)
    assert wide.summary()["latency_s"] == pytest.approx(plain.summary()["latency_s"] + 2e-9, rel=1e-6)  # two hops
    assert narrow.summary()["latency_s"] >= ss.simulate(mesh(0.01), wl, fidelity="roofline").summary()["latency_s"]
