"""Hypothesis strategies for model specs, scenarios and workloads (requires ``hypothesis``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simsparse.workload import ModelSpec, Scenario, Workload

__all__ = ["model_specs", "scenarios", "workloads"]


@st.composite
def model_specs(draw: st.DrawFn, *, moe: bool | None = None, mla: bool | None = None) -> ModelSpec:
    """Small but structurally complete models: dense or MoE, GQA or MLA, GLU or plain MLP."""
    is_moe = draw(st.booleans()) if moe is None else moe
    is_mla = draw(st.booleans()) if mla is None else mla
    kv_heads = draw(st.sampled_from([1, 2, 4]))
    heads = kv_heads * draw(st.sampled_from([1, 2, 4]))
    head_dim = draw(st.sampled_from([8, 16, 32]))
    hidden = draw(st.sampled_from([32, 64, 128]))
    n_layers = draw(st.integers(1, 6))
    kw: dict[str, Any] = {
        "name": "hypo",
        "n_layers": n_layers,
        "hidden_size": hidden,
        "n_heads": heads,
        "n_kv_heads": heads if is_mla else kv_heads,
        "head_dim": head_dim,
        "ffn_size": draw(st.sampled_from([64, 128, 256])),
        "vocab_size": draw(st.integers(16, 1000)),
        "ffn_kind": draw(st.sampled_from(["glu", "mlp"])),
        "norm": draw(st.sampled_from(["rmsnorm", "layernorm"])),
        "tie_embeddings": draw(st.booleans()),
        "qk_norm": draw(st.booleans()) and not is_mla,
    }
    if is_moe:
        n_experts = draw(st.sampled_from([4, 8, 16]))
        shared = draw(st.integers(0, 2))
        kw.update(
            n_experts=n_experts,
            top_k=draw(st.integers(1, min(4, n_experts))),
            moe_ffn_size=draw(st.sampled_from([32, 64])),
            n_shared_experts=shared,
            shared_ffn_size=64 * shared,
            first_k_dense_layers=draw(st.integers(0, n_layers)),
        )
    if is_mla:
        kw.update(
            attention="mla",
            q_lora_rank=draw(st.sampled_from([0, 32])),
            kv_lora_rank=draw(st.sampled_from([16, 32])),
            qk_nope_head_dim=head_dim,
            qk_rope_head_dim=draw(st.sampled_from([8, 16])),
            v_head_dim=head_dim,
        )
    return ModelSpec(**kw)


@st.composite
def scenarios(draw: st.DrawFn, model: ModelSpec | None = None) -> Scenario:
    """Scenarios valid for ``model`` (tensor/expert/pipeline degrees that divide its shapes)."""
    phase = draw(st.sampled_from(["prefill", "decode"]))
    tp_choices = [1]
    if model is not None:
        tp_choices = [
            t for t in (1, 2, 4) if model.n_heads % t == 0 and (model.n_kv_heads % t == 0 or t % model.n_kv_heads == 0)
        ]
        inter = [model.ffn_size] if model.n_dense_layers else []
        inter += [model.shared_ffn_size] if model.n_shared_experts else []
        tp_choices = [t for t in tp_choices if all(x % t == 0 for x in inter)]
    tp = draw(st.sampled_from(tp_choices))
    ep = 1
    if model is not None and model.is_moe:
        eps = [e for e in (1, 2, 4, 8) if model.n_experts % e == 0 and (e == 1 or e % tp == 0)]
        eps = [e for e in eps if e > 1 or model.moe_ffn_size % tp == 0]
        ep = draw(st.sampled_from(eps))
    batch = draw(st.integers(1, 16))
    if phase == "prefill":
        prompt = draw(st.integers(1, 64))
        return Scenario(
            phase="prefill",
            batch=batch,
            prompt_len=prompt,
            context_len=prompt + draw(st.integers(0, 32)),
            tp=tp,
            ep=ep,
            pp=draw(st.sampled_from([1, 2])),
        )
    return Scenario(
        phase="decode",
        batch=batch,
        context_len=draw(st.integers(1, 512)),
        tp=tp,
        ep=ep,
        pp=draw(st.sampled_from([1, 2])),
        kv_dtype=draw(st.sampled_from(["", "fp8", "int8"])),
    )


@st.composite
def workloads(draw: st.DrawFn) -> Workload:
    """A model in a scenario, possibly routed with a random policy and seed."""
    model = draw(model_specs())
    sc = draw(scenarios(model))
    routing = draw(st.sampled_from(["balanced", "uniform", "power_law:1.2", "power_law:0.8"]))
    return Workload.from_scenario(model, sc, routing=routing, seed=draw(st.integers(0, 2**16)))
