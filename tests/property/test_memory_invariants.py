"""Memory-model invariants (issue 5): compulsory traffic is a floor, less capacity or bandwidth is
never faster, and a tile one byte over the buffer takes the next mapping."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

import simsparse as ss
from simsparse.hw import System
from simsparse.models.memory.mapping import candidate_mappings, footprint

A100 = ss.load_hardware("a100-sxm")
H100 = ss.load_hardware("h100-sxm")
dims = st.sampled_from([1, 16, 100, 512, 2048, 8192])


def _with_level(hw: System, name: str, **changes: object) -> System:
    mem = tuple(dataclasses.replace(lv, **changes) if lv.name == name else lv for lv in hw.device.memory)  # type: ignore[arg-type]
    return dataclasses.replace(hw, device=dataclasses.replace(hw.device, memory=mem))


@settings(max_examples=30, deadline=None)
@given(m=dims, n=dims, k=dims, hw=st.sampled_from([A100, H100]), dtype=st.sampled_from(["bf16", "int8"]))
def test_dram_bytes_never_below_compulsory(m: int, n: int, k: int, hw: System, dtype: str) -> None:
    res = ss.simulate(hw, ss.gemm(m=m, n=n, k=k, dtype="bf16", weight_dtype=None if dtype == "bf16" else "int8"))
    op = res.ops.iloc[0]
    b = 2 if dtype == "bf16" else 1
    compulsory = m * k * 2 + k * n * b + m * n * 2
    assert op["bytes_hbm"] >= compulsory * (1 - 1e-9)


@settings(max_examples=20, deadline=None)
@given(m=dims, n=dims, k=dims, shrink=st.sampled_from([2, 4, 16]))
def test_smaller_l2_never_faster(m: int, n: int, k: int, shrink: int) -> None:
    small = _with_level(A100, "l2", capacity_bytes=A100.device.level("l2").capacity_bytes // shrink)
    wl = ss.gemm(m=m, n=n, k=k, dtype="bf16")
    assert ss.simulate(small, wl).summary()["latency_s"] >= ss.simulate(A100, wl).summary()["latency_s"] * (1 - 1e-9)


@settings(max_examples=20, deadline=None)
@given(m=dims, n=dims, k=dims, factor=st.sampled_from([1.5, 2.0]))
def test_more_l2_bandwidth_never_slower(m: int, n: int, k: int, factor: float) -> None:
    l2 = H100.device.level("l2")
    fast = _with_level(H100, "l2", read_gb_per_s=l2.read_gb_per_s * factor, write_gb_per_s=l2.write_gb_per_s * factor)
    wl = ss.gemm(m=m, n=n, k=k, dtype="bf16")
    assert ss.simulate(fast, wl).summary()["latency_s"] <= ss.simulate(H100, wl).summary()["latency_s"] * (1 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(tm=st.sampled_from([16, 32, 64, 128]), tn=st.sampled_from([16, 32, 64, 128]), a=st.sampled_from([1.0, 2.0]))
def test_tile_one_byte_over_capacity_takes_the_next_mapping(tm: int, tn: int, a: float) -> None:
    k = 4096
    need = footprint(tm, tn, 128, a, a)

    def shapes(capacity: int) -> set[tuple[int, int, int]]:
        cands = candidate_mappings(256, 256, k, 1, 1, 16, 16, a, a, capacity)
        return {(c.tile_m, c.tile_n, c.tile_k) for c in cands}

    assert (tm, tn, 128) in shapes(int(need))
    over = shapes(int(need) - 1)
    assert (tm, tn, 128) not in over
    assert (tm, tn, 64) in over  # the same output tile with the next (half-depth) K slice


@settings(max_examples=30, deadline=None)
@given(
    tokens=st.sampled_from([1, 7, 64, 1000, 4096]),
    width=st.sampled_from([128, 4096, 11008]),
    threads=st.sampled_from([32, 128, 1024]),
    rounds=st.integers(0, 16),
    factor=st.sampled_from([1.5, 2.0]),
    hw=st.sampled_from([A100, H100]),
)
def test_launch_shaped_streaming_op_bounds(
    tokens: int, width: int, threads: int, rounds: int, factor: float, hw: System
) -> None:
    """A streaming op timed from its launch shape: never below the roofline bound, never slower with
    more DRAM bandwidth, never faster with one more dependent round."""
    from simsparse.workload import Workload
    from simsparse.workload.op import Op

    def op(r: int) -> Workload:
        o = Op(name="row_loop", kind="elementwise", m=tokens, n=width, n_inputs=2, flops_per_element=5.0,
               dtype="fp16", a_dtype="fp16", b_dtype="fp16", c_dtype="fp16", launch_ctas=tokens,
               launch_threads_per_cta=threads, launch_dram_rounds=r, launch_cache_rounds=r // 2)  # fmt: skip
        return Workload(name="one", ops=(o,))

    t = ss.simulate(hw, op(rounds)).summary()["latency_s"]
    assert t >= ss.simulate(hw, op(rounds), fidelity="roofline").summary()["latency_s"] * (1 - 1e-9)
    assert ss.simulate(hw, op(rounds + 1)).summary()["latency_s"] >= t * (1 - 1e-9)
    dram = hw.device.dram
    fast = _with_level(
        hw, dram.name, read_gb_per_s=dram.read_gb_per_s * factor, write_gb_per_s=dram.write_gb_per_s * factor
    )
    assert ss.simulate(fast, op(rounds)).summary()["latency_s"] <= t * (1 + 1e-9)


@settings(max_examples=15, deadline=None)
@given(
    rows=st.sampled_from([1, 8, 32, 128, 1024]),
    n=st.sampled_from([1024, 4096, 14336]),
    k=st.sampled_from([4096, 14336]),
)
def test_grouped_gemm_never_splits_k(rows: int, n: int, k: int) -> None:
    """MoE grouped GEMM kernels schedule whole output tiles (no split-K), so the chosen tile count is
    the output tiles of the experts; a plain GEMM of the same shape may split K to fill the cores."""
    from simsparse.workload import Workload
    from simsparse.workload.op import Op

    experts = (rows, rows)
    op = Op(name="experts", kind="grouped_gemm", m=sum(experts), n=n, k=k, group_tokens=experts, dtype="bf16",
            a_dtype="bf16", b_dtype="bf16", c_dtype="bf16")  # fmt: skip
    row = ss.simulate(H100, Workload(name="moe", ops=(op,))).ops.iloc[0]
    output_tiles = sum(-(-t // int(row["tile_m"])) for t in experts) * -(-n // int(row["tile_n"]))
    assert row["n_tiles"] == output_tiles
