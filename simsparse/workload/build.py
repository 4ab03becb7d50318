"""Per-device ops of one forward step of a model in a scenario.

Op names (the ``ops=`` selectors of the transforms match them):

``embed`` (+ ``embed.pos``, ``embed.add`` for learned positions, ``embed.all_reduce``);
per decoder layer ``attn.norm``, ``attn.qkv`` (GQA) or ``attn.qkv_a``, ``attn.q_a_norm``,
``attn.kv_a_norm``, ``attn.q_b`` (MLA), ``attn.qk_norm``, ``attn.rope``, ``attn.kv_write``,
``attn.q_absorb`` / ``attn.kv_b`` (MLA decode / prefill), ``attn.score``, ``attn.softmax``,
``attn.context``, ``attn.v_up`` (MLA decode), ``attn.o``, ``attn.all_reduce``, ``attn.residual``,
``ffn.norm``; dense ``ffn.up_gate``, ``ffn.act``, ``ffn.down``; MoE ``moe.router``,
``moe.topk``, ``moe.dispatch``, ``moe.experts.up_gate``, ``moe.experts.act``,
``moe.experts.down``, ``moe.combine``, ``moe.shared.up_gate``, ``moe.shared.act``,
``moe.shared.down``; ``ffn.all_reduce``, ``ffn.residual``; then ``final_norm``, ``lm_head``,
``lm_head.all_gather`` and ``stage.send_recv`` (pipeline).

Attention as GEMMs: the score ``Q K^T`` and context ``P V`` products are ``gemm`` ops with
``b_is_weight=False`` whose B operand is the KV cache (in decode) in the KV dtype. For GQA the
``q_heads / kv_heads`` query heads sharing a KV head are stacked as rows (``m = q_len x group``,
``batch = sequences x kv_heads``), so each KV head's cache is read exactly once; FLOPs equal the
per-query-head formulation. Prefill attention is the full ``q_len x kv_len`` product (no causal
skipping). MLA decode uses the absorbed form (scores against the latent cache, one latent per
token shared by all heads); MLA prefill expands K and V with ``kv_b``.
"""

from __future__ import annotations

import math

from simsparse.errors import WorkloadError
from simsparse.units import DTYPE_BITS, canonical_dtype

from .model import ModelSpec
from .op import Op
from .routing import Routing, route_tokens
from .scenario import Scenario

__all__ = ["FLOPS_PER_ELEMENT", "apply_routing", "build_ops"]

FLOPS_PER_ELEMENT: dict[str, float] = {
    "rmsnorm": 4.0,  # square, accumulate, scale, weight
    "layernorm": 7.0,
    "softmax": 5.0,  # max, subtract, exp, sum, divide
    "silu_mul": 5.0,  # silu(g) * u: negate, exp, add, divide, multiply
    "gelu": 8.0,  # tanh approximation
    "rope": 3.0,
    "topk": 6.0,  # score (softmax/sigmoid) and selection
    "add": 1.0,
}


def _bits(dtype: str) -> float:
    return DTYPE_BITS[canonical_dtype(dtype)]


def _div(value: int, parts: int, what: str) -> int:
    if value % parts:
        raise WorkloadError(f"scenario: {what} ({value}) is not divisible by the parallel degree ({parts})")
    return value // parts


