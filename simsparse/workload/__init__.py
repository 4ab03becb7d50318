"""Workloads: model specs, scenarios, per-device ops, transforms and the trace table.

No YAML here (that is :mod:`simsparse.config.models`); ``config.json`` files are plain JSON.
"""

from __future__ import annotations

from .build import FLOPS_PER_ELEMENT, build_ops
from .builders import attention, collective, gemm, moe_layer
from .model import HF_MODEL_TYPES, ModelSpec, model_from_hf_config, model_from_hf_dict
from .op import COLLECTIVES, OP_COLUMNS, OP_KINDS, Op
from .routing import ROUTING_POLICIES, Routing, parse_routing, power_law_expert_counts, route_tokens
from .scenario import PHASES, Scenario
from .trace import TUPLE_COLUMNS, load_trace, to_trace, write_trace
from .transforms import (
    QUANT_SCHEMES,
    SELECTORS,
    QuantScheme,
    block_nnz,
    load_array_file,
    magnitude_mask,
    parse_prune_pattern,
)
from .workload import Workload

__all__ = [
    "COLLECTIVES",
    "FLOPS_PER_ELEMENT",
    "HF_MODEL_TYPES",
    "OP_COLUMNS",
    "OP_KINDS",
    "PHASES",
    "QUANT_SCHEMES",
    "ROUTING_POLICIES",
    "SELECTORS",
    "TUPLE_COLUMNS",
    "ModelSpec",
    "Op",
    "QuantScheme",
    "Routing",
    "Scenario",
    "Workload",
    "attention",
    "block_nnz",
    "build_ops",
    "collective",
    "gemm",
    "load_array_file",
    "load_trace",
    "magnitude_mask",
    "model_from_hf_config",
    "model_from_hf_dict",
    "moe_layer",
    "parse_prune_pattern",
    "parse_routing",
    "power_law_expert_counts",
    "route_tokens",
    "to_trace",
    "write_trace",
]
