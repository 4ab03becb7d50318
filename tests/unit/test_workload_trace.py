"""The trace table: columns, Parquet/CSV round trips, validation of hand-written traces, and the
issue's "done when" Mixtral trace checked against numbers derived by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsparse.config.models import load_workload, trace_from_args
from simsparse.errors import WorkloadError
from simsparse.workload import OP_COLUMNS, Workload, load_trace, moe_layer, write_trace


def _rich_workload() -> Workload:
    wl = load_workload("deepseek-v3", batch=16, context_len=512, ep=16)
    return (
        wl.prune("2:4", ops="experts").quantize("fp8_block").quantize("kv_int4").route("power_law", alpha=1.2, seed=3)
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip_is_lossless(tmp_path: Path, suffix: str) -> None:
    wl = _rich_workload()
    p = tmp_path / f"t{suffix}"
    write_trace(wl, p)
    back = load_trace(p)
    assert back == wl  # ops, model, scenario, name and transforms (routing details are not compared)
    assert back.ops == wl.ops
    df = wl.to_trace()
    assert tuple(df.columns) == OP_COLUMNS and len(df) == len(wl.ops)
    # writing the DataFrame gives the same file contents back
    write_trace(df, tmp_path / f"df{suffix}")
    assert load_trace(tmp_path / f"df{suffix}").ops == wl.ops


def test_round_trip_keeps_block_statistics_and_floats(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    mask = rng.random((256, 96)) < 1 / 3
    np.save(tmp_path / "m.npy", mask)
    from simsparse.workload import gemm

    wl = gemm(m=3, n=96, k=256, weight_pattern=f"mask:{tmp_path / 'm.npy'}").activation_sparsity(0.1 + 0.2, ops="all")
    for suffix in (".csv", ".parquet"):
        write_trace(wl, tmp_path / f"x{suffix}")
        back = load_trace(tmp_path / f"x{suffix}")
        assert back.ops == wl.ops
        assert back.ops[0].a_density == 0.1 + 0.2 and back.ops[0].b_density == mask.mean()


def test_csv_is_readable_and_tuples_space_separated(tmp_path: Path) -> None:
    wl = moe_layer(tokens=8, hidden=32, inter=64, n_experts=4, top_k=2, ep=2)
    write_trace(wl, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("# simsparse ")
    assert lines[1] == ",".join(OP_COLUMNS)
    df = pd.read_csv(tmp_path / "t.csv", skiprows=1, dtype=str, keep_default_na=False)
    up = df[df["name"] == "moe.experts.up_gate"].iloc[0]
    assert up["group_tokens"] == "4 4 4 4" and up["group_device"] == "0 0 1 1"


def test_hand_written_trace_defaults_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "hand.csv"
    p.write_text(
        "name,kind,m,n,k,b_pattern,b_density\nqkv,gemm,1,6144,4096,2:4,0.5\nnorm,elementwise,1,4096,0,dense,1\n"
    )
    wl = load_trace(p)
    assert wl.name == "hand" and wl.model is None
    assert wl.ops[0].b_pattern == "2:4" and wl.ops[0].dtype == "bf16" and wl.ops[1].k == 0
    p.write_text("name,kind,m,n,k\nqkv,gemm,1,6144,4096\nbad,gemm,1,abc,4\n")
    with pytest.raises(WorkloadError, match=r"hand.csv: row 2, column 'n': expected an integer, got 'abc'"):
        load_trace(p)
    p.write_text("name,kind,m,n,k\nqkv,gemm,1,6144,4096\nbad,gemm,1,0,4\n")
    with pytest.raises(WorkloadError, match=r"row 2, column 'n'"):
        load_trace(p)
    p.write_text("name,kind,m,n,kk\nqkv,gemm,1,6144,4096\n")
    with pytest.raises(WorkloadError, match=r"column 'kk'.*did you mean 'k'"):
        load_trace(p)
    p.write_text("name,kind,group_tokens,m,n,k\nx,grouped_gemm,1 2 x,3,4,4\n")
    with pytest.raises(WorkloadError, match=r"row 1, column 'group_tokens'"):
        load_trace(p)
    p.write_text("name,kind,m,n,k\nx,matmul,1,2,3\n")
    with pytest.raises(WorkloadError, match=r"row 1, column 'kind'"):
        load_trace(p)
    with pytest.raises(WorkloadError, match=r"parquet or \.csv"):
        write_trace(wl, tmp_path / "t.txt")
    with pytest.raises(WorkloadError, match="existing"):
        load_trace(tmp_path / "missing.parquet")


def test_write_is_atomic(tmp_path: Path) -> None:
    wl = moe_layer(tokens=8, hidden=32, inter=64, n_experts=4, top_k=2)
    write_trace(wl, tmp_path / "t.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary file left behind


# ---- the "done when" trace -------------------------------------------------------------------


def _aic_power_law(tokens: int, experts: int, k: int, alpha: float, seed: int) -> list[int]:
    """AIConfigurator's power-law counts (collector/helper.py ``_generate_power_law_distribution``),
    written out again for the test (ep=1): one draw, clamped at ``tokens`` per expert, the overflow and
    the rounding remainder handed one token at a time to the least (taken from the most) loaded
    expert with room, lowest index on ties."""
    rng = np.random.default_rng(seed)
    xmin, xmax = (1.0, tokens * 0.8) if tokens * k > experts else (0.01, 2.0)
    u = rng.random(experts)
    x = ((xmax ** (1 - alpha) - xmin ** (1 - alpha)) * u + xmin ** (1 - alpha)) ** (1 / (1 - alpha))
    c = [int(v) for v in np.round(x / x.sum() * tokens * k)]
    overflow = sum(max(v - tokens, 0) for v in c)
    c = [min(v, tokens) for v in c]
    for _ in range(overflow):
        room = [e for e in range(experts) if c[e] < tokens]
        c[min(room, key=lambda e: c[e])] += 1
    delta = tokens * k - sum(c)
    for _ in range(abs(delta)):
        if delta > 0:
            room = [e for e in range(experts) if c[e] < tokens]
            c[min(room, key=lambda e: c[e])] += 1
        else:
            full = [e for e in range(experts) if c[e] > 0]
            c[max(full, key=lambda e: (c[e], -e))] -= 1
    return c


def test_mixtral_done_when_trace_by_hand(tmp_path: Path) -> None:
    wl = trace_from_args("mixtral-8x7b", "decode", 8, 2048, 1, 1, 1, "2:4", "w4a16", None, "power_law:1.2", 0)
    p = tmp_path / "t.parquet"
    write_trace(wl, p)
    wl = load_trace(p)

    # per-expert token counts: 8 tokens x top-2 over 8 experts, AIConfigurator's power law, seed 0
    counts = _aic_power_law(8, 8, 2, 1.2, 0)
    assert sum(counts) == 16
    assert wl.expert_tokens() == {"decoder": tuple(counts)}

    h, kvh, hd, heads, inter, vocab, layers, experts = 4096, 8, 128, 32, 14336, 32000, 32, 8
    b, ctx = 8, 2048
    by = {op.name: op for op in wl.ops}
    # FLOPs of the matrix products, one decode step
    per_layer = (
        2 * b * h * (heads + 2 * kvh) * hd  # qkv
        + 2 * 2 * b * heads * hd * ctx  # score + context
        + 2 * b * heads * hd * h  # o
        + 2 * b * h * experts  # router
        + 2 * (b * 2) * h * 2 * inter  # experts up+gate: 16 token-rows
        + 2 * (b * 2) * inter * h  # experts down
    )
    matmul = layers * per_layer + 2 * b * h * vocab
    assert sum(op.flops * op.repeat for op in wl.ops if op.kind in ("gemm", "grouped_gemm")) == matmul

    # weight bytes: 2:4 halves the values of every linear layer but the router and LM head, w4a16 makes
    # them int4 with an fp16 scale per 128 values along k; 2-bit index metadata per kept value
    pruned = layers * (h * (heads + 2 * kvh) * hd + heads * hd * h + experts * (h * 2 * inter + inter * h))
    values = pruned / 2 * 4 / 8
    metadata = pruned / 2 * 2 / 8
    scales = pruned / 128 * 2
    dense16 = (layers * h * experts + 2 * vocab * h) * 2  # router, embedding, LM head in bf16
    mem = wl.memory_per_device()
    assert mem["weights_bytes"] == values + metadata + scales + dense16
    assert by["moe.experts.down"].weight_bytes == experts * inter * h / 2 / 2
    assert by["moe.experts.down"].weight_metadata_bytes == experts * inter * h / 2 * 2 / 8
    assert by["moe.experts.down"].weight_scale_bytes == experts * inter // 128 * h * 2
    # KV cache: 32 layers x 8 sequences x 2048 tokens x (K and V: 8 heads x 128) x bf16
    assert mem["kv_cache_bytes"] == layers * b * ctx * 2 * kvh * hd * 2
    s = wl.summary()
    assert s["n_params_total"] == wl.model.n_params  # type: ignore[union-attr]
    assert s["weight_bytes"] == mem["weights_bytes"] and s["n_ops"] == len(wl.ops)
