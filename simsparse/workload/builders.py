"""One-op and one-layer workloads for kernel studies."""

from __future__ import annotations

from typing import Any

from simsparse.errors import WorkloadError
from simsparse.units import DTYPE_BITS, canonical_dtype

from .build import FLOPS_PER_ELEMENT, apply_routing
from .op import COLLECTIVES, Op
from .routing import route_tokens
from .workload import Workload

__all__ = ["attention", "collective", "gemm", "moe_layer"]


def _dtype(name: str, what: str) -> str:
    d = canonical_dtype(name)
    if d not in DTYPE_BITS:
        raise WorkloadError(f"{what}: expected a dtype among {', '.join(DTYPE_BITS)}, got {name!r}")
    return d


def gemm(
    m: int,
    n: int,
    k: int,
    dtype: str = "fp16",
    weight_pattern: str = "dense",
    act_density: float = 1.0,
    weight_dtype: str | None = None,
    *,
    batch: int = 1,
    b_is_weight: bool = True,
    name: str = "gemm",
) -> Workload:
    """A one-GEMM workload ``C[m, n] = A[m, k] @ B[k, n]`` (B a weight sparsified to ``weight_pattern``)."""
    dt = _dtype(dtype, "gemm: dtype")
    wdt = _dtype(weight_dtype, "gemm: weight_dtype") if weight_dtype else dt
    op = Op(
        name=name,
        kind="gemm",
        m=m,
        n=n,
        k=k,
        batch=batch,
        dtype=dt,
        a_dtype=dt,
        b_dtype=wdt,
        c_dtype=dt,
        b_is_weight=b_is_weight,
    )
    wl = Workload(name=name, ops=(op,))
    if weight_pattern != "dense":
        wl = wl.prune(weight_pattern, ops="all")
    if act_density != 1.0:
        wl = wl.activation_sparsity(act_density, ops="all")
    return wl


