"""Model zoo: parameter counts, YAML and HF config.json agree, FLOPs per token."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simsparse.config.models import dump_model, load_model, load_workload, model_presets
from simsparse.errors import ConfigError, WorkloadError
from simsparse.workload import ModelSpec, Workload, model_from_hf_config

HF = Path(__file__).parent.parent / "data" / "hf"
PRESETS = [
    "llama-2-7b",
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "mixtral-8x7b",
    "qwen3-30b-a3b",
    "deepseek-v3",
    "gpt-3-175b",
]


def test_presets_shipped() -> None:
    assert set(PRESETS) <= set(model_presets())


@pytest.mark.parametrize(
    ("name", "total", "active", "tol_active"),
    [
        ("llama-2-7b", 6.74e9, None, 0.01),
        ("llama-3.1-8b", 8.03e9, None, 0.01),
        ("llama-3.1-70b", 70.6e9, None, 0.01),
        ("gpt-3-175b", 175e9, None, 0.01),
        ("mixtral-8x7b", 46.7e9, 12.9e9, 0.01),
        # Published active counts are rounded to two digits (37B, 3.3B): the exact counts are
        # 37.55B and 3.353B (every active weight incl. embedding and LM head), i.e. within the
        # rounding of the published figure (half a unit of its last digit, ~1.6%), not within 1%.
        ("deepseek-v3", 671e9, 37e9, 0.016),
        ("qwen3-30b-a3b", 30.5e9, 3.3e9, 0.017),
    ],
)
def test_parameter_counts(name: str, total: float, active: float | None, tol_active: float) -> None:
    m = load_model(name)
    assert m.n_params == pytest.approx(total, rel=0.01)
    if active is None:
        assert m.n_params_active == m.n_params
    else:
        assert m.n_params_active == pytest.approx(active, rel=tol_active)
    s = Workload.from_model(m, context_len=16).summary()
    assert s["n_params_total"] == m.n_params and s["n_params_active"] == m.n_params_active


def test_deepseek_v3_exact_counts() -> None:
    m = load_model("deepseek-v3")
    h = 7168
    mla = h * 1536 + 1536 + 1536 * 128 * 192 + h * 576 + 512 + 512 * 128 * 256 + 128 * 128 * h
    expert = 3 * h * 2048
    layer = mla + 2 * h
    total = 129280 * h * 2 + h + 61 * layer + 3 * 3 * h * 18432 + 58 * (256 * expert + expert + 256 * h)
    active = 129280 * h * 2 + h + 61 * layer + 3 * 3 * h * 18432 + 58 * (9 * expert + 256 * h)
    assert m.n_params == total and m.n_params_active == active
    assert m.attention == "mla" and m.n_moe_layers == 58 and m.n_dense_layers == 3


@pytest.mark.parametrize("name", PRESETS)
def test_yaml_and_hf_config_agree(name: str) -> None:
    from_yaml = load_model(name)
    from_hf = model_from_hf_config(HF / name / "config.json")
    assert dataclasses.replace(from_hf, sources=from_yaml.sources) == from_yaml
    assert from_yaml.sources, "every preset cites its sources"
    wl = Workload.from_hf_config(HF / name / "config.json", phase="decode", batch=2, context_len=64)
    assert wl.model == from_hf and wl.ops


@pytest.mark.parametrize("name", PRESETS)
def test_yaml_round_trip(name: str, tmp_path: Path) -> None:
    m = load_model(name)
    p = tmp_path / f"{name}.yaml"
    p.write_text(dump_model(m))
    assert load_model(p) == m


def test_yaml_errors_name_file_line_field(tmp_path: Path) -> None:
    text = dump_model(load_model("mixtral-8x7b")).replace("top_k: 2", "top_k: 9")
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_model(p)
    line = text.splitlines().index("top_k: 9") + 1
    assert f"bad.yaml:{line}: top_k" in str(ei.value)
    p.write_text(text.replace("top_k: 9", "top_k: 2").replace("n_layers:", "n_layerz:"))
    with pytest.raises(ConfigError, match=r"n_layerz.*did you mean 'n_layers'"):
        load_model(p)
    with pytest.raises(ConfigError, match="did you mean 'mixtral-8x7b'"):
        load_model("mixtral-8x7")


def test_hf_errors_name_the_field(tmp_path: Path) -> None:
    cfg = json.loads((HF / "llama-3.1-8b" / "config.json").read_text())
    del cfg["num_hidden_layers"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorkloadError, match="num_hidden_layers: missing"):
        model_from_hf_config(tmp_path / "config.json")
    cfg = {"model_type": "bert", "hidden_size": 768}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorkloadError, match=r"model_type: .*'bert'"):
        Workload.from_hf_config(tmp_path)
    cfg = json.loads((HF / "mixtral-8x7b" / "config.json").read_text())
    cfg["num_experts_per_tok"] = "two"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorkloadError, match="num_experts_per_tok: expected an integer"):
        model_from_hf_config(tmp_path / "config.json")


def _matmul_flops(wl: Workload) -> float:
    return sum(op.flops * op.repeat for op in wl.ops if op.kind in ("gemm", "grouped_gemm"))


@pytest.mark.parametrize("name", ["llama-3.1-8b", "mixtral-8x7b", "qwen3-30b-a3b", "gpt-3-175b", "deepseek-v3"])
def test_decode_flops_per_token(name: str) -> None:
    """FLOPs per token = 2 x (active matmul params) + attention (score + context)."""
    m = load_model(name)
    ctx, batch = 1024, 4
    wl = load_workload(name, phase="decode", batch=batch, context_len=ctx)
    # active params that are matmul weights: all but norms, biases, the embedding gather(s)
    h = m.hidden_size
    norms = (2 * m.n_layers + 1) * h * (2 if m.norm == "layernorm" else 1)
    weights = m.n_params_active - m.n_params_embedding - norms
    if m.attention == "mla":
        weights -= m.n_layers * (m.q_lora_rank + m.kv_lora_rank)  # MLA's q_a / kv_a norms
        attn = 2 * m.n_heads * ((m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank) * ctx
    else:
        biases = (m.n_heads + 2 * m.n_kv_heads) * m.head_dim * m.qkv_bias + h * m.o_bias
        ffn_bias = (m.ffn_size + h) * m.mlp_bias
        weights -= m.n_layers * (biases + ffn_bias) + (2 * m.head_dim * m.n_layers if m.qk_norm else 0)
        attn = 2 * 2 * m.n_heads * m.head_dim * ctx
    if m.tie_embeddings:
        weights += m.vocab_size * h  # the LM head reuses the table but still multiplies
    expected = 2 * weights + m.n_layers * attn
    assert _matmul_flops(wl) / batch == pytest.approx(expected, rel=1e-12)
    s = wl.summary()
    assert s["flops"] >= _matmul_flops(wl)
    assert s["flops"] == pytest.approx(_matmul_flops(wl), rel=0.01)  # elementwise work is small


def test_prefill_flops_per_token_llama() -> None:
    m = load_model("llama-3.1-8b")
    t = 512
    wl = load_workload(m, phase="prefill", batch=1, prompt_len=t)
    lm_head = m.vocab_size * m.hidden_size
    weights = m.n_params_active - m.n_params_embedding - (2 * m.n_layers + 1) * m.hidden_size - lm_head
    attn = 2 * 2 * m.n_heads * m.head_dim * t * m.n_layers  # full (non-causal) q x kv product
    expected = (2 * weights + attn) * t + 2 * lm_head  # logits only for the last token
    assert _matmul_flops(wl) == pytest.approx(expected, rel=1e-12)


def test_tensor_parallel_shards_and_collectives() -> None:
    one = load_workload("llama-3.1-70b", batch=8, context_len=512)
    four = load_workload("llama-3.1-70b", batch=8, context_len=512, tp=4)
    assert _matmul_flops(four) == pytest.approx(_matmul_flops(one) / 4, rel=1e-3)
    names = {op.name for op in four.ops}
    assert {"attn.all_reduce", "ffn.all_reduce", "embed.all_reduce"} <= names
    assert four.memory_per_device()["weights_bytes"] < one.memory_per_device()["weights_bytes"] / 3.9
    assert four.memory_per_device()["kv_cache_bytes"] == one.memory_per_device()["kv_cache_bytes"] / 4
    kv = 80 * 8 * 512 * 2 * 8 * 128 * 2
    assert one.summary()["kv_cache_bytes"] == kv


def test_pipeline_parallel() -> None:
    wl = load_workload("llama-3.1-8b", batch=2, context_len=128, pp=4)
    layer_ops = [op for op in wl.ops if op.layer == "decoder"]
    assert all(op.repeat == 8 for op in layer_ops)
    sr = [op for op in wl.ops if op.collective == "send_recv"]
    assert len(sr) == 1 and sr[0].n_bytes == 2 * 4096 * 2
    assert wl.scenario is not None and wl.scenario.pp == 4


def test_deepseek_groups_and_expert_parallel() -> None:
    wl = load_workload("deepseek-v3", batch=32, context_len=1024, tp=1, ep=32)
    dense = [op for op in wl.ops if op.layer == "decoder.dense"]
    moe = [op for op in wl.ops if op.layer == "decoder.moe"]
    assert {op.repeat for op in dense} == {3} and {op.repeat for op in moe} == {58}
    up = next(op for op in moe if op.name == "moe.experts.up_gate")
    assert len(up.group_tokens) == 256 and sum(up.group_tokens) == 32 * 8
    assert up.group_device == tuple(e // 8 for e in range(256))
    assert any(op.name == "moe.shared.up_gate" for op in moe)
    disp = next(op for op in moe if op.name == "moe.dispatch")
    assert disp.collective == "all_to_all_v" and disp.n_devices == 32 and len(disp.traffic_bytes) == 32 * 32
    # MLA decode: the latent cache (512 + 64 per token and layer) is read, not per-head K/V
    score = next(op for op in moe if op.name == "attn.score")
    assert score.k == 576 and score.n == 1024 and not score.b_is_weight
    assert wl.summary()["kv_cache_bytes"] == 61 * 1 * 1024 * 576 * 2  # 1 sequence per device (DP attention)


def test_scenario_errors() -> None:
    with pytest.raises(WorkloadError, match="ep"):
        load_workload("llama-3.1-8b", ep=2)
    with pytest.raises(WorkloadError, match="n_heads"):
        load_workload("llama-3.1-8b", tp=3)
    with pytest.raises(WorkloadError, match="phase"):
        load_workload("llama-3.1-8b", phase="train")
    with pytest.raises(WorkloadError, match="batch"):
        load_workload("llama-3.1-8b", batch=0)


def test_modelspec_validation() -> None:
    with pytest.raises(WorkloadError, match="top_k"):
        ModelSpec(
            name="x",
            n_layers=1,
            hidden_size=8,
            n_heads=2,
            n_kv_heads=1,
            head_dim=4,
            ffn_size=8,
            vocab_size=10,
            n_experts=4,
            top_k=5,
            moe_ffn_size=4,
        )
    with pytest.raises(WorkloadError, match="n_kv_heads"):
        ModelSpec(name="x", n_layers=1, hidden_size=8, n_heads=3, n_kv_heads=2, head_dim=4, ffn_size=8, vocab_size=10)
