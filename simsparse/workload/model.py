"""Model specifications: the fields of a transformer that determine its cost.

A :class:`ModelSpec` describes a decoder-only transformer, dense or mixture-of-experts, with
grouped-query attention (``attention="gqa"``, which covers MHA and MQA) or DeepSeek's multi-head
latent attention (``attention="mla"``). Parameter counts are exact functions of these fields.

:func:`model_from_hf_config` reads a Hugging Face ``config.json`` (plain JSON; no YAML here).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from simsparse.errors import WorkloadError, closest

__all__ = ["HF_MODEL_TYPES", "ModelSpec", "model_from_hf_config", "model_from_hf_dict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """A decoder-only transformer (dense or MoE) as far as cost is concerned.

    ``n_experts == 0`` means a dense model. MoE layers are the layers whose index ``i`` has
    ``i >= first_k_dense_layers`` and ``i % moe_layer_freq == 0`` (DeepSeek's rule); the others
    use the dense FFN of size ``ffn_size``.
    """

    name: str
    n_layers: int
    hidden_size: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_size: int
    vocab_size: int
    ffn_kind: Literal["glu", "mlp"] = "glu"
    attention: Literal["gqa", "mla"] = "gqa"
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    tie_embeddings: bool = False
    learned_positions: bool = False
    max_position_embeddings: int = 4096
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    # mixture of experts
    n_experts: int = 0
    top_k: int = 0
    moe_ffn_size: int = 0
    n_shared_experts: int = 0
    shared_ffn_size: int = 0
    first_k_dense_layers: int = 0
    moe_layer_freq: int = 1
    # multi-head latent attention (DeepSeek-V2/V3)
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def bad(field: str, expected: str, got: object) -> WorkloadError:
            return WorkloadError(f"model {self.name!r}: {field}: expected {expected}, got {got!r}")

        for f in (
            "n_layers",
            "hidden_size",
            "n_heads",
            "n_kv_heads",
            "head_dim",
            "vocab_size",
            "max_position_embeddings",
        ):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise bad(f, "an integer >= 1", v)
        for f in (
            "ffn_size",
            "n_experts",
            "top_k",
            "moe_ffn_size",
            "n_shared_experts",
            "shared_ffn_size",
            "first_k_dense_layers",
            "q_lora_rank",
            "kv_lora_rank",
            "qk_nope_head_dim",
            "qk_rope_head_dim",
            "v_head_dim",
        ):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f, "an integer >= 0", v)
        if self.moe_layer_freq < 1:
            raise bad("moe_layer_freq", "an integer >= 1", self.moe_layer_freq)
        if self.n_heads % self.n_kv_heads:
            raise bad("n_kv_heads", f"a divisor of n_heads ({self.n_heads})", self.n_kv_heads)
        if self.n_experts:
            if not 1 <= self.top_k <= self.n_experts:
                raise bad("top_k", f"an integer in [1, n_experts={self.n_experts}]", self.top_k)
            if self.moe_ffn_size < 1:
                raise bad("moe_ffn_size", "an integer >= 1 for an MoE model", self.moe_ffn_size)
            if self.n_shared_experts and self.shared_ffn_size < 1:
                raise bad("shared_ffn_size", "an integer >= 1 when n_shared_experts > 0", self.shared_ffn_size)
            if self.first_k_dense_layers > self.n_layers:
                raise bad("first_k_dense_layers", f"at most n_layers ({self.n_layers})", self.first_k_dense_layers)
        elif self.top_k or self.n_shared_experts:
            raise bad("n_experts", "an integer >= 1 when top_k or n_shared_experts is set", self.n_experts)
        if self.n_dense_layers and self.ffn_size < 1:
            raise bad("ffn_size", "an integer >= 1 (the model has dense FFN layers)", self.ffn_size)
        if self.attention == "mla":
            for f in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
                if getattr(self, f) < 1:
                    raise bad(f, "an integer >= 1 for MLA attention", getattr(self, f))
        if self.attention not in ("gqa", "mla"):
            raise bad("attention", "'gqa' or 'mla'", self.attention)
        if self.ffn_kind not in ("glu", "mlp"):
            raise bad("ffn_kind", "'glu' or 'mlp'", self.ffn_kind)
        if self.norm not in ("rmsnorm", "layernorm"):
            raise bad("norm", "'rmsnorm' or 'layernorm'", self.norm)

    # ---- structure -------------------------------------------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    def is_moe_layer(self, index: int) -> bool:
        """Whether decoder layer ``index`` (0-based) has a mixture-of-experts FFN."""
        if not self.is_moe or index < self.first_k_dense_layers:
            return False
        return index % self.moe_layer_freq == 0  # DeepSeek's rule (first_k_dense_replace, moe_layer_freq)

    @property
    def n_moe_layers(self) -> int:
        return sum(self.is_moe_layer(i) for i in range(self.n_layers))

    @property
    def n_dense_layers(self) -> int:
        return self.n_layers - self.n_moe_layers

    @property
    def qk_head_dim(self) -> int:
        """Per-head query/key width (MLA: nope + rope dims)."""
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.attention == "mla" else self.head_dim

    @property
    def kv_cache_values_per_token(self) -> int:
        """Values stored in the KV cache per token and layer (whole model, unsharded)."""
        if self.attention == "mla":
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.n_kv_heads * self.head_dim

    # ---- parameters ------------------------------------------------------------------------
    @property
    def n_params_embedding(self) -> int:
        """Input embedding table (plus learned positions); the LM head is counted separately."""
        return self.vocab_size * self.hidden_size + (
            self.max_position_embeddings * self.hidden_size if self.learned_positions else 0
        )

    @property
    def n_params_lm_head(self) -> int:
        return 0 if self.tie_embeddings else self.vocab_size * self.hidden_size

    @property
    def _norm_params(self) -> int:
        return self.hidden_size * (2 if self.norm == "layernorm" else 1)

    @property
    def n_params_attention(self) -> int:
        """Attention parameters of one layer (projections, biases, q/k norms, MLA norms)."""
        h = self.hidden_size
        if self.attention == "mla":
            q = h * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * self.n_heads * self.qk_head_dim
            if not self.q_lora_rank:
                q = h * self.n_heads * self.qk_head_dim
            kv_a = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank
            kv_b = self.kv_lora_rank * self.n_heads * (self.qk_nope_head_dim + self.v_head_dim)
            o = self.n_heads * self.v_head_dim * h
            return q + kv_a + kv_b + o + (h if self.o_bias else 0)
        q_out = self.n_heads * self.head_dim
        kv_out = self.n_kv_heads * self.head_dim
        params = h * (q_out + 2 * kv_out) + q_out * h
        if self.qkv_bias:
            params += q_out + 2 * kv_out
        if self.o_bias:
            params += h
        if self.qk_norm:
            params += 2 * self.head_dim
        return params

    def _ffn_params(self, inter: int) -> int:
        h = self.hidden_size
        if self.ffn_kind == "glu":
            return 3 * h * inter + ((2 * inter + h) if self.mlp_bias else 0)
        return 2 * h * inter + ((inter + h) if self.mlp_bias else 0)

    @property
    def n_params_dense_ffn(self) -> int:
        return self._ffn_params(self.ffn_size) if self.n_dense_layers else 0

    @property
    def n_params_expert(self) -> int:
        return self._ffn_params(self.moe_ffn_size) if self.is_moe else 0

    @property
    def n_params_shared(self) -> int:
        return self._ffn_params(self.shared_ffn_size) if self.n_shared_experts else 0

    @property
    def n_params_router(self) -> int:
        return self.hidden_size * self.n_experts

    def _layer_params(self, index: int, *, active: bool) -> int:
        base = self.n_params_attention + 2 * self._norm_params
        if not self.is_moe_layer(index):
            return base + self._ffn_params(self.ffn_size)
        experts = self.top_k if active else self.n_experts
        return base + self.n_params_router + experts * self.n_params_expert + self.n_params_shared

    @property
    def n_params(self) -> int:
        """Total parameters (embeddings, every expert, LM head, norms, biases)."""
        layers = sum(self._layer_params(i, active=False) for i in range(self.n_layers))
        return self.n_params_embedding + layers + self._norm_params + self.n_params_lm_head

    @property
    def n_params_active(self) -> int:
        """Parameters one token touches: as :attr:`n_params`, but only ``top_k`` routed experts.

        Includes the input embedding and the LM head (the convention of Mixtral's "12.9B active").
        """
        layers = sum(self._layer_params(i, active=True) for i in range(self.n_layers))
        return self.n_params_embedding + layers + self._norm_params + self.n_params_lm_head

    def replace(self, **changes: Any) -> ModelSpec:
        return dataclasses.replace(self, **changes)


# ---- Hugging Face config.json ---------------------------------------------------------------

HF_MODEL_TYPES: tuple[str, ...] = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "deepseek_v3", "gpt2")
"""``model_type`` values :func:`model_from_hf_config` understands."""

_ARCH_TO_TYPE = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "MixtralForCausalLM": "mixtral",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "GPT2LMHeadModel": "gpt2",
}


class _Cfg:
    """Typed access to a config dict with errors naming the file and the field."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _fail(self, key: str, expected: str, got: object) -> WorkloadError:
        return WorkloadError(f"{self.where}: {key}: expected {expected}, got {got!r}")

    def int(self, key: str, default: int | None = None, *, minimum: int = 1) -> int:
        if key not in self.data or self.data[key] is None:
            if default is None:
                raise WorkloadError(f"{self.where}: {key}: missing required field (an integer >= {minimum})")
            return default
        v = self.data[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self._fail(key, f"an integer >= {minimum}", v)
        return v

    def bool(self, key: str, default: bool) -> bool:
        v = self.data.get(key, default)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self._fail(key, "true or false", v)
        return v


def model_from_hf_dict(data: dict[str, Any], *, name: str = "", where: str = "config.json") -> ModelSpec:
    """A :class:`ModelSpec` from the parsed contents of a Hugging Face ``config.json``."""
    if not isinstance(data, dict):
        raise WorkloadError(f"{where}: expected a JSON object, got {type(data).__name__}")
    cfg = _Cfg(data, where)
    model_type = data.get("model_type")
    if model_type is None:
        archs = data.get("architectures") or []
        model_type = next((_ARCH_TO_TYPE[a] for a in archs if a in _ARCH_TO_TYPE), None)
        if model_type is None:
            raise WorkloadError(
                f"{where}: model_type: missing required field (one of {', '.join(HF_MODEL_TYPES)}); architectures={archs!r}"
            )
    if model_type not in HF_MODEL_TYPES:
        raise WorkloadError(
            f"{where}: model_type: expected a supported architecture, one of {', '.join(HF_MODEL_TYPES)}"
            f"{closest(str(model_type), HF_MODEL_TYPES)}, got {model_type!r}"
        )
    name = name or str(data.get("_name_or_path") or model_type)
    source = f"Hugging Face config.json ({where})"

    if model_type == "gpt2":
        h = cfg.int("n_embd")
        heads = cfg.int("n_head")
        if h % heads:
            raise WorkloadError(f"{where}: n_head: expected a divisor of n_embd ({h}), got {heads}")
        return ModelSpec(
            name=name,
            n_layers=cfg.int("n_layer"),
            hidden_size=h,
            n_heads=heads,
            n_kv_heads=heads,
            head_dim=h // heads,
            ffn_size=cfg.int("n_inner", 4 * h),
            ffn_kind="mlp",
            vocab_size=cfg.int("vocab_size"),
            norm="layernorm",
            tie_embeddings=cfg.bool("tie_word_embeddings", True),
            learned_positions=True,
            max_position_embeddings=cfg.int("n_positions"),
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            sources=(source,),
        )

    h = cfg.int("hidden_size")
    heads = cfg.int("num_attention_heads")
    n_layers = cfg.int("num_hidden_layers")
    common: dict[str, Any] = {
        "name": name,
        "n_layers": n_layers,
        "hidden_size": h,
        "n_heads": heads,
        "vocab_size": cfg.int("vocab_size"),
        "tie_embeddings": cfg.bool("tie_word_embeddings", False),
        "max_position_embeddings": cfg.int("max_position_embeddings", 4096),
        "sources": (source,),
    }

    if model_type == "deepseek_v3":
        n_experts = cfg.int("n_routed_experts", 0, minimum=0)
        moe: dict[str, Any] = {}
        if n_experts:
            n_shared = cfg.int("n_shared_experts", 0, minimum=0)
            moe_inter = cfg.int("moe_intermediate_size")
            moe = {
                "n_experts": n_experts,
                "top_k": cfg.int("num_experts_per_tok"),
                "moe_ffn_size": moe_inter,
                "n_shared_experts": n_shared,
                "shared_ffn_size": moe_inter * n_shared,
                "first_k_dense_layers": cfg.int("first_k_dense_replace", 0, minimum=0),
                "moe_layer_freq": cfg.int("moe_layer_freq", 1),
            }
        v_head = cfg.int("v_head_dim")
        return ModelSpec(
            **common,
            n_kv_heads=heads,
            head_dim=v_head,
            ffn_size=cfg.int("intermediate_size"),
            attention="mla",
            o_bias=cfg.bool("attention_bias", False),
            q_lora_rank=cfg.int("q_lora_rank", 0, minimum=0),
            kv_lora_rank=cfg.int("kv_lora_rank"),
            qk_nope_head_dim=cfg.int("qk_nope_head_dim"),
            qk_rope_head_dim=cfg.int("qk_rope_head_dim"),
            v_head_dim=v_head,
            **moe,
        )

    if h % heads and "head_dim" not in data:
        raise WorkloadError(
            f"{where}: head_dim: missing, and hidden_size ({h}) is not divisible by num_attention_heads ({heads})"
        )
    head_dim = cfg.int("head_dim", h // heads)
    kv_heads = cfg.int("num_key_value_heads", heads)
    attention_bias = cfg.bool("attention_bias", False)
    spec: dict[str, Any] = {
        **common,
        "n_kv_heads": kv_heads,
        "head_dim": head_dim,
        "qkv_bias": attention_bias or model_type == "qwen2",
        "o_bias": attention_bias,
        "mlp_bias": cfg.bool("mlp_bias", False),
        "qk_norm": model_type in ("qwen3", "qwen3_moe"),
    }
    if model_type == "mixtral":
        inter = cfg.int("intermediate_size")
        return ModelSpec(
            **spec,
            ffn_size=0,
            n_experts=cfg.int("num_local_experts"),
            top_k=cfg.int("num_experts_per_tok"),
            moe_ffn_size=inter,
        )
    if model_type == "qwen3_moe":
        mlp_only = data.get("mlp_only_layers") or []
        if mlp_only:
            raise WorkloadError(
                f"{where}: mlp_only_layers: expected [] (per-layer dense exceptions are not supported), got {mlp_only!r}"
            )
        step = cfg.int("decoder_sparse_step", 1)
        if step != 1:
            raise WorkloadError(f"{where}: decoder_sparse_step: expected 1 (every layer MoE), got {step}")
        return ModelSpec(
            **spec,
            ffn_size=cfg.int("intermediate_size", 0, minimum=0),
            n_experts=cfg.int("num_experts"),
            top_k=cfg.int("num_experts_per_tok"),
            moe_ffn_size=cfg.int("moe_intermediate_size"),
        )
    return ModelSpec(**spec, ffn_size=cfg.int("intermediate_size"))


def model_from_hf_config(path: str | os.PathLike[str], *, name: str | None = None) -> ModelSpec:
    """A :class:`ModelSpec` from a Hugging Face ``config.json`` file (or a directory holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    shown = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkloadError(f"{shown}: expected an existing config.json file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{shown}: expected a readable UTF-8 JSON file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{shown}:{exc.lineno}: expected valid JSON ({exc.msg})") from None
    default = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    return model_from_hf_dict(data, name=name or default, where=shown)