def apply_routing(ops: tuple[Op, ...], routing: Routing, *, layer: str | None = None) -> tuple[Op, ...]:
    """Ops with the MoE ops (of ``layer``, or of every MoE layer) updated to ``routing``."""
    out = []
    max_rows = max(routing.device_tokens)
    traffic = routing.traffic_matrix
    for op in ops:
        if layer is not None and op.layer != layer:
            out.append(op)
            continue
        if op.kind == "grouped_gemm":
            if len(op.group_tokens) != routing.n_experts:
                raise WorkloadError(
                    f"op {op.name!r}: has {len(op.group_tokens)} experts, the routing {routing.n_experts}"
                )
            devices = routing.expert_device if routing.n_devices > 1 else (0,) * routing.n_experts
            op = op.replace(
                m=routing.n_tokens * routing.top_k,
                group_tokens=routing.expert_tokens,
                group_device=devices,
                top_k=routing.top_k,
            )
        elif op.name == "moe.experts.act":
            op = op.replace(m=max(1, max_rows))
        elif op.kind == "collective" and op.name in ("moe.dispatch", "moe.combine"):
            mat = traffic if op.name == "moe.dispatch" else traffic.T
            per_copy_bits = op.n * _bits(op.a_dtype)
            tb = tuple(int(c * per_copy_bits) // 8 for c in mat.ravel())
            rows = [sum(tb[i * routing.n_devices : (i + 1) * routing.n_devices]) for i in range(routing.n_devices)]
            op = op.replace(m=int(mat.sum()), traffic_bytes=tb, n_bytes=max(rows), n_devices=routing.n_devices)
        out.append(op)
    return tuple(out)


def build_ops(model: ModelSpec, sc: Scenario, *, routing: str = "balanced", seed: int = 0) -> tuple[Op, ...]:
    """The per-device ops of one step of ``model`` in scenario ``sc``."""
    dt = canonical_dtype(sc.dtype)
    kvdt = canonical_dtype(sc.kv_dtype_resolved)
    tp, ep = sc.tp, sc.ep
    h = model.hidden_size
    b = sc.microbatch_per_device  # ops describe one micro-batch (the whole batch when microbatches == 1)
    q = sc.q_len
    kv = sc.kv_len
    t_dev = b * q
    act_bytes = _bits(dt) / 8

    heads = _div(model.n_heads, tp, "n_heads")
    if model.n_kv_heads % tp == 0:
        kv_heads = model.n_kv_heads // tp
    elif tp % model.n_kv_heads == 0:
        kv_heads = 1  # KV heads replicated across tensor-parallel ranks
    else:
        raise WorkloadError(f"scenario: tp ({tp}) must divide n_kv_heads ({model.n_kv_heads}) or be a multiple of it")
    if model.is_moe and ep > 1:
        _div(model.n_experts, ep, "n_experts")
    if not model.is_moe and ep > 1:
        raise WorkloadError(f"scenario: ep: expected 1 for a dense model, got {ep}")
    moe_tp = tp if ep == 1 else 1

    def gemm(
        name: str,
        layer: str,
        m: int,
        n: int,
        k: int,
        *,
        batch: int = 1,
        weight: bool = True,
        b_dtype: str | None = None,
        a_dtype: str | None = None,
    ) -> Op:
        return Op(
            name=name,
            kind="gemm",
            layer=layer,
            m=m,
            n=n,
            k=k,
            batch=batch,
            dtype=dt,
            a_dtype=a_dtype or dt,
            b_dtype=b_dtype or dt,
            c_dtype=dt,
            b_is_weight=weight,
        )

    def elem(
        name: str, layer: str, m: int, n: int, flops: str | float, *, n_inputs: int = 1, a_dtype: str | None = None
    ) -> Op:
        fpe = FLOPS_PER_ELEMENT[flops] if isinstance(flops, str) else float(flops)
        return Op(
            name=name,
            kind="elementwise",
            layer=layer,
            m=m,
            n=n,
            flops_per_element=fpe,
            n_inputs=n_inputs,
            dtype=dt,
            a_dtype=a_dtype or dt,
            b_dtype=dt,
            c_dtype=dt,
        )

    def coll(name: str, layer: str, kind: str, n_bytes: int, n_devices: int) -> Op:
        return Op(
            name=name,
            kind="collective",
            layer=layer,
            collective=kind,
            n_bytes=n_bytes,
            n_devices=n_devices,
            dtype=dt,
            a_dtype=dt,
            b_dtype=dt,
            c_dtype=dt,
        )

    hidden_bytes = int(t_dev * h * act_bytes)
    norm = model.norm
    ops: list[Op] = []

    # ---- embedding ---------------------------------------------------------------------------
    vocab_dev = math.ceil(model.vocab_size / tp)
    ops.append(
        Op(
            name="embed",
            kind="embedding",
            layer="embed",
            m=t_dev,
            n=h,
            k=vocab_dev,
            dtype=dt,
            a_dtype=dt,
            b_dtype=dt,
            c_dtype=dt,
        )
    )
    if model.learned_positions:
        ops.append(
            Op(
                name="embed.pos",
                kind="embedding",
                layer="embed",
                m=t_dev,
                n=h,
                k=model.max_position_embeddings,
                dtype=dt,
                a_dtype=dt,
                b_dtype=dt,
                c_dtype=dt,
            )
        )
        ops.append(elem("embed.add", "embed", t_dev, h, "add", n_inputs=2))
    if tp > 1:
        ops.append(coll("embed.all_reduce", "embed", "all_reduce", hidden_bytes, tp))

    # ---- decoder layers ----------------------------------------------------------------------
    def attention_ops(layer: str) -> list[Op]:
        out = [elem("attn.norm", layer, t_dev, h, norm)]
        if model.attention == "gqa":
            hd = model.head_dim
            group = heads // kv_heads
            out.append(gemm("attn.qkv", layer, t_dev, (heads + 2 * kv_heads) * hd, h))
            if model.qk_norm:
                out.append(elem("attn.qk_norm", layer, t_dev, (heads + kv_heads) * hd, "rmsnorm"))
            if not model.learned_positions:
                out.append(elem("attn.rope", layer, t_dev, (heads + kv_heads) * hd, "rope"))
            out.append(elem("attn.kv_write", layer, t_dev, 2 * kv_heads * hd, 0.0, a_dtype=kvdt))
            out.append(gemm("attn.score", layer, q * group, kv, hd, batch=b * kv_heads, weight=False, b_dtype=kvdt))
            out.append(elem("attn.softmax", layer, b * heads * q, kv, "softmax"))
            out.append(gemm("attn.context", layer, q * group, hd, kv, batch=b * kv_heads, weight=False, b_dtype=kvdt))
            out.append(gemm("attn.o", layer, t_dev, h, heads * hd))
        else:
            qk = model.qk_head_dim
            lora, rope, nope, vd = model.kv_lora_rank, model.qk_rope_head_dim, model.qk_nope_head_dim, model.v_head_dim
            if model.q_lora_rank:
                out.append(gemm("attn.qkv_a", layer, t_dev, model.q_lora_rank + lora + rope, h))
                out.append(elem("attn.q_a_norm", layer, t_dev, model.q_lora_rank, "rmsnorm"))
            else:
                out.append(gemm("attn.qkv_a", layer, t_dev, lora + rope, h))
            out.append(elem("attn.kv_a_norm", layer, t_dev, lora, "rmsnorm"))
            if model.q_lora_rank:
                out.append(gemm("attn.q_b", layer, t_dev, heads * qk, model.q_lora_rank))
            else:
                out.append(gemm("attn.q_b", layer, t_dev, heads * qk, h))
            out.append(elem("attn.rope", layer, t_dev, (heads + 1) * rope, "rope"))
            out.append(elem("attn.kv_write", layer, t_dev, lora + rope, 0.0, a_dtype=kvdt))
            if sc.phase == "decode":
                out.append(gemm("attn.q_absorb", layer, t_dev, lora, nope, batch=heads))
                out.append(gemm("attn.score", layer, q * heads, kv, lora + rope, batch=b, weight=False, b_dtype=kvdt))
                out.append(elem("attn.softmax", layer, b * heads * q, kv, "softmax"))
                out.append(gemm("attn.context", layer, q * heads, lora, kv, batch=b, weight=False, b_dtype=kvdt))
                out.append(gemm("attn.v_up", layer, t_dev, vd, lora, batch=heads))
            else:
                out.append(gemm("attn.kv_b", layer, b * kv, heads * (nope + vd), lora, a_dtype=kvdt))
                out.append(gemm("attn.score", layer, q, kv, qk, batch=b * heads, weight=False))
                out.append(elem("attn.softmax", layer, b * heads * q, kv, "softmax"))
                out.append(gemm("attn.context", layer, q, vd, kv, batch=b * heads, weight=False))
            out.append(gemm("attn.o", layer, t_dev, h, heads * vd))
        if tp > 1:
            out.append(coll("attn.all_reduce", layer, "all_reduce", hidden_bytes, tp))
        out.append(elem("attn.residual", layer, t_dev, h, "add", n_inputs=2))
        out.append(elem("ffn.norm", layer, t_dev, h, norm))
        return out

    def ffn_ops(prefix: str, layer: str, inter: int, parts: int, m: int) -> list[Op]:
        inter_dev = _div(inter, parts, f"{prefix} intermediate size")
        glu = model.ffn_kind == "glu"
        return [
            gemm(f"{prefix}.up_gate", layer, m, (2 if glu else 1) * inter_dev, h),
            elem(f"{prefix}.act", layer, m, inter_dev, "silu_mul" if glu else "gelu", n_inputs=2 if glu else 1),
            gemm(f"{prefix}.down", layer, m, h, inter_dev),
        ]

    def tail(layer: str) -> list[Op]:
        out = []
        if tp > 1:
            out.append(coll("ffn.all_reduce", layer, "all_reduce", hidden_bytes, tp))
        out.append(elem("ffn.residual", layer, t_dev, h, "add", n_inputs=2))
        return out

    def moe_ops(layer: str) -> list[Op]:
        e = model.n_experts
        out = [
            gemm("moe.router", layer, t_dev, e, h),
            elem("moe.topk", layer, t_dev, e, "topk"),
        ]
        inter_dev = _div(model.moe_ffn_size, moe_tp, "moe_ffn_size")
        glu = model.ffn_kind == "glu"
        n_tok = sc.n_tokens
        placeholder = (n_tok * model.top_k,) + (0,) * (e - 1)

        def all_to_all(name: str) -> Op:
            return Op(
                name=name, kind="collective", layer=layer, collective="all_to_all_v", n_devices=ep, n=h,
                dtype=dt, a_dtype=dt, b_dtype=dt, c_dtype=dt,
            )  # fmt: skip

        def experts(name: str, n: int, k: int) -> Op:
            return gemm(name, layer, n_tok * model.top_k, n, k).replace(
                kind="grouped_gemm", group_tokens=placeholder, group_device=(0,) * e, top_k=model.top_k
            )

        if ep > 1:
            out.append(all_to_all("moe.dispatch"))
        out.append(experts("moe.experts.up_gate", (2 if glu else 1) * inter_dev, h))
        out.append(
            elem(
                "moe.experts.act",
                layer,
                n_tok * model.top_k,
                inter_dev,
                "silu_mul" if glu else "gelu",
                n_inputs=2 if glu else 1,
            )
        )
        out.append(experts("moe.experts.down", h, inter_dev))
        if ep > 1:
            out.append(all_to_all("moe.combine"))
        if model.n_shared_experts:
            out.extend(ffn_ops("moe.shared", layer, model.shared_ffn_size, tp, t_dev))
        return out

    n_dense, n_moe = model.n_dense_layers, model.n_moe_layers
    groups: list[tuple[str, int, bool]] = []
    if n_dense and n_moe:
        groups = [("decoder.dense", n_dense, False), ("decoder.moe", n_moe, True)]
    elif n_moe:
        groups = [("decoder", n_moe, True)]
    else:
        groups = [("decoder", n_dense, False)]
    routed: Routing | None = None
    for layer, count, is_moe in groups:
        repeat = math.ceil(count / sc.pp)
        body = attention_ops(layer)
        if is_moe:
            body += moe_ops(layer)
        else:
            body += ffn_ops("ffn", layer, model.ffn_size, tp, t_dev)
        body += tail(layer)
        if is_moe:
            if routed is None:
                routed = route_tokens(
                    routing, n_tokens=sc.n_tokens, n_experts=model.n_experts, top_k=model.top_k, ep=ep, seed=seed
                )
            body = list(apply_routing(tuple(body), routed))
        ops.extend(op.replace(repeat=repeat) for op in body)

    # ---- head --------------------------------------------------------------------------------
    ops.append(elem("final_norm", "head", b, h, norm))
    ops.append(gemm("lm_head", "head", b, vocab_dev, h))
    if tp > 1:
        ops.append(coll("lm_head.all_gather", "head", "all_gather", int(b * vocab_dev * act_bytes), tp))
    if sc.pp > 1:
        ops.append(coll("stage.send_recv", "stage", "send_recv", hidden_bytes, 2))
    return tuple(ops)
