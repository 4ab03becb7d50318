"""Vector work on the matrix unit's own lanes (``VectorUnit.shares_matrix_datapath``, a CPU) adds to the
MACs of a GEMM tile; beside a separate pipe (GPU CUDA cores next to tensor cores) it overlaps them. The
mapper sees that vector work too, so it amortizes per-tile dequantization over taller tiles."""

from __future__ import annotations

import dataclasses

import pytest

import simsparse as ss
from simsparse.engine.timing import time_compute_op, vector_rate
from simsparse.hw import System
from simsparse.validation.hostcpu_system import build_host_cpu_system
from simsparse.workload import Op, Workload


def _shared(system: System, shared: bool = True) -> System:
    dev = system.device
    vu = dataclasses.replace(dev.core.vector_unit, shares_matrix_datapath=shared)
    return dataclasses.replace(
        system, device=dataclasses.replace(dev, core=dataclasses.replace(dev.core, vector_unit=vu))
    )


def _w4a16(m: int, n: int, k: int, b_dtype: str = "int4", dtype: str = "fp32") -> Op:
    fields = {"scale_group_size": 128, "scale_dtype": "fp16"} if b_dtype == "int4" else {}
    return Op(
        name="w", kind="gemm", m=m, n=n, k=k, dtype=dtype, a_dtype="fp16", b_dtype=b_dtype, c_dtype=dtype, **fields
    )


@pytest.fixture(scope="module")
def cpu() -> System:
    return build_host_cpu_system(dram_gb_per_s=20.0, dram_source="test", kernel_launch_s=0.0, matrix_fraction=0.1)


def test_a_single_tile_adds_its_dequantization_to_its_macs(cpu: System) -> None:
    lanes = cpu.device.core.matrix_unit.array_cols
    quant = time_compute_op(cpu.device, _w4a16(1, lanes, 128))
    plain = time_compute_op(cpu.device, _w4a16(1, lanes, 128, b_dtype="fp32"))
    assert quant.n_tiles == plain.n_tiles == 1 and quant.vector_flops == 2.0 * lanes * 128
    dequant_cycles = quant.vector_flops / vector_rate(cpu.device, "fp32")
    assert quant.compute_cycles == pytest.approx(plain.compute_cycles + dequant_cycles, rel=1e-12)


def test_shared_lanes_are_never_faster_and_change_nothing_without_vector_work() -> None:
    gpu = ss.load_hardware("a100-sxm")
    for op in (_w4a16(64, 4096, 4096, dtype="fp16"), _w4a16(1, 4096, 4096, dtype="fp16")):
        apart, shared = (time_compute_op(s.device, op) for s in (gpu, _shared(gpu)))
        assert shared.compute_cycles >= apart.compute_cycles
    dense = Op(name="d", kind="gemm", m=512, n=4096, k=4096, dtype="bf16")
    a, b = (ss.simulate(s, Workload(name="d", ops=(dense,))) for s in (gpu, _shared(gpu)))
    assert a.summary()["latency_s"] == b.summary()["latency_s"]


def test_the_mapper_amortizes_dequantization_over_the_rows_of_a_tile(cpu: System) -> None:
    # a one-row SIMD "array": with the dequantization counted per tile, one tile of all 16 rows
    # dequantizes each weight once, sixteen one-row tiles would do it sixteen times
    op = _w4a16(16, 512, 512)
    row = ss.simulate(cpu, Workload(name="w", ops=(op,))).ops.iloc[0]
    assert row["tile_m"] == 16
    one = time_compute_op(cpu.device, _w4a16(1, 512, 512))
    many = time_compute_op(cpu.device, op)
    assert many.vector_flops == pytest.approx(one.vector_flops)
