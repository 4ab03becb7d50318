"""Streaming ops with a launch shape (``Op.launch_*``) on a SIMT device (``Device.simt``): exact times on
small cases, the occupancy waves, the fallback without a SIMT model, and the bad-input errors."""

from __future__ import annotations

import dataclasses
import math

import pytest

import simsparse as ss
from simsparse.engine.timing import launch_waves
from simsparse.errors import SimulationError, WorkloadError
from simsparse.hw import SimtExecution
from simsparse.workload import Workload
from simsparse.workload.op import Op

A100 = ss.load_hardware("a100-sxm")


def _norm(tokens: int, width: int, **launch: int) -> Op:
    return Op(
        name="rms_norm",
        kind="elementwise",
        m=tokens,
        n=width,
        flops_per_element=4.0,
        dtype="fp16",
        a_dtype="fp16",
        b_dtype="fp16",
        c_dtype="fp16",
        **launch,
    )


def _latency_s(hw: ss.System, op: Op, fidelity: str = "event") -> float:
    return float(ss.simulate(hw, Workload(name="one", ops=(op,)), fidelity=fidelity).summary()["latency_s"])


def test_one_block_row_loop_is_floor_plus_rounds_plus_bytes_at_peak() -> None:
    dev = A100.device
    assert dev.simt is not None
    op = _norm(1, 4096, launch_ctas=1, launch_threads_per_cta=1024, launch_dram_rounds=4, launch_cache_rounds=5)
    rounds_ns = 4 * dev.simt.dram_round_ns + 5 * dev.level("l2").latency_ns
    bytes_s = 2 * 4096 * 2 / (dev.dram.read_gb_per_s * 1e9)  # one read and one write of the row, shared port
    flops_s = 4 * 4096 / (dev.core.vector_unit.flops_per_cycle["fp16"] * dev.n_cores * dev.freq_ghz * 1e9)
    expected = dev.simt.kernel_floor_s + rounds_ns * 1e-9 + bytes_s + flops_s  # one step: load, compute, store
    assert _latency_s(A100, op) == pytest.approx(expected, rel=1e-6)


def test_waves_follow_the_resident_block_limits() -> None:
    dev = A100.device
    assert dev.simt is not None
    per_wave = dev.n_cores * (dev.simt.max_threads_per_core // 1024)  # two 1024-thread blocks per SM
    shape = {"launch_threads_per_cta": 1024, "launch_dram_rounds": 11}
    assert launch_waves(dev, _norm(per_wave, 11008, launch_ctas=per_wave, **shape)) == 1
    assert launch_waves(dev, _norm(per_wave + 1, 11008, launch_ctas=per_wave + 1, **shape)) == 2
    # small blocks are limited by the resident-block count, not the threads
    small = {"launch_threads_per_cta": 32, "launch_dram_rounds": 1}
    ctas = dev.n_cores * dev.simt.max_ctas_per_core
    assert launch_waves(dev, _norm(1, 32 * ctas, launch_ctas=ctas, **small)) == 1
    assert launch_waves(dev, _norm(1, 32 * ctas, launch_ctas=ctas + 1, **small)) == 2
    # one more wave adds exactly one wave of rounds
    one = _latency_s(A100, _norm(per_wave, 11008, launch_ctas=per_wave, **shape))
    two = _latency_s(A100, _norm(per_wave, 11008, launch_ctas=per_wave + 1, **shape))
    assert two - one == pytest.approx(11 * dev.simt.dram_round_ns * 1e-9, rel=1e-6)


def test_a_shape_is_never_below_the_roofline_and_more_rounds_are_never_faster() -> None:
    for tokens in (1, 64, 4096):
        base = {"launch_ctas": tokens, "launch_threads_per_cta": 1024}
        times = [
            _latency_s(A100, _norm(tokens, 4096, **base, launch_dram_rounds=r, launch_cache_rounds=r))
            for r in (0, 1, 4)
        ]
        assert times == sorted(times)
        roof = _latency_s(A100, _norm(tokens, 4096, **base, launch_dram_rounds=4), fidelity="roofline")
        assert times[0] >= roof * (1 - 1e-9)


def test_without_a_simt_model_the_shape_is_ignored_and_said() -> None:
    plain = dataclasses.replace(A100, device=dataclasses.replace(A100.device, simt=None))
    shaped = _norm(8, 4096, launch_ctas=8, launch_threads_per_cta=1024, launch_dram_rounds=4)
    res = ss.simulate(plain, Workload(name="one", ops=(shaped,)))
    assert res.summary()["latency_s"] == pytest.approx(_latency_s(plain, _norm(8, 4096)), rel=1e-12)
    assert any("launch shape ignored" in n and "(rms_norm)" in n for n in res.notes), res.notes


def test_a_block_larger_than_the_core_holds_is_an_error() -> None:
    op = _norm(1, 4096, launch_ctas=1, launch_threads_per_cta=4096, launch_dram_rounds=1)
    with pytest.raises(SimulationError, match=r"launch_threads_per_cta: expected at most 2048 \(device.simt"):
        ss.simulate(A100, Workload(name="one", ops=(op,)))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"launch_ctas": -1}, "launch_ctas: expected an integer >= 0"),
        ({"launch_ctas": 4}, "launch_threads_per_cta: expected launch_ctas and launch_threads_per_cta both >= 1"),
        ({"launch_dram_rounds": 3}, "launch_ctas: expected an integer >= 1 when the launch shape has rounds"),
    ],
)
def test_bad_launch_shapes_name_the_field(fields: dict[str, int], match: str) -> None:
    with pytest.raises(WorkloadError, match=match):
        _norm(1, 4096, **fields)


def test_a_gemm_cannot_carry_a_launch_shape() -> None:
    with pytest.raises(WorkloadError, match="launch_ctas: expected 0"):
        Op(name="g", kind="gemm", m=1, n=1, k=1, launch_ctas=1, launch_threads_per_cta=128)


def test_bad_simt_values_name_the_field() -> None:
    with pytest.raises(ss.SimsparseError, match="max_threads_per_core: expected an integer >= 1"):
        SimtExecution(max_threads_per_core=0, max_ctas_per_core=32, kernel_floor_s=1e-6, dram_round_ns=500.0)
    with pytest.raises(ss.SimsparseError, match="dram_round_ns"):
        SimtExecution(max_threads_per_core=2048, max_ctas_per_core=32, kernel_floor_s=1e-6, dram_round_ns=-1.0)
    assert math.isfinite(A100.device.simt.dram_round_ns if A100.device.simt else math.nan)
