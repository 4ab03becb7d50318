"""Model presets (``workloads/models/*.yaml``) and the workload entry points that load them.

A model YAML file holds exactly the fields of :class:`~simsparse.workload.ModelSpec`, strictly
checked (unknown or duplicate keys, wrong types and impossible values are errors naming the file,
the line and the field), with a ``sources`` list citing where the numbers come from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from simsparse.errors import ConfigError, WorkloadError
from simsparse.workload import ModelSpec, Workload, model_from_hf_config
from simsparse.workload.routing import parse_routing

from . import _data_dir, load_yaml_file, preset_path
from .structure import structure, unstructure
from .yamlio import dump_yaml

__all__ = ["dump_model", "load_model", "load_workload", "model_presets", "trace_from_args"]

_KIND = "workloads/models"


def model_presets() -> list[str]:
    """Names of the model presets shipped with the package."""
    return sorted(p.stem for p in _data_dir(_KIND).glob("*.yaml"))


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, os.PathLike) or text.endswith((".yaml", ".yml")) or os.sep in text:
        return Path(name_or_path)
    return preset_path(_KIND, text)


def load_model(name_or_path: str | os.PathLike[str] | ModelSpec) -> ModelSpec:
    """A :class:`ModelSpec` from a preset name (``"mixtral-8x7b"``), a YAML path, or a HF ``config.json``."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = str(name_or_path)
    if text.endswith(".json") or (Path(text).is_dir() and (Path(text) / "config.json").is_file()):
        return model_from_hf_config(text)
    data, lines, shown = load_yaml_file(_resolve(name_or_path))
    try:
        return structure(ModelSpec, data, lines=lines, file=shown)
    except WorkloadError as exc:  # ModelSpec.__post_init__'s cross-field checks
        mt = re.match(r"^model .*?: (\w+): expected (.*), got .*$", str(exc), re.S)
        if mt is None:
            raise ConfigError("", str(exc), has_got=False, file=shown) from None
        field = mt.group(1)
        got = data.get(field) if isinstance(data, dict) else None
        raise ConfigError(field, mt.group(2), got, file=shown, line=lines.get((field,))) from None


def dump_model(model: ModelSpec) -> str:
    """The YAML of a model; loading it gives an equal :class:`ModelSpec`."""
    return dump_yaml(unstructure(model))


def load_workload(
    name_or_path: str | os.PathLike[str] | ModelSpec,
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
) -> Workload:
    """A :class:`Workload` of a model preset, YAML file or HF ``config.json`` in a scenario.

    Decode defaults to ``context_len=2048``, prefill to ``prompt_len=2048``.
    """
    model = load_model(name_or_path)
    return Workload.from_model(
        model,
        phase=phase,
        batch=batch,
        context_len=context_len,
        prompt_len=prompt_len,
        tp=tp,
        ep=ep,
        pp=pp,
        microbatches=microbatches,
        kv_dtype=kv_dtype,
        dtype=dtype,
        routing=routing,
        seed=seed,
    )


def trace_from_args(
    model: str,
    phase: str = "decode",
    batch: int = 1,
    context_len: int | None = None,
    tp: int = 1,
    ep: int = 1,
    pp: int = 1,
    prune: str | None = None,
    quant: str | None = None,
    act_sparsity: float | None = None,
    routing: str | None = None,
    seed: int = 0,
    *,
    prompt_len: int | None = None,
    kv_dtype: str = "",
    dtype: str = "bf16",
    prune_ops: str = "linear",
    quant_group_size: int | None = None,
    act_sparsity_ops: str = "ffn",
    act_quant: str = "fused",
) -> Workload:
    """The workload behind ``simsparse trace`` (CLI flags as arguments; ``None`` = not given).

    ``quant`` may carry a group size (``"w4a16:64"``) and may list several schemes separated by
    ``+`` (``"w4a16+kv_fp8"``); ``act_quant`` says how quantized activations are produced
    (:data:`simsparse.workload.transforms.ACT_QUANT_MODES`). ``routing`` is ``balanced``, ``uniform``, ``power_law:<alpha>``
    or ``trace:<file>``; it applies to MoE models only (ignored for a dense model only when
    ``None``). For prefill, ``context_len`` is the prompt length unless ``prompt_len`` is given.
    """
    if phase == "prefill" and prompt_len is None and context_len is not None:
        prompt_len, context_len = context_len, None
    wl = load_workload(
        model,
        phase=phase,
        batch=batch,
        context_len=context_len,
        prompt_len=prompt_len,
        tp=tp,
        ep=ep,
        pp=pp,
        kv_dtype=kv_dtype,
        dtype=dtype,
    )
    if prune:
        wl = wl.prune(prune, ops=prune_ops)
    if quant:
        for part in quant.split("+"):
            scheme, _, group = part.partition(":")
            if group and not group.isdigit():
                raise WorkloadError(f"quant: expected '<scheme>[:<group_size>]', got {part!r}")
            wl = wl.quantize(scheme, group_size=int(group) if group else quant_group_size, act_quant=act_quant)
    if act_sparsity is not None:
        wl = wl.activation_sparsity(act_sparsity, ops=act_sparsity_ops)
    if routing:
        policy, args = parse_routing(routing)
        wl = wl.route(policy, seed=seed, **args)  # type: ignore[arg-type]
    return wl