def moe_layer(
    tokens: int,
    hidden: int,
    inter: int,
    n_experts: int,
    top_k: int,
    dtype: str = "bf16",
    routing: str = "balanced",
    ep: int = 1,
    tp: int = 1,
    seed: int = 0,
    *,
    glu: bool = True,
) -> Workload:
    """The MoE block of one layer: router, top-k, dispatch, grouped expert GEMMs, combine.

    ``tokens`` are all tokens of the step; with ``ep > 1`` they start spread over the ``ep``
    devices and experts sit ``n_experts / ep`` per device; with ``ep == 1`` experts are
    tensor-parallel over ``tp`` devices (``inter / tp`` each).
    """
    dt = _dtype(dtype, "moe_layer: dtype")
    if ep > 1 and n_experts % ep:
        raise WorkloadError(f"moe_layer: ep: expected a divisor of n_experts ({n_experts}), got {ep}")
    if ep > 1 and tp > 1 and ep % tp:
        raise WorkloadError(f"moe_layer: ep: expected 1 or a multiple of tp ({tp}), got {ep}")
    moe_tp = tp if ep == 1 else 1
    if inter % moe_tp:
        raise WorkloadError(f"moe_layer: inter ({inter}) is not divisible by tp ({tp})")
    inter_dev = inter // moe_tp
    t_dev = -(-tokens // max(ep, 1))
    common: dict[str, Any] = {"dtype": dt, "a_dtype": dt, "b_dtype": dt, "c_dtype": dt, "layer": "moe"}
    placeholder = (tokens * top_k,) + (0,) * (n_experts - 1)
    ops = [
        Op(name="moe.router", kind="gemm", m=t_dev, n=n_experts, k=hidden, **common),
        Op(
            name="moe.topk",
            kind="elementwise",
            m=t_dev,
            n=n_experts,
            flops_per_element=FLOPS_PER_ELEMENT["topk"],
            **common,
        ),
    ]
    if ep > 1:
        ops.append(
            Op(name="moe.dispatch", kind="collective", collective="all_to_all_v", n_devices=ep, n=hidden, **common)
        )
    ops += [
        Op(
            name="moe.experts.up_gate",
            kind="grouped_gemm",
            m=tokens * top_k,
            n=(2 if glu else 1) * inter_dev,
            k=hidden,
            group_tokens=placeholder,
            group_device=(0,) * n_experts,
            top_k=top_k,
            **common,
        ),
        Op(
            name="moe.experts.act",
            kind="elementwise",
            m=tokens * top_k,
            n=inter_dev,
            flops_per_element=FLOPS_PER_ELEMENT["silu_mul" if glu else "gelu"],
            n_inputs=2 if glu else 1,
            **common,
        ),
        Op(
            name="moe.experts.down",
            kind="grouped_gemm",
            m=tokens * top_k,
            n=hidden,
            k=inter_dev,
            group_tokens=placeholder,
            group_device=(0,) * n_experts,
            top_k=top_k,
            **common,
        ),
    ]
    if ep > 1:
        ops.append(
            Op(name="moe.combine", kind="collective", collective="all_to_all_v", n_devices=ep, n=hidden, **common)
        )
    if tp > 1 and ep == 1:
        ops.append(
            Op(
                name="ffn.all_reduce",
                kind="collective",
                collective="all_reduce",
                n_devices=tp,
                n_bytes=int(tokens * hidden * DTYPE_BITS[dt]) // 8,
                **common,
            )
        )
    r = route_tokens(routing, n_tokens=tokens, n_experts=n_experts, top_k=top_k, ep=ep, seed=seed)
    wl = Workload(name="moe_layer", ops=apply_routing(tuple(ops), r), routing=r)
    return (
        wl
        if routing == "balanced"
        else Workload(name=wl.name, ops=wl.ops, routing=r, transforms=(f"route({r.policy}, seed={seed})",))
    )


def attention(
    batch: int,
    q_heads: int,
    kv_heads: int,
    head_dim: int,
    kv_len: int,
    phase: str = "decode",
    kv_dtype: str = "bf16",
    q_len: int = 1,
    *,
    dtype: str = "bf16",
) -> Workload:
    """Attention core: ``attn.score`` (Q K^T), ``attn.softmax``, ``attn.context`` (P V) over the KV cache.

    ``phase="prefill"`` with ``q_len=1`` means ``q_len = kv_len`` (a whole prompt).
    """
    if phase not in ("prefill", "decode"):
        raise WorkloadError(f"attention: phase: expected 'prefill' or 'decode', got {phase!r}")
    if q_heads < 1 or kv_heads < 1 or q_heads % kv_heads:
        raise WorkloadError(f"attention: kv_heads: expected a divisor of q_heads ({q_heads}), got {kv_heads}")
    dt, kvdt = _dtype(dtype, "attention: dtype"), _dtype(kv_dtype, "attention: kv_dtype")
    if phase == "prefill" and q_len == 1:
        q_len = kv_len
    if q_len > kv_len:
        raise WorkloadError(f"attention: q_len ({q_len}) exceeds kv_len ({kv_len})")
    group = q_heads // kv_heads
    common: dict[str, Any] = {"dtype": dt, "a_dtype": dt, "c_dtype": dt, "layer": "attention"}
    ops = (
        Op(
            name="attn.score",
            kind="gemm",
            m=q_len * group,
            n=kv_len,
            k=head_dim,
            batch=batch * kv_heads,
            b_is_weight=False,
            b_dtype=kvdt,
            **common,
        ),
        Op(
            name="attn.softmax",
            kind="elementwise",
            m=batch * q_heads * q_len,
            n=kv_len,
            flops_per_element=FLOPS_PER_ELEMENT["softmax"],
            b_dtype=dt,
            **common,
        ),
        Op(
            name="attn.context",
            kind="gemm",
            m=q_len * group,
            n=head_dim,
            k=kv_len,
            batch=batch * kv_heads,
            b_is_weight=False,
            b_dtype=kvdt,
            **common,
        ),
    )
    return Workload(name="attention", ops=ops)


def collective(kind: str, n_bytes: int, n_devices: int) -> Workload:
    """A one-collective workload (``all_reduce``, ``all_gather``, ``reduce_scatter``, ``all_to_all``, ``send_recv``...)."""
    from simsparse.errors import closest

    if kind not in COLLECTIVES:
        raise WorkloadError(
            f"collective: kind: expected one of {', '.join(COLLECTIVES)}{closest(kind, COLLECTIVES)}, got {kind!r}"
        )
    return Workload(
        name=kind, ops=(Op(name=kind, kind="collective", collective=kind, n_bytes=n_bytes, n_devices=n_devices),)
    )
