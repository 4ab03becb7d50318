"""Channel-level DRAM (``simsparse.models.memory.channels``, ``MemoryLevel.channels``): whole bursts per
contiguous chunk, and a stream drawing the share of the bandwidth that its channels give. Exact values
on small cases; invariants with hypothesis; the shipped GPU predictions do not move for large ops."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsparse as ss
from simsparse.engine.timing import time_compute_op
from simsparse.hw import Device, DramChannels, MemoryLevel, System
from simsparse.models.memory.channels import burst_bytes, channel_gb_per_s, channel_share, moved_bytes
from simsparse.workload import Op


def _level(n_channels: int = 4, burst: int = 32, interleave: int = 0) -> MemoryLevel:
    return MemoryLevel(
        name="hbm",
        kind="dram",
        scope="device",
        capacity_bytes=1 << 30,
        read_gb_per_s=100.0,
        write_gb_per_s=100.0,
        channels=DramChannels(n_channels=n_channels, burst_bytes=burst, interleave_bytes=interleave),
    )


def _with_channels(device: Device, channels: DramChannels | None, gb_per_s: float | None = None) -> Device:
    dram = device.dram
    new = dataclasses.replace(
        dram,
        channels=channels,
        read_gb_per_s=gb_per_s or dram.read_gb_per_s,
        write_gb_per_s=gb_per_s or dram.write_gb_per_s,
    )
    return dataclasses.replace(device, memory=(*device.memory[:-1], new))


@pytest.fixture(scope="module")
def a100() -> System:
    return ss.load_hardware("a100-sxm")


def test_bursts_round_each_chunk_up() -> None:
    lv = _level(burst=32)
    assert [burst_bytes(lv, c) for c in (1, 31, 32, 33, 64, 65)] == [32, 32, 32, 64, 64, 96]
    assert moved_bytes(lv, [(20.0, 7.0), (28.0, 1.0)]) == 7 * 32 + 32
    plain = dataclasses.replace(lv, channels=None)
    assert moved_bytes(plain, [(20.0, 7.0), (28.0, 1.0)]) == 7 * 20 + 28


def test_a_stream_draws_the_share_of_the_channels_it_covers() -> None:
    lv = _level(n_channels=4, burst=32)
    assert channel_gb_per_s(lv) == 25.0
    assert channel_share(lv, [(64.0, 1.0)]) == 0.5  # two bursts on two channels
    assert channel_share(lv, [(32.0, 3.0)]) == 0.75
    assert channel_share(lv, [(32.0, 2.0), (10.0, 1.0)]) == 0.75
    assert channel_share(lv, [(1 << 20, 1.0)]) == 1.0
    assert channel_share(_level(n_channels=4, burst=32, interleave=64), [(64.0, 1.0)]) == 0.25
    assert channel_share(dataclasses.replace(lv, channels=None), [(1.0, 1.0)]) == 1.0


def test_an_embedding_gather_moves_whole_bursts(a100: System) -> None:
    # 7 ids over a 1000-row, 10-wide fp16 table: 20 B per row -> one 32 B burst each, plus 28 B of int32
    # ids. The table (20 kB) fits in the L2, so only the distinct rows are read: 1000 (1 - 0.999^7)
    op = Op(name="emb", kind="embedding", m=7, n=10, k=1000, dtype="fp16", b_dtype="fp16", c_dtype="fp16")
    with_ch = time_compute_op(a100.device, op)
    plain = time_compute_op(_with_channels(a100.device, None), op)
    distinct = 1000 * (1 - 0.999**7)
    assert distinct == pytest.approx(6.979, abs=1e-3)
    assert plain.level_read_bytes["hbm"] == pytest.approx(distinct * 20 + 28, rel=1e-12)
    assert with_ch.level_read_bytes["hbm"] == pytest.approx(distinct * 32 + 32, rel=1e-12)
    assert with_ch.level_write_bytes["hbm"] == 160  # the 140 B output in whole bursts
    assert with_ch.cycles > plain.cycles


def test_a_small_stream_on_few_channels_takes_longer_than_the_same_bytes_spread(a100: System) -> None:
    # two 128 B inputs are 8 bursts: they keep 8 of the 80 channels busy and read at 8/80 of the bandwidth
    dev = _with_channels(a100.device, DramChannels(n_channels=80, burst_bytes=32))
    small = Op(name="add", kind="elementwise", m=1, n=64, dtype="fp16", n_inputs=2)
    spread = dataclasses.replace(dev, memory=(*dev.memory[:-1], dataclasses.replace(dev.dram, channels=None)))
    t_ch, t_plain = time_compute_op(dev, small), time_compute_op(spread, small)
    assert t_ch.level_read_bytes == t_plain.level_read_bytes  # 2 x 128 B: already whole bursts
    assert t_ch.cycles > t_plain.cycles


def test_large_gpu_ops_do_not_notice_the_channels(a100: System) -> None:
    plain = _with_channels(a100.device, None)
    for op in (
        Op(name="g", kind="gemm", m=4096, n=4096, k=4096, dtype="bf16"),
        Op(
            name="v",
            kind="gemm",
            m=1,
            n=4096,
            k=4096,
            dtype="fp16",
            a_dtype="fp16",
            b_dtype="int4",
            scale_group_size=128,
            scale_dtype="fp16",
        ),
        Op(name="e", kind="elementwise", m=4096, n=4096, dtype="fp16", n_inputs=2),
    ):
        assert time_compute_op(a100.device, op).cycles == pytest.approx(time_compute_op(plain, op).cycles, rel=1e-9)


def test_systolic_output_slices_are_not_padded(a100: System) -> None:
    # 100 output columns over 64 systolic cores at ceil(100 / 64) = 2 columns each: 50 cores have a
    # slice, and together they write 100 columns, not 64 x 2 = 128
    base = ss.load_hardware("systolic-32x32").device
    dev = dataclasses.replace(base, n_cores=64)
    op = Op(name="g", kind="gemm", m=8, n=100, k=64, dtype="int8", c_dtype="int32")
    assert time_compute_op(dev, op).level_write_bytes[dev.dram.name] == 8 * 100 * 4
    # 7 columns over 3 cores: slices of 3, 3 and 1 column (12, 12 and 4 bytes), each a whole 32 B burst
    small = dataclasses.replace(_with_channels(dev, DramChannels(n_channels=4, burst_bytes=32)), n_cores=3)
    op7 = op.replace(n=7)
    assert time_compute_op(small, op7).level_write_bytes[dev.dram.name] == 8 * 3 * 32


OPS = st.sampled_from(
    [
        Op(name="e", kind="elementwise", m=3, n=17, dtype="fp16", n_inputs=2),
        Op(name="emb", kind="embedding", m=5, n=24, k=1000, dtype="fp16", b_dtype="fp16", c_dtype="fp16"),
        Op(name="g", kind="gemm", m=2, n=48, k=40, dtype="fp16"),
        Op(name="g2", kind="gemm", m=64, n=256, k=96, dtype="bf16"),
    ]
)


@settings(max_examples=30, deadline=None)
@given(op=OPS, n=st.integers(1, 64), burst=st.sampled_from([32, 64]), more=st.integers(1, 8))
def test_channels_never_speed_an_op_up_and_more_of_them_never_slow_it(
    a100: System, op: Op, n: int, burst: int, more: int
) -> None:
    per_channel = 20.0
    base = _with_channels(a100.device, None, gb_per_s=per_channel * n)
    few = _with_channels(a100.device, DramChannels(n_channels=n, burst_bytes=burst), gb_per_s=per_channel * n)
    many = _with_channels(
        a100.device, DramChannels(n_channels=n * (1 + more), burst_bytes=burst), gb_per_s=per_channel * n * (1 + more)
    )
    t_base, t_few, t_many = (time_compute_op(d, op) for d in (base, few, many))
    assert t_few.cycles >= t_base.cycles * (1 - 1e-12)
    # at the same bandwidth per channel, more channels never slower
    assert t_many.cycles <= t_few.cycles * (1 + 1e-12)
    # bytes moved never below the exact bytes
    assert t_few.level_read_bytes["hbm"] >= t_base.level_read_bytes["hbm"] - 1e-9
    assert t_few.level_write_bytes["hbm"] >= t_base.level_write_bytes["hbm"] - 1e-9


@settings(max_examples=30, deadline=None)
@given(op=OPS, n=st.integers(1, 64))
def test_a_coarser_burst_is_never_faster(a100: System, op: Op, n: int) -> None:
    fine = _with_channels(a100.device, DramChannels(n_channels=n, burst_bytes=32))
    coarse = _with_channels(a100.device, DramChannels(n_channels=n, burst_bytes=64))
    assert time_compute_op(coarse, op).cycles >= time_compute_op(fine, op).cycles * (1 - 1e-12)


def test_bad_channel_organizations_are_rejected_naming_the_field() -> None:
    with pytest.raises(ss.ConfigError, match=r"n_channels: expected an integer >= 1, got 0"):
        DramChannels(n_channels=0, burst_bytes=32)
    with pytest.raises(ss.ConfigError, match=r"burst_bytes: expected an integer >= 1, got -32"):
        DramChannels(n_channels=8, burst_bytes=-32)
    with pytest.raises(ss.ConfigError, match=r"interleave_bytes: expected 0 or a whole multiple of burst_bytes"):
        DramChannels(n_channels=8, burst_bytes=32, interleave_bytes=16)
    with pytest.raises(ss.ConfigError, match=r"channels: expected a channel organization"):
        dataclasses.replace(_level(), channels=8)  # type: ignore[arg-type]
    with pytest.raises(ss.ConfigError, match=r"channels: expected no channel organization on a 'cache' level"):
        dataclasses.replace(_level(), kind="cache")
