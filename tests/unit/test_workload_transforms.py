"""Transforms: pruning, quantization, activation sparsity, routing; the builders."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import simsparse.workload as w
from simsparse.errors import WorkloadError
from simsparse.workload import Workload, gemm, moe_layer, route_tokens


def _one(wl: Workload) -> w.Op:
    assert len(wl.ops) == 1
    return wl.ops[0]


def test_two_four_halves_values_and_adds_metadata() -> None:
    dense = _one(gemm(m=16, n=256, k=512, dtype="fp16"))
    sparse = _one(gemm(m=16, n=256, k=512, dtype="fp16", weight_pattern="2:4"))
    assert sparse.weight_bytes == dense.weight_bytes / 2 == 256 * 512
    nnz = 256 * 512 // 2
    assert sparse.weight_metadata_bytes == nnz * 2 / 8  # 2-bit index per kept value
    assert sparse.flops == dense.flops  # FLOPs stay dense-equivalent; the compute model applies the speedup
    assert _one(gemm(m=1, n=8, k=16, weight_pattern="1:4")).weight_metadata_bytes == 8 * 16 / 4 * 2 / 8
    assert _one(gemm(m=1, n=8, k=16, weight_pattern="2:8")).weight_metadata_bytes == 8 * 16 / 4 * 3 / 8
    assert _one(gemm(m=1, n=8, k=16, weight_pattern="unstructured:0.3")).weight_metadata_bytes == 8 * 16 / 8
    blk = _one(gemm(m=1, n=64, k=32, weight_pattern="block:16x16:0.5"))
    assert blk.b_density == 0.5 and blk.weight_metadata_bytes == 2 * 4 / 8


def test_prune_errors() -> None:
    with pytest.raises(WorkloadError, match="k divisible by 4"):
        gemm(m=1, n=8, k=10, weight_pattern="2:4")
    with pytest.raises(WorkloadError, match=r"density.*\(0, 1\]"):
        gemm(m=1, n=8, k=8, weight_pattern="unstructured:1.5")
    with pytest.raises(WorkloadError, match="did you mean 'unstructured'"):
        gemm(m=1, n=8, k=8, weight_pattern="unstructred:0.5")
    with pytest.raises(WorkloadError, match="block"):
        gemm(m=1, n=8, k=8, weight_pattern="block:16x16:0.5")
    wl = w.attention(batch=1, q_heads=4, kv_heads=4, head_dim=8, kv_len=16)
    with pytest.raises(WorkloadError, match="selects no weight GEMM"):
        wl.prune("2:4")
    wl = moe_layer(tokens=8, hidden=64, inter=128, n_experts=4, top_k=2)
    with pytest.raises(WorkloadError, match="did you mean 'experts'"):
        wl.prune("2:4", ops="expert")


def test_nvfp4_and_friends_bits_per_value() -> None:
    base = gemm(m=4, n=256, k=512, dtype="bf16")
    values = 256 * 512

    def bits(scheme: str, **kw: int) -> float:
        op = _one(base.quantize(scheme, **kw))
        return (op.weight_bytes + op.weight_scale_bytes) * 8 / values

    assert bits("nvfp4") == 4.5
    op = _one(base.quantize("nvfp4"))
    assert (op.b_dtype, op.scale_dtype, op.scale_group_size, op.a_dtype, op.a_scale_group_size) == (
        "nvfp4",
        "fp8_e4m3",
        16,
        "nvfp4",
        16,
    )
    assert bits("mxfp4") == 4.25
    assert bits("w4a16") == 4 + 16 / 128
    assert bits("w4a16", group_size=64) == 4 + 16 / 64
    assert bits("w8a16") == 8 + 16 / 512  # per output channel
    assert bits("fp8") == 8 + 32 / 512
    assert bits("fp8_block") == 8 + 32 / (128 * 128)
    with pytest.raises(WorkloadError, match="did you mean 'nvfp4'"):
        base.quantize("nvfp5")
    with pytest.raises(WorkloadError, match="fixes it at 16"):
        base.quantize("nvfp4", group_size=32)
    with pytest.raises(WorkloadError, match="does not divide k"):
        gemm(m=1, n=8, k=96).quantize("w4a16", group_size=64)


def test_fp8_block_partial_edge_blocks() -> None:
    op = _one(gemm(m=1, n=576, k=7168).quantize("fp8_block"))
    assert op.n_scales == 56 * 5  # DeepSeek-V3 kv_a_proj: 576 outputs -> 5 blocks of 128


def test_sparse_and_quantized_compose() -> None:
    op = _one(gemm(m=1, n=256, k=512, weight_pattern="2:4").quantize("w4a16"))
    assert op.weight_bytes == 256 * 512 / 2 * 0.5
    assert op.weight_metadata_bytes == 256 * 512 / 2 * 2 / 8
    assert op.weight_scale_bytes == 256 * 512 / 128 * 2


def test_kv_quantization() -> None:
    wl = w.attention(batch=2, q_heads=8, kv_heads=2, head_dim=128, kv_len=1024, kv_dtype="bf16")
    kv16 = wl.memory_per_device()["kv_cache_bytes"]
    assert kv16 == 2 * 2 * 2 * 1024 * 128 * 2
    q = wl.quantize("kv_int4")
    score = next(op for op in q.ops if op.name == "attn.score")
    assert score.b_dtype == "int4" and score.n_scales == 2 * 2 * 1024
    ctx = next(op for op in q.ops if op.name == "attn.context")
    assert ctx.n_scales == 2 * 2 * 1024
    assert q.memory_per_device()["kv_cache_bytes"] == kv16 / 4 + 2 * (2 * 2 * 1024) * 2
    fp8 = w.attention(batch=2, q_heads=8, kv_heads=2, head_dim=128, kv_len=1024).quantize("kv_fp8")
    assert fp8.memory_per_device()["kv_cache_bytes"] == kv16 / 2
    model = w.model_from_hf_config(Path(__file__).parent.parent / "data" / "hf" / "llama-3.1-8b" / "config.json")
    full = Workload.from_model(model, batch=2, context_len=1024)
    assert full.quantize("kv_fp8").summary()["kv_cache_bytes"] == full.summary()["kv_cache_bytes"] / 2
    assert full.quantize("kv_fp8").scenario.kv_dtype == "fp8_e4m3"  # type: ignore[union-attr]


def test_activation_sparsity() -> None:
    wl = moe_layer(tokens=8, hidden=64, inter=128, n_experts=4, top_k=2).activation_sparsity(0.3, ops="experts")
    assert {op.a_density for op in wl.ops if op.kind == "grouped_gemm"} == {0.3}
    assert next(op for op in wl.ops if op.name == "moe.router").a_density == 1.0
    for bad in (0.0, 1.5, -1):
        with pytest.raises(WorkloadError, match="density"):
            wl.activation_sparsity(bad)


def test_transforms_are_chainable_and_pure() -> None:
    base = gemm(m=8, n=64, k=64)
    new = base.prune("2:4", ops="all").quantize("w4a16", group_size=32).activation_sparsity(0.5, ops="all")
    assert _one(base).b_pattern == "dense" and _one(new).b_pattern == "2:4"
    assert len(new.transforms) == 2 + 1  # the builder's prune is not applied (dense)


# ---- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["balanced", "uniform", "power_law:1.2", "power_law:0.8", "power_law:1.0"])
@pytest.mark.parametrize(
    ("tokens", "experts", "k", "ep"), [(8, 8, 2, 8), (1000, 64, 6, 8), (3, 256, 8, 32), (512, 128, 8, 1)]
)
def test_routing_conserves_tokens(policy: str, tokens: int, experts: int, k: int, ep: int) -> None:
    r = route_tokens(policy, n_tokens=tokens, n_experts=experts, top_k=k, ep=ep, seed=3)
    assert sum(r.expert_tokens) == tokens * k
    assert max(r.expert_tokens) <= tokens
    assert sum(r.device_tokens) == tokens * k and len(r.device_tokens) == ep
    a = r.assignments
    assert a.shape == (tokens, k)
    assert all(len(set(row)) == k for row in a.tolist())  # no expert twice per token
    assert np.bincount(a.ravel(), minlength=experts).tolist() == list(r.expert_tokens)
    traffic = r.traffic_matrix
    assert traffic.shape == (ep, ep)
    # each token sends one copy per distinct destination device
    dev = np.asarray(r.expert_device)[a]
    assert traffic.sum() == sum(len(set(row)) for row in dev.tolist())


def test_balanced_routing_is_equal() -> None:
    r = route_tokens("balanced", n_tokens=64, n_experts=8, top_k=2)
    assert set(r.expert_tokens) == {16}
    r = route_tokens("balanced", n_tokens=5, n_experts=4, top_k=2)
    assert r.expert_tokens == (3, 3, 2, 2)


def test_power_law_reproducible_and_skewed() -> None:
    a = route_tokens("power_law", alpha=1.2, n_tokens=4096, n_experts=64, top_k=8, ep=8, seed=7)
    b = route_tokens("power_law:1.2", n_tokens=4096, n_experts=64, top_k=8, ep=8, seed=7)
    c = route_tokens("power_law", alpha=1.2, n_tokens=4096, n_experts=64, top_k=8, ep=8, seed=8)
    assert a == b and np.array_equal(a.assignments, b.assignments)
    assert a.expert_tokens != c.expert_tokens
    # AIConfigurator puts the most loaded EP group on device 0
    assert a.device_tokens[0] == max(a.device_tokens)
    top = sorted(a.expert_tokens, reverse=True)
    assert sum(top[: 64 // 5]) > 0.35 * sum(top)  # heavy head (balanced would be 20%)


def test_power_law_matches_aiconfigurator_definition() -> None:
    """Recompute AIConfigurator's ``_generate_power_law_distribution`` (collector/helper.py) step by
    step with the same generator: one draw, clamp at T, round-robin over EP groups of the overflow and
    of the rounding remainder, most loaded group swapped to group 0."""
    tokens, experts, k, ep, seed, alpha = 100, 16, 4, 4, 11, 1.2
    rng = np.random.default_rng(seed)
    u = rng.random(experts)
    xmin, xmax = 1.0, tokens * 0.8
    x = ((xmax ** (1 - alpha) - xmin ** (1 - alpha)) * u + xmin ** (1 - alpha)) ** (1 / (1 - alpha))
    counts = np.round(x / x.sum() * tokens * k).astype(np.int64)
    overflow = int(np.maximum(counts - tokens, 0).sum())
    c = np.minimum(counts, tokens).reshape(ep, -1)

    def round_robin(remaining: int, step: int) -> None:
        while remaining > 0:
            for r in range(ep):
                valid = np.nonzero(c[r] < tokens if step > 0 else c[r] > 0)[0]
                if valid.size and remaining > 0:
                    pick = np.argmin(c[r][valid]) if step > 0 else np.argmax(c[r][valid])
                    c[r, valid[pick]] += step
                    remaining -= 1

    round_robin(overflow, 1)
    delta = tokens * k - int(c.sum())
    round_robin(abs(delta), 1 if delta > 0 else -1)
    best = int(np.argmax(c.sum(axis=1)))
    c[[0, best]] = c[[best, 0]]
    got = w.power_law_expert_counts(tokens, experts, k, ep, alpha, seed)
    assert got.tolist() == c.reshape(-1).tolist()
    assert got.max() <= tokens and got.sum() == tokens * k


def test_power_law_clamps_hot_expert_at_tokens() -> None:
    """A heavy draw keeps its hot expert at T tokens (clamped, not redrawn): AIConfigurator's
    TensorRT-LLM MoE data at EP8 has rank 0 holding every token in most draws."""
    full = [w.power_law_expert_counts(4096, 8, 2, 8, 1.2, s)[0] == 4096 for s in range(20)]
    assert sum(full) >= 10


def test_route_trace_file(tmp_path: Path) -> None:
    ids = np.array([[0, 1], [1, 2], [3, 0], [2, 3]])
    np.save(tmp_path / "r.npy", ids)
    (tmp_path / "r.csv").write_text("0,1\n1,2\n3 0\n2, 3\n")
    wl = moe_layer(tokens=4, hidden=32, inter=64, n_experts=4, top_k=2, ep=2)
    for f in ("r.npy", "r.csv"):
        routed = wl.route("trace", path=tmp_path / f)
        assert routed.expert_tokens()["moe"] == (2, 2, 2, 2)
        assert routed.routing is not None and routed.routing.traffic_matrix.tolist() == [[2, 1], [1, 2]]
    (tmp_path / "bad.csv").write_text("0,0\n1,2\n3,0\n2,3\n")
    with pytest.raises(WorkloadError, match="row 1: expected 2 distinct"):
        wl.route("trace", path=tmp_path / "bad.csv")
    np.save(tmp_path / "short.npy", ids[:2])
    with pytest.raises(WorkloadError, match="at least 4 tokens"):
        wl.route("trace", path=tmp_path / "short.npy")


def test_routing_errors() -> None:
    with pytest.raises(WorkloadError, match="did you mean 'power_law'"):
        route_tokens("powerlaw", n_tokens=4, n_experts=4, top_k=2)
    with pytest.raises(WorkloadError, match="alpha"):
        route_tokens("power_law", n_tokens=4, n_experts=4, top_k=2)
    with pytest.raises(WorkloadError, match="no MoE"):
        gemm(m=1, n=8, k=8).route("balanced")


def test_moe_layer_builder_dispatch_traffic() -> None:
    wl = moe_layer(
        tokens=1024, hidden=4096, inter=14336, n_experts=8, top_k=2, dtype="fp8", routing="power_law:1.2", ep=8
    )
    up = next(op for op in wl.ops if op.name == "moe.experts.up_gate")
    assert sum(up.group_tokens) == 2048 and up.group_device == tuple(range(8)) and up.dtype == "fp8_e4m3"
    disp = next(op for op in wl.ops if op.name == "moe.dispatch")
    comb = next(op for op in wl.ops if op.name == "moe.combine")
    assert wl.routing is not None
    m = wl.routing.traffic_matrix
    assert disp.traffic_bytes == tuple(int(x) * 4096 for x in m.ravel())  # fp8: 1 byte per value
    assert comb.traffic_bytes == tuple(int(x) * 4096 for x in m.T.ravel())
    assert disp.n_bytes == max(m.sum(axis=1)) * 4096


def test_builders() -> None:
    op = _one(gemm(m=4096, n=4096, k=4096, dtype="fp16", weight_pattern="2:4"))
    assert op.flops == 2 * 4096**3 and op.b_density == 0.5
    att = w.attention(batch=64, q_heads=32, kv_heads=8, head_dim=128, kv_len=4096, phase="decode", kv_dtype="fp8")
    score = att.ops[0]
    assert (score.batch, score.m, score.k, score.n, score.b_dtype) == (64 * 8, 4, 128, 4096, "fp8_e4m3")
    assert sum(op.flops for op in att.ops if op.kind == "gemm") == 2 * 2 * 64 * 32 * 128 * 4096
    ar = _one(w.collective("all_reduce", n_bytes=64 << 20, n_devices=8))
    assert ar.collective == "all_reduce" and ar.n_bytes == 64 << 20
    with pytest.raises(WorkloadError, match="did you mean 'all_reduce'"):
        w.collective("allreduce", 1, 2)


# ---- masks --------------------------------------------------------------------------------------


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_prune_from_mask_and_weights(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    k, n = 128, 96
    mask = rng.random((k, n)) < 0.3
    np.save(tmp_path / "m.npy", mask)
    op = _one(gemm(m=4, n=n, k=k).prune(f"mask:{tmp_path / 'm.npy'}", ops="all", stats_block=(32, 32)))
    assert op.b_density == mask.sum() / mask.size and op.b_pattern == "unstructured"
    assert op.b_block_shape == (32, 32)
    expected = mask.reshape(4, 32, 3, 32).sum(axis=(1, 3))
    assert op.b_block_nnz == tuple(expected.ravel().tolist())
    # agrees with the kernels' reference
    from simsparse.kernels.sparsity import block_nnz_reference

    assert np.array_equal(w.block_nnz(mask, 32, 32), block_nnz_reference(mask, 32, 32))
    # real weights (PyTorch layout out x in = n x k), magnitude-pruned to 2:4
    weights = rng.standard_normal((n, k)).astype(np.float32)
    _write_safetensors(tmp_path / "w.safetensors", {"layer.weight": weights})
    op = _one(gemm(m=4, n=n, k=k).prune(f"mask:{tmp_path / 'w.safetensors'}:2:4", ops="all"))
    assert op.b_pattern == "2:4" and op.b_density == 0.5
    np.savez(tmp_path / "w.npz", a=weights.T)
    op2 = _one(
        gemm(m=4, n=n, k=k).prune(f"mask:{tmp_path / 'w.npz'}:unstructured:0.25", ops="all", stats_block=(64, 48))
    )
    assert op2.b_density == round(0.25 * k * n) / (k * n)
    kept = np.zeros(k * n, dtype=bool)
    kept[np.argsort(-np.abs(weights.T.astype(np.float64)).ravel(), kind="stable")[: round(0.25 * k * n)]] = True
    assert op2.b_block_nnz == tuple(kept.reshape(2, 64, 2, 48).sum(axis=(1, 3)).ravel().tolist())
    with pytest.raises(WorkloadError, match="needs a k x n = 64x96"):
        gemm(m=4, n=n, k=64).prune(f"mask:{tmp_path / 'm.npy'}", ops="all")


def test_magnitude_nm_keeps_largest() -> None:
    wts = np.array([[1.0, -5.0], [4.0, 0.1], [-3.0, 2.0], [0.5, 7.0]])  # k=4, n=2
    mask = w.magnitude_mask(wts, w.parse_prune_pattern("2:4"))
    assert mask[:, 0].tolist() == [False, True, True, False]
    assert mask[:, 1].tolist() == [True, False, False, True]


def test_activation_quantization_kernels() -> None:
    import simsparse as ss

    base = ss.Workload.from_model(ss.load_model("llama-3.1-8b"), phase="decode", batch=4, context_len=128)
    fused = base.quantize("fp8")
    assert len(fused.ops) == len(base.ops)  # the producing kernels write the quantized activation
    kern = base.quantize("fp8", act_quant="kernel")
    dyn = base.quantize("fp8", act_quant="dynamic_tensor")
    weight_gemms = [op for op in base.ops if op.kind == "gemm" and op.b_is_weight and op.name != "lm_head"]
    assert len(kern.ops) == len(base.ops) + len(weight_gemms)
    assert len(dyn.ops) == len(base.ops) + 2 * len(weight_gemms)
    names = [op.name for op in kern.ops]
    q = kern.ops[names.index("attn.qkv.act_quant")]
    gemm_op = kern.ops[names.index("attn.qkv")]
    assert names.index("attn.qkv.act_quant") == names.index("attn.qkv") - 1
    # reads the bf16 activation once and writes it in fp8, per layer
    assert (q.kind, q.m, q.n, q.a_dtype, q.c_dtype, q.repeat) == ("elementwise", 4, 4096, "bf16", "fp8_e4m3", 32)
    assert gemm_op.a_dtype == "fp8_e4m3"
    # weight-only schemes quantize no activation, whatever act_quant says
    assert len(base.quantize("w4a16", act_quant="dynamic_tensor").ops) == len(base.ops)
    # each extra kernel costs time
    hw = ss.load_hardware("h100-sxm")
    t = [float(ss.simulate(hw, wl).summary()["latency_s"]) for wl in (fused, kern, dyn)]
    assert t[0] < t[1] < t[2]
    with pytest.raises(WorkloadError, match="act_quant: expected one of fused, kernel, dynamic_tensor"):
        base.quantize("fp8", act_quant="dynamic")


def test_activation_quantization_of_expert_parallel_experts_counts_rows_per_device() -> None:
    import simsparse as ss

    wl = ss.Workload.from_model(ss.load_model("mixtral-8x7b"), phase="decode", batch=8, context_len=128, ep=8)
    ops = {op.name: op for op in wl.quantize("fp8", act_quant="kernel").ops}
    up = ops["moe.experts.up_gate"]
    assert ops["moe.experts.up_gate.act_quant"].m == -(-up.m // 8) == ops["moe.experts.act"].m


def test_fp8_block_computes_in_the_block_scaled_dtype() -> None:
    import simsparse as ss

    op = _one(gemm(m=4096, n=4096, k=4096).quantize("fp8_block"))
    assert (op.dtype, op.a_dtype, op.b_dtype) == ("fp8_block", "fp8_e4m3", "fp8_block")
    # presets give block-scaled fp8 its own measured sustained fraction (H100: lower than per-tensor fp8)
    hw = ss.load_hardware("h100-sxm")
    unit = hw.device.core.matrix_unit
    assert unit.sustained_fraction["fp8_block"] < unit.sustained_fraction["fp8_e4m3"]
    t_block = float(ss.simulate(hw, gemm(m=4096, n=4096, k=4096).quantize("fp8_block")).summary()["latency_s"])
    t_fp8 = float(ss.simulate(hw, gemm(m=4096, n=4096, k=4096).quantize("fp8")).summary()["latency_s"])
    assert t_block > t_fp8
    for preset in ("h200-sxm", "b200", "mi300x"):  # every preset with fp8 runs the block-scaled scheme
        assert (
            float(
                ss.simulate(ss.load_hardware(preset), gemm(m=64, n=512, k=512).quantize("fp8_block")).summary()[
                    "latency_s"
                ]
            )
            > 0
        )
