"""Property tests over generated models, scenarios and workloads."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsparse.config.models import dump_model, load_model
from simsparse.testing.workload_strategies import model_specs, workloads
from simsparse.workload import ModelSpec, Workload, load_trace, model_from_hf_dict, route_tokens, write_trace

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(model_specs())
def test_yaml_round_trip(model: ModelSpec) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.yaml"
        p.write_text(dump_model(model))
        assert load_model(p) == model


def _to_hf(m: ModelSpec) -> dict[str, object]:
    if m.attention == "mla":
        cfg: dict[str, object] = {
            "model_type": "deepseek_v3",
            "hidden_size": m.hidden_size,
            "num_attention_heads": m.n_heads,
            "num_hidden_layers": m.n_layers,
            "vocab_size": m.vocab_size,
            "intermediate_size": m.ffn_size,
            "tie_word_embeddings": m.tie_embeddings,
            "max_position_embeddings": m.max_position_embeddings,
            "q_lora_rank": m.q_lora_rank or None,
            "kv_lora_rank": m.kv_lora_rank,
            "qk_nope_head_dim": m.qk_nope_head_dim,
            "qk_rope_head_dim": m.qk_rope_head_dim,
            "v_head_dim": m.v_head_dim,
        }
        if m.is_moe:
            cfg.update(
                n_routed_experts=m.n_experts,
                n_shared_experts=m.n_shared_experts,
                num_experts_per_tok=m.top_k,
                moe_intermediate_size=m.moe_ffn_size,
                first_k_dense_replace=m.first_k_dense_layers,
                moe_layer_freq=1,
            )
        return cfg
    return {
        "model_type": "llama",
        "hidden_size": m.hidden_size,
        "num_attention_heads": m.n_heads,
        "num_key_value_heads": m.n_kv_heads,
        "head_dim": m.head_dim,
        "num_hidden_layers": m.n_layers,
        "vocab_size": m.vocab_size,
        "intermediate_size": m.ffn_size,
        "tie_word_embeddings": m.tie_embeddings,
        "max_position_embeddings": m.max_position_embeddings,
    }


@SETTINGS
@given(model_specs())
def test_hf_config_round_trip(model: ModelSpec) -> None:
    # the HF formats express a subset: DeepSeek-V3 (MLA, shared experts = n x moe size) and dense Llama
    if model.attention == "gqa":
        model = dataclasses.replace(
            model,
            n_experts=0,
            top_k=0,
            moe_ffn_size=0,
            n_shared_experts=0,
            shared_ffn_size=0,
            first_k_dense_layers=0,
            ffn_kind="glu",
            norm="rmsnorm",
            qk_norm=False,
        )
    elif model.is_moe:
        model = dataclasses.replace(
            model, shared_ffn_size=model.moe_ffn_size * model.n_shared_experts, ffn_kind="glu", norm="rmsnorm"
        )
    else:
        model = dataclasses.replace(model, ffn_kind="glu", norm="rmsnorm")
    back = model_from_hf_dict(_to_hf(model), name=model.name)
    assert dataclasses.replace(back, sources=()) == dataclasses.replace(
        model, head_dim=model.v_head_dim if model.attention == "mla" else model.head_dim
    )


@SETTINGS
@given(workloads())
def test_workload_invariants(wl: Workload) -> None:
    m, sc = wl.model, wl.scenario
    assert m is not None and sc is not None
    for op in wl.ops:
        if op.kind == "grouped_gemm":
            assert sum(op.group_tokens) == sc.n_tokens * m.top_k == op.m
            assert len(op.group_tokens) == m.n_experts and max(op.group_tokens) <= sc.n_tokens
            assert len(set(op.group_device)) == sc.ep
        if op.name == "moe.dispatch":
            assert sc.ep > 1 and len(op.traffic_bytes) == sc.ep**2
    s = wl.summary()
    assert s["n_params_active"] <= s["n_params_total"]
    assert s["flops"] > 0 and s["weight_bytes"] > 0 and s["kv_cache_bytes"] > 0
    mem = wl.memory_per_device()
    assert set(mem) == {"weights_bytes", "kv_cache_bytes", "activations_bytes"}
    # with no parallelism, every weight of the model is on the one device once
    if sc.tp == sc.ep == sc.pp == 1:
        weights = sum(
            op.k * op.n * op.n_weight_matrices * op.repeat
            for op in wl.ops
            if op.n_weight_matrices and not (m.tie_embeddings and op.name == "lm_head")
        )
        norms_and_biases = m.n_params - weights
        assert 0 <= norms_and_biases < m.n_params * 0.2


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(workloads(), st.sampled_from([".parquet", ".csv"]))
def test_trace_round_trip(wl: Workload, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"t{suffix}"
        write_trace(wl, p)
        assert load_trace(p) == wl


@SETTINGS
@given(
    st.sampled_from(["balanced", "uniform", "power_law"]),
    st.integers(1, 300),
    st.sampled_from([(4, 1), (8, 2), (16, 4), (64, 8)]),
    st.integers(1, 4),
    st.floats(0.5, 2.0),
    st.integers(0, 1000),
)
def test_routing_properties(
    policy: str, tokens: int, experts_ep: tuple[int, int], k: int, alpha: float, seed: int
) -> None:
    experts, ep = experts_ep
    k = min(k, experts)
    r = route_tokens(policy, n_tokens=tokens, n_experts=experts, top_k=k, ep=ep, alpha=alpha, seed=seed)
    assert sum(r.expert_tokens) == tokens * k and min(r.expert_tokens) >= 0 and max(r.expert_tokens) <= tokens
    assert sum(r.device_tokens) == tokens * k
    srt = np.sort(r.assignments, axis=1)
    assert not np.any(srt[:, 1:] == srt[:, :-1])
    assert r.traffic_matrix.sum() >= tokens and r.traffic_matrix.sum() <= tokens * min(k, ep)
    assert route_tokens(policy, n_tokens=tokens, n_experts=experts, top_k=k, ep=ep, alpha=alpha, seed=seed) == r
    if policy == "balanced":
        assert max(r.expert_tokens) - min(r.expert_tokens) <= 1
