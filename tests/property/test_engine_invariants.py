"""Engine invariants (issue 4/5): event == cycle on small arrays, never below the roofline,
monotone in bandwidth, cores and density, N:M bounds, density 1.0 == dense."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsparse as ss
from simsparse.hw import System
from simsparse.workload.op import Op


class _W:
    def __init__(self, *ops: Op) -> None:
        self.ops = tuple(ops)
        self.name = "test"


def _gemm(m: int, n: int, k: int, dtype: str = "fp16", **kw: object) -> _W:
    return _W(Op(name="g", kind="gemm", m=m, n=n, k=k, dtype=dtype, a_dtype=dtype, b_dtype=dtype, c_dtype=dtype, **kw))  # type: ignore[arg-type]


def _with_unit(hw: System, **changes: object) -> System:
    mu = dataclasses.replace(hw.device.core.matrix_unit, **changes)  # type: ignore[arg-type]
    core = dataclasses.replace(hw.device.core, matrix_unit=mu)
    return dataclasses.replace(hw, device=dataclasses.replace(hw.device, core=core))


SYSTOLIC = ss.load_hardware("systolic-32x32")
H100 = ss.load_hardware("h100-sxm")
A100 = ss.load_hardware("a100-sxm")

small = st.integers(min_value=1, max_value=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=small,
    n=small,
    k=small,
    rows=st.sampled_from([4, 8, 16]),
    cols=st.sampled_from([4, 8, 16]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    pattern=st.sampled_from(["dense", "2:4", "1:4"]),
)
def test_event_equals_cycle_on_small_cases(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, pattern: str
) -> None:
    sparsity = (
        ss.hw.SparsitySupport(pattern="2:4", metadata_bits_per_value=2, max_speedup=2.0),
        ss.hw.SparsitySupport(pattern="1:4", metadata_bits_per_value=2, max_speedup=4.0),
    )
    hw = _with_unit(
        SYSTOLIC,
        array_rows=rows,
        array_cols=cols,
        dataflow=dataflow,
        macs_per_cycle={"fp16": rows * cols},
        compute_model="structured_nm" if dataflow == "ws" else "dense",
        sparsity=sparsity if dataflow == "ws" else (),
    )
    if dataflow != "ws" and pattern != "dense":
        pattern = "dense"
    density = {"dense": 1.0, "2:4": 0.5, "1:4": 0.25}[pattern]
    wl = _gemm(m, n, k, b_pattern=pattern, b_density=density)
    event = ss.simulate(hw, wl, fidelity="event").summary()
    cycle = ss.simulate(hw, wl, fidelity="cycle").summary()
    assert event["cycles"] == cycle["cycles"]
    assert event["compute_cycles"] == cycle["compute_cycles"]


dims = st.sampled_from([1, 7, 64, 256, 1000, 4096])


@settings(max_examples=30, deadline=None)
@given(m=dims, n=dims, k=dims, hw=st.sampled_from([H100, A100]), pattern=st.sampled_from(["dense", "2:4"]))
def test_never_below_roofline(m: int, n: int, k: int, hw: System, pattern: str) -> None:
    wl = _gemm(m, n, k, "bf16", b_pattern=pattern, b_density=0.5 if pattern == "2:4" else 1.0)
    event = ss.simulate(hw, wl).summary()["latency_s"]
    roof = ss.simulate(hw, wl, fidelity="roofline").summary()["latency_s"]
    assert event >= roof * (1 - 1e-9)


@settings(max_examples=20, deadline=None)
@given(m=dims, n=dims, k=dims, factor=st.sampled_from([1.5, 2.0, 4.0]))
def test_more_dram_bandwidth_never_slower(m: int, n: int, k: int, factor: float) -> None:
    hbm = H100.device.dram
    faster = dataclasses.replace(
        hbm, read_gb_per_s=hbm.read_gb_per_s * factor, write_gb_per_s=hbm.write_gb_per_s * factor
    )
    mem = (*H100.device.memory[:-1], faster)
    hw2 = dataclasses.replace(H100, device=dataclasses.replace(H100.device, memory=mem))
    wl = _gemm(m, n, k, "bf16")
    assert ss.simulate(hw2, wl).summary()["latency_s"] <= ss.simulate(H100, wl).summary()["latency_s"] * (1 + 1e-9)


@settings(max_examples=30, deadline=None)
@given(
    mb=st.integers(1, 4),
    nb=st.integers(1, 4),
    kb=st.integers(1, 4),
    dataflow=st.sampled_from(["os", "ws", "is"]),
)
def test_larger_array_never_slower_on_gemms_that_fill_it(mb: int, nb: int, kb: int, dataflow: str) -> None:
    # Exact SCALE-Sim timing charges every fold a fill and drain that grow with the array, so on
    # GEMMs smaller than the array a larger one can be slower (as in SCALE-Sim itself). On GEMMs
    # whose dimensions fill the larger array, a larger array is never slower.
    m, n, k = 64 * mb, 64 * nb, 64 * kb
    small = _with_unit(SYSTOLIC, array_rows=32, array_cols=32, dataflow=dataflow, macs_per_cycle={"fp16": 1024})
    large = _with_unit(SYSTOLIC, array_rows=64, array_cols=64, dataflow=dataflow, macs_per_cycle={"fp16": 4096})
    wl = _gemm(m, n, k)
    assert ss.simulate(large, wl).summary()["cycles"] <= ss.simulate(small, wl).summary()["cycles"]


def test_two_four_between_half_and_dense_compute() -> None:
    hw = ss.load_hardware("systolic-128x128")
    hw = _with_unit(
        hw,
        dataflow="ws",
        compute_model="structured_nm",
        sparsity=(ss.hw.SparsitySupport(pattern="2:4", metadata_bits_per_value=2, max_speedup=2.0),),
    )
    for m, n, k in [(128, 128, 128), (256, 512, 256), (8, 1024, 1024), (100, 37, 300)]:
        dense = ss.simulate(hw, _gemm(m, n, k, "fp16")).summary()["compute_cycles"]
        sparse = ss.simulate(hw, _gemm(m, n, k, "fp16", b_pattern="2:4", b_density=0.5)).summary()["compute_cycles"]
        # SCALE-Sim counts the index of the last cycle (folds * per_fold - 1), so halving the
        # folds gives (dense + 1) / 2 - 1: half a cycle under dense / 2.
        assert (dense + 1) / 2 - 1 <= sparse <= dense


@settings(max_examples=20, deadline=None)
@given(d1=st.floats(0.05, 1.0), d2=st.floats(0.05, 1.0), k=st.sampled_from([64, 512, 4096]))
def test_lower_density_never_more_compute_under_skipping(d1: float, d2: float, k: int) -> None:
    hw = ss.load_hardware("sigma-like")
    lo, hi = sorted((d1, d2))
    dtype = next(iter(hw.device.core.matrix_unit.macs_per_cycle))

    def cyc(d: float) -> float:
        wl = _gemm(512, 512, k, dtype, b_pattern="unstructured" if d < 1 else "dense", b_density=d)
        return float(ss.simulate(hw, wl).summary()["compute_cycles"])

    assert cyc(lo) <= cyc(hi) * (1 + 1e-9)


@pytest.mark.parametrize("preset", ["sigma-like", "dstc", "vegeta", "stc-2of4"])
def test_density_one_equals_dense(preset: str) -> None:
    hw = ss.load_hardware(preset)
    dtype = (
        "fp16"
        if "fp16" in hw.device.core.matrix_unit.macs_per_cycle
        else next(iter(hw.device.core.matrix_unit.macs_per_cycle))
    )
    dense = ss.simulate(hw, _gemm(512, 512, 512, dtype)).summary()
    one = ss.simulate(hw, _gemm(512, 512, 512, dtype, b_pattern="unstructured", b_density=1.0, a_density=1.0)).summary()
    assert one["compute_cycles"] == dense["compute_cycles"]


@settings(max_examples=25, deadline=None)
@given(
    m=dims,
    n=dims,
    k=dims,
    preset=st.sampled_from(["a100-sxm", "stc-2of4", "dstc", "vegeta", "sigma-like"]),
    density=st.sampled_from([1.0, 0.5, 0.25]),
    fidelity=st.sampled_from(["event", "roofline"]),
)
def test_utilization_is_a_share_of_the_datapath_even_when_sparse(
    m: int, n: int, k: int, preset: str, density: float, fidelity: str
) -> None:
    # utilization counts executed MACs (after skipping), so it never exceeds 1, while the
    # dense-equivalent achieved FLOP/s of a skipping datapath may exceed the dense peak
    hw = ss.load_hardware(preset)
    dtype = "bf16" if "bf16" in hw.device.core.matrix_unit.macs_per_cycle else "fp16"
    kw: dict[str, object] = {}
    if density < 1:
        kw = {"b_pattern": "unstructured", "b_density": density, "a_density": density}
    res = ss.simulate(hw, _gemm(m, n, k, dtype, **kw), fidelity=fidelity)
    assert 0.0 < float(res.summary()["utilization"]) <= 1.0 + 1e-9
    assert 0.0 < float(res.ops["utilization"].iloc[0]) <= 1.0 + 1e-9
