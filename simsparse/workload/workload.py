"""The :class:`Workload`: a model in a scenario as a tuple of per-device ops, plus transforms."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from simsparse.errors import WorkloadError
from simsparse.units import DTYPE_BITS, canonical_dtype

from . import transforms as _tf
from .build import apply_routing, build_ops
from .model import ModelSpec, model_from_hf_config
from .op import Op
from .routing import Routing, route_tokens
from .scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Workload"]


def _bits(dtype: str) -> float:
    return DTYPE_BITS[canonical_dtype(dtype)]


def _device_rows(op: Op) -> int:
    """Token-rows of a grouped GEMM on its busiest device."""
    if not op.group_device:
        return op.m
    per: dict[int, int] = {}
    for t, d in zip(op.group_tokens, op.group_device, strict=True):
        per[d] = per.get(d, 0) + t
    return max(per.values())


def _device_experts(op: Op) -> int:
    if not op.group_device:
        return op.n_groups
    per: dict[int, int] = {}
    for d in op.group_device:
        per[d] = per.get(d, 0) + 1
    return max(per.values())


def _op_device_flops(op: Op) -> float:
    if op.kind == "grouped_gemm":
        return 2.0 * _device_rows(op) * op.n * op.k
    return op.flops


def _op_device_weight_bytes(op: Op) -> float:
    total = op.weight_bytes + op.weight_metadata_bytes + op.weight_scale_bytes
    if op.kind == "grouped_gemm" and op.n_groups:
        return total * _device_experts(op) / op.n_groups
    return total


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """Per-device ops of one step (``repeat`` groups identical layers), with their provenance.

    Transforms are chainable and return new workloads::

        wl.prune("2:4", ops="ffn").quantize("w4a16", group_size=128).route("power_law", alpha=1.2, seed=0)
    """

    name: str
    model: ModelSpec | None = None
    scenario: Scenario | None = None
    ops: tuple[Op, ...] = ()
    transforms: tuple[str, ...] = ()
    routing: Routing | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple) or not all(isinstance(o, Op) for o in self.ops):
            raise WorkloadError(f"workload {self.name!r}: ops: expected a tuple of Op")

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_model(
        cls,
        model: ModelSpec,
        *,
        phase: str = "decode",
        batch: int = 1,
        context_len: int | None = None,
        prompt_len: int | None = None,
        tp: int = 1,
        ep: int = 1,
        pp: int = 1,
        microbatches: int = 1,
        kv_dtype: str = "",
        dtype: str = "bf16",
        routing: str = "balanced",
        seed: int = 0,
        name: str | None = None,
    ) -> Workload:
        """Build the ops of ``model`` in a scenario (decode default ``context_len`` 2048, prefill ``prompt_len`` 2048)."""
        step: Literal["prefill", "decode"]
        if phase == "decode":
            step, context, prompt = "decode", 2048 if context_len is None else context_len, prompt_len or 0
        elif phase == "prefill":
            step, context, prompt = "prefill", context_len or 0, 2048 if prompt_len is None else prompt_len
        else:
            raise WorkloadError(f"scenario: phase: expected 'prefill' or 'decode', got {phase!r}")
        scenario = Scenario(
            phase=step,
            batch=batch,
            context_len=context,
            prompt_len=prompt,
            tp=tp,
            ep=ep,
            pp=pp,
            microbatches=microbatches,
            kv_dtype=kv_dtype,
            dtype=dtype,
        )
        return cls.from_scenario(model, scenario, routing=routing, seed=seed, name=name)

    @classmethod
    def from_scenario(
        cls, model: ModelSpec, scenario: Scenario, *, routing: str = "balanced", seed: int = 0, name: str | None = None
    ) -> Workload:
        ops = build_ops(model, scenario, routing=routing, seed=seed)
        wl = cls(name=name or model.name, model=model, scenario=scenario, ops=ops)
        if model.is_moe and routing != "balanced":
            return dataclasses.replace(wl, transforms=(f"route({routing}, seed={seed})",))
        return wl

    @classmethod
    def from_hf_config(cls, path: str | os.PathLike[str], *, name: str | None = None, **scenario: Any) -> Workload:
        """A workload of the model described by a Hugging Face ``config.json`` (scenario as :meth:`from_model`)."""
        return cls.from_model(model_from_hf_config(path, name=name), **scenario)

    # ---- transforms ---------------------------------------------------------------------------
    def _with(self, ops: tuple[Op, ...], label: str, **changes: Any) -> Workload:
        return dataclasses.replace(self, ops=ops, transforms=(*self.transforms, label), **changes)

    def prune(self, pattern: str, ops: str = "linear", *, stats_block: tuple[int, int] = (64, 64)) -> Workload:
        """Sparsify weights: ``unstructured:<d>``, ``N:M``, ``block:<r>x<c>:<d>``, ``mask:<file>[:<pattern>]``, ``dense``."""
        return self._with(_tf.prune(self.ops, pattern, ops, stats_block=stats_block), f"prune({pattern}, ops={ops})")

    def quantize(
        self, scheme: str, group_size: int | None = None, ops: str | None = None, *, act_quant: str = "fused"
    ) -> Workload:
        """Quantize operands: ``w8a8``, ``w8a16``, ``w4a16``, ``w4a8``, ``fp8``, ``fp8_block``, ``nvfp4``, ``mxfp4``, ``kv_fp8``, ``kv_int8``, ``kv_int4``...

        ``act_quant`` says how quantized activations are produced (``fused`` into the producing
        kernel, a separate quantize ``kernel``, or ``dynamic_tensor``: an amax kernel and a quantize
        kernel); see :data:`simsparse.workload.transforms.ACT_QUANT_MODES`."""
        new_ops = _tf.quantize(self.ops, scheme, group_size, ops, act_quant)
        label = (
            f"quantize({scheme}"
            + (f", group_size={group_size}" if group_size else "")
            + (f", ops={ops}" if ops else "")
            + (f", act_quant={act_quant}" if act_quant != "fused" else "")
            + ")"
        )
        changes: dict[str, Any] = {}
        kv = _tf.QUANT_SCHEMES[scheme].kv_dtype
        if kv and self.scenario is not None:
            changes["scenario"] = self.scenario.replace(kv_dtype=kv)
        return self._with(new_ops, label, **changes)

    def activation_sparsity(self, density: float, ops: str = "ffn") -> Workload:
        """Dynamic activation sparsity: the A operand of the selected GEMMs is ``density`` dense."""
        return self._with(_tf.activation_sparsity(self.ops, density, ops), f"activation_sparsity({density}, ops={ops})")

    def route(
        self,
        policy: str,
        *,
        alpha: float | None = None,
        path: str | os.PathLike[str] | None = None,
        seed: int = 0,
    ) -> Workload:
        """Route the MoE tokens: ``balanced``, ``uniform``, ``power_law`` (``alpha``), ``trace`` (``path``)."""
        grouped = [op for op in self.ops if op.kind == "grouped_gemm"]
        if not grouped:
            raise WorkloadError(f"route: workload {self.name!r} has no MoE (grouped_gemm) ops")
        first = grouped[0]
        if first.top_k < 1:
            raise WorkloadError(
                f"route: op {first.name!r}: top_k: expected the experts per token (>= 1), got {first.top_k}"
            )
        ep = (max(first.group_device) + 1) if first.group_device else 1
        routing = route_tokens(
            policy,
            n_tokens=first.m // first.top_k,
            n_experts=first.n_groups,
            top_k=first.top_k,
            ep=ep,
            alpha=alpha,
            path=path,
            seed=seed,
        )
        label = f"route({routing.policy}, seed={seed})"
        return self._with(apply_routing(self.ops, routing), label, routing=routing)

    # ---- figures ------------------------------------------------------------------------------
    @property
    def n_tokens(self) -> int:
        if self.scenario is not None:
            return self.scenario.n_tokens
        grouped = [op for op in self.ops if op.kind == "grouped_gemm" and op.top_k]
        return grouped[0].m // grouped[0].top_k if grouped else 0

    def expert_tokens(self) -> dict[str, tuple[int, ...]]:
        """Per-expert token counts of each MoE layer group."""
        out: dict[str, tuple[int, ...]] = {}
        for op in self.ops:
            if op.kind == "grouped_gemm":
                out.setdefault(op.layer, op.group_tokens)
        return out

    def _params(self) -> tuple[int, int]:
        if self.model is not None:
            return self.model.n_params, self.model.n_params_active
        total = active = 0
        for op in self.ops:
            mats = op.n_weight_matrices
            if not mats:
                continue
            values = op.k * op.n * mats * op.repeat
            total += values
            active += (op.k * op.n * op.top_k * op.repeat) if (op.kind == "grouped_gemm" and op.top_k) else values
        return total, active

    def memory_per_device(self) -> dict[str, float]:
        """Bytes one device holds: ``weights_bytes`` (values, sparse metadata, scales),
        ``kv_cache_bytes`` and ``activations_bytes`` (the largest op's inputs and outputs)."""
        tied = self.model is not None and self.model.tie_embeddings
        weights = 0.0
        for op in self.ops:
            if tied and op.name == "lm_head":
                continue
            weights += _op_device_weight_bytes(op) * op.repeat
        acts = 0.0
        for op in self.ops:
            if op.kind in ("gemm", "grouped_gemm"):
                rows = _device_rows(op) if op.kind == "grouped_gemm" else op.m
                batch = op.batch if op.kind == "gemm" else 1
                a = rows * op.k * batch * _bits(op.a_dtype) / 8
                c = rows * op.n * batch * _bits(op.c_dtype) / 8
                bb = 0.0 if op.b_is_weight else op.k * op.n * batch * _bits(op.b_dtype) / 8
                acts = max(acts, a + c + bb)
            elif op.kind in ("elementwise", "embedding"):
                acts = max(acts, op.m * op.n * op.batch * _bits(op.a_dtype) / 8 * (op.n_inputs + 1))
        return {"weights_bytes": weights, "kv_cache_bytes": self._kv_cache_bytes(), "activations_bytes": acts}

    def _kv_cache_bytes(self) -> float:
        """KV-cache bytes on one device: from the model and scenario (values and scales per token,
        times cached tokens, times layers), or, without them, the cache operands of the attention ops."""
        sc = self.scenario
        if self.model is not None and sc is not None:
            roles = dict(zip(self.ops, _tf._kv_ops(self.ops), strict=True))
            scales = {op.layer: op for op in self.ops if roles.get(op) == "b" and op.name == "attn.score"}
            total = 0.0
            for w in self.ops:
                if w.name != "attn.kv_write":
                    continue
                values = sc.batch_per_device * sc.kv_len * w.n
                bits = values * _bits(w.a_dtype)
                s = scales.get(w.layer)
                if s is not None and s.scale_group_size:
                    bits += values * s.n_scales / (s.k * s.n * s.batch) * _bits(s.scale_dtype)
                total += bits / 8 * w.repeat
            return total
        total = 0.0
        for op in self.ops:
            if op.name in ("attn.score", "attn.context") and not op.b_is_weight:
                scale = op.n_scales * _bits(op.scale_dtype) / 8
                total += (op.k * op.n * op.batch * _bits(op.b_dtype) / 8 + scale) * op.repeat
        return total

    def summary(self) -> dict[str, Any]:
        """Headline figures. Parameters are the whole model's; the rest is per device (the busiest
        one under expert parallelism), which with ``tp = ep = pp = 1`` is the whole step."""
        total, active = self._params()
        flops = sum(_op_device_flops(op) * op.repeat for op in self.ops)
        mem = self.memory_per_device()
        tokens = self.n_tokens
        out: dict[str, Any] = {
            "name": self.name,
            "n_params_total": total,
            "n_params_active": active,
            "flops": flops,
            "flops_per_token": flops / tokens if tokens else None,
            "weight_bytes": mem["weights_bytes"],
            "kv_cache_bytes": mem["kv_cache_bytes"],
            "activations_bytes": mem["activations_bytes"],
            "n_ops": len(self.ops),
            "n_ops_executed": sum(op.repeat for op in self.ops),
            "n_tokens": tokens,
            "transforms": list(self.transforms),
        }
        if self.scenario is not None:
            out["n_devices"] = self.scenario.n_devices
        return out

    # ---- trace --------------------------------------------------------------------------------
    def to_trace(self) -> pd.DataFrame:
        """One row per op, columns exactly :data:`~simsparse.workload.op.OP_COLUMNS`."""
        from .trace import to_trace

        return to_trace(self)

    def write_trace(self, path: str | os.PathLike[str]) -> None:
        from .trace import write_trace

        write_trace(self, path)

    def with_ops(self, ops: Iterable[Op], label: str | None = None) -> Workload:
        """A copy with other ops (a hand edit), recorded in ``transforms`` when ``label`` is given."""
        new = tuple(ops)
        return dataclasses.replace(self, ops=new, transforms=(*self.transforms, label) if label else self.transforms)
