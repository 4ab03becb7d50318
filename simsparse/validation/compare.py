"""Predicted vs measured: map each row of a measured dataset to a hardware preset and a workload, simulate
it, and tabulate the error.

Mapping rules (one function per row kind below; every row either maps or gets a ``reason``):

* **GPU -> preset.** ``A100*`` -> ``a100-sxm`` (``dgx-a100`` for multi-GPU collectives), ``H100*`` ->
  ``h100-sxm`` / ``dgx-h100``, ``H200*`` -> ``h200-sxm`` / ``dgx-h200``. ``H800*`` runs on ``h100-sxm``:
  the H800 SXM5 has the H100 SXM5's 132 SMs, clocks and 3.35 TB/s HBM3 and differs only in NVLink
  bandwidth, which a single-GPU GEMM does not use.
  A GPU the source leaves unstated but names as likely A100 runs on ``a100-sxm`` (said in ``note``).
  GPUs without a preset (MI210) are listed as not expressible.
* **GEMM** dims: ``m`` token rows, ``n`` output features, ``k`` input features (weight ``k x n``).
  dtypes: ``bf16``/``fp16`` as is; the quantized ones are a bf16 GEMM quantized by the library's own
  scheme (``Workload.quantize``), so a format means the same thing here and in a user's workload:
  ``fp8`` -> ``fp8`` (e4m3 operands, bf16 output; its per-channel and per-token fp32 scales stand in for
  the rows' per-tensor ones, a difference of under 0.1 % of the bytes), ``fp8_block`` -> ``fp8_block``
  (the block-scaled compute dtype, 1x128 activation and 128x128 weight fp32 scales), ``int8_wo`` ->
  ``w8a16`` (per-channel scales), ``int4_wo`` -> ``w4a16`` (group 128, or the ``group=`` of ``extra``;
  per-channel where ``kernel_source`` names TensorRT-LLM's per-channel ``WeightOnlyQuantMatmul`` plugin,
  the A100 table), ``w8a8_sq`` -> ``w8a8`` (int8 operands, per-token and per-channel scales). The
  activations are bf16 except in the A100 ``trt_plugin`` rows, whose collector builds fp16 layers
  (:data:`TRT_PLUGIN_ACTIVATION_DTYPE`).
  ``sparse_gemm_2of4`` -> the same GEMM with 2:4 weights.
* **Speedups** (``speedup_vs_dense``): simulated dense latency / simulated 2:4 latency on the row's preset.
* **Kernel-suite rows** (``source_id`` ``simsparse.measure.*``, written by ``simsparse measure``): the op of
  the suite kernel named in ``extra`` (:func:`simsparse.validation.suite.suite_expression`).
* **MoE layers** (AIConfigurator): one GPU runs the local experts of one EP rank, no all-to-all: a
  grouped GEMM pair (gate_up ``n = 2 inter / moe_tp``, ``k = hidden``; down ``n = hidden``,
  ``k = inter / moe_tp``) over the ``E / ep`` experts of rank 0, with token counts from AIConfigurator's
  balanced or power-law routing (:func:`simsparse.workload.routing.power_law_expert_counts`, which
  puts the most loaded expert group on rank 0 as the collector does), averaged over the collector's 5
  draws (seeds 0..4) for power-law rows.
* **NCCL / all-reduce sweeps**: a ``collective`` op on ``dgx-a100`` / ``dgx-h100`` with
  ``n_devices = num_gpus`` and ``n_bytes = message_bytes``.
* **Vidur ops**: the linear ops as fp16 GEMMs; norms (rmsnorm), rope, activation (SiLU-and-mul), residual
  add as elementwise ops and ``emb`` as an embedding gather (Llama-2 vocabulary 32000), shapes from
  ``extra``.
* **LLMCompass GPT-3 layer ops**: the per-GPU shapes of ``extra`` (Q_K_V: one projection x 3); attention
  products as bmm with an activation B operand; LayerNorm rows whose launch overhead the source
  subtracted are predicted without the preset's ``kernel_launch_s``.
* **torchao Llama-3-8B decode**: the Llama-3.1-8B architecture (same shapes as Llama-3-8B), batch 1,
  decode at context 128 (assumed: a short prompt plus the generated tokens), every linear layer
  quantized as stated (int8 per-channel, int4 group 64, int4 group 64 + 2:4).

Rows whose number duplicates another row (computed TFLOP/s or GB/s next to a latency, speedups against
baselines the simulator does not model, host-timed work-in-progress latencies that the source says to
use only as ratios) are kept with ``expressible = False`` and the reason.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from simsparse.config import load_hardware
from simsparse.engine import simulate
from simsparse.errors import SimsparseError
from simsparse.hw import System
from simsparse.results import SimResult
from simsparse.units import dtype_bytes
from simsparse.workload.op import Op

from .datasets import list_datasets, load_measurements, parse_extra, records

__all__ = [
    "RESULT_COLUMNS",
    "SIZE_THRESHOLD_US",
    "compare",
    "compare_frame",
    "fit_host_timed_dispatch_us",
    "gpu_preset",
]

log = logging.getLogger(__name__)

RESULT_COLUMNS: tuple[str, ...] = (
    "dataset",
    "source_id",
    "line",
    "gpu",
    "stack",
    "preset",
    "kind",
    "dtype",
    "m",
    "n",
    "k",
    "tokens",
    "metric",
    "measured",
    "predicted",
    "unit",
    "rel_error",
    "regime",
    "size",
    "expressible",
    "reason",
    "note",
    "extra",
)
"""Columns of :func:`compare`'s table."""

SIZE_THRESHOLD_US = 50.0
"""A row is ``small`` when its measured latency (or, for throughput and speedup rows, the simulated
time of its workload) is under this many microseconds: the range where launch overhead and latency
dominate, ``large`` otherwise."""

HOST_TIMED_DISPATCH_US = 23.3
"""Host time of one eager PyTorch call around its kernel(s), added to rows whose ``stack`` says they
were timed on the host (``host-timed``: ``time.time()`` around the call plus
``torch.cuda.synchronize()``, the LLMCompass tables). The measured time is then the Python/ATen
dispatch up to the launch, plus the kernel (the simulated latency, which holds the preset's
device-side ``kernel_launch_s``), plus the return from the synchronize; the dataset README asks for
such an overhead model before host-timed and kernel-timed sources are mixed.

Fitted, not cited: the median of ``measured - simulated`` over the host-timed ``torch.matmul`` rows
whose simulated time is under a quarter of the measured one (the rows that are mostly overhead: the
LLMCompass A100 GEMMs 8192 x 64 x 64 and 8192 x 128 x 128, 23.0 and 23.5 us), rounded to 0.1 us.
The other host-timed rows are predictions, not fit (in-sample error is therefore only on those two).
:func:`fit_host_timed_dispatch_us` recomputes it from a comparison made with the overhead set to 0
(``tests/validation/test_compare.py`` checks that the two agree). The rows of a ``torch.compile``d
callable (LLMCompass GeLU) get the same eager figure as a lower bound: guard evaluation and the
compiled wrapper cost more, which is not modeled. Rows whose source already subtracted a launch
overhead (LLMCompass LayerNorm) and hand-entered ones (its all-reduce) get none."""

HOST_TIMED_FIT_SHARE = 0.25
"""A host-timed row enters the :data:`HOST_TIMED_DISPATCH_US` fit when its simulated time is under
this share of the measured time."""

VIDUR_RESOLUTION_US = 1.0
"""Resolution of the Vidur latencies: every one of the 720 shipped rows is a whole microsecond, or a half
where the two middle samples differ (each row is the median of 20 profiled steps, an even count). The
per-step CUDA times are thus whole microseconds, and the median of whole-microsecond samples of a kernel
of ``d`` us is ``d`` rounded to the nearest microsecond (a sample reads ``floor(d)`` or ``ceil(d)``, the
second with probability ``frac(d)``). A row's prediction is rounded the same way before it is compared
(:func:`compare_frame`'s ``instrument_resolution``)."""

TRT_PROFILER_RESOLUTION_US = 1.024
"""Resolution of AIConfigurator's A100 ``trt_plugin`` GEMM rows: all 126 are whole multiples of 1.024 us
(one TensorRT ``IProfiler`` time per row; the ``torch_flow`` rows are not). A single time of a kernel of
``d`` us reads the multiple below or above ``d``, the nearer one more often, so the prediction is rounded
to the nearest multiple before it is compared."""

TRT_PLUGIN_ACTIVATION_DTYPE = "fp16"
"""Activation (and compute) dtype of AIConfigurator's A100 ``trt_plugin`` rows (int4_wo, int8_wo,
w8a8_sq): the TensorRT collector builds every layer with ``tensor_type = "float16"`` (fp16 input, fp16
``WeightOnlyQuantLinear`` / ``SmoothQuantLinear`` and fp16 plugins; ``collector/trtllm/collect_gemm_trt.py``
of ai-dynamo/aiconfigurator, the same in every stored version). The dataset's ``stack`` column says
"bf16 activations" for the whole A100 table, but it also says "CUDA-graph replay", which these rows are
not (:data:`TRT_PROFILER_RESOLUTION_US`): it describes the ``torch_flow`` collector. The weight-only
GEMMs therefore run as fp16 GEMMs (the preset's fp16 tensor rate and sustained fraction); for w8a8_sq
only the 2-byte output dtype follows."""

POWER_LAW_DRAWS = 5
"""Routing draws averaged per power-law MoE row (AIConfigurator's collector averages 5)."""

LLAMA2_VOCAB = 32000
"""Vocabulary of Llama-2-7B/70B (the embedding table height for Vidur ``emb`` rows)."""

TORCHAO_DECODE_CONTEXT = 128
"""Assumed KV length of the torchao Llama-3-8B decode rows (short prompt plus generated tokens)."""

LLAMA_3_8B_CONFIG: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "num_hidden_layers": 32,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "head_dim": 128,
}
"""Llama-3(.1)-8B shapes (meta-llama/Llama-3.1-8B config.json; Llama-3-8B has the same shapes)."""


# --------------------------------------------------------------------------------------------------
# what a row maps to


@dataclass(frozen=True, slots=True)
class _Run:
    """One simulation: ops (and optionally a scenario) on a preset."""

    system: str
    ops: tuple[Op, ...]
    scenario: Any = None


@dataclass(frozen=True, slots=True)
class _Expr:
    """How a row's predicted number is made from one or more simulations."""

    runs: tuple[_Run, ...]
    combine: str  # latency_us | speedup | tok_per_s | tflops
    scale: float = 1.0
    subtract_launch: bool = False
    host_timed: bool = False  # add the host dispatch of one eager call (HOST_TIMED_DISPATCH_US) per scaled call
    flops: float = 0.0
    note: str = ""
    resolution_us: float = 0.0  # the source's timer resolution: the prediction is rounded to it


class _NotExpressible(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Workload:
    name: str
    ops: tuple[Op, ...]
    scenario: Any = None


@dataclass(slots=True)
class _Sim:
    """Simulation cache for one compare call."""

    hardware: Mapping[str, System]
    fidelity: str
    host_dispatch_us: float = HOST_TIMED_DISPATCH_US
    instrument_resolution: bool = True
    systems: dict[str, System] = field(default_factory=dict)
    results: dict[_Run, SimResult] = field(default_factory=dict)

    def system(self, name: str) -> System:
        if name not in self.systems:
            self.systems[name] = self.hardware[name] if name in self.hardware else load_hardware(name)
        return self.systems[name]

    def run(self, run: _Run) -> SimResult:
        res = self.results.get(run)
        if res is None:
            wl = _Workload(name="validation", ops=run.ops, scenario=run.scenario)
            res = simulate(self.system(run.system), wl, fidelity=self.fidelity)
            self.results[run] = res
        return res


def _latency_s(res: SimResult) -> float:
    return float(res.summary()["latency_s"])


def _regime(res: SimResult) -> str:
    ops = res.ops
    if ops.empty:
        return "memory"
    top = ops.iloc[int(np.argmax(ops["total_s"].to_numpy()))]
    cause = str(top["bottleneck"])
    if top["kind"] == "collective" or cause == "interconnect":
        return "interconnect"
    if cause in ("compute", "imbalance"):
        return "compute"
    return "memory"


# --------------------------------------------------------------------------------------------------
# GPU -> preset


def gpu_preset(gpu: str, multi_gpu: bool = False) -> tuple[str | None, str]:
    """The preset a GPU name of a dataset runs on, and a note (or, for ``None``, why there is none)."""
    low = gpu.lower()
    if "mi210" in low or "mi250" in low or "mi100" in low:
        return (
            None,
            f"no preset for {gpu.split()[0]} (AMD CDNA2); the presets cover NVIDIA A100/H100/H200/B200 and MI300X",
        )
    if "h800" in low:
        note = "H800 run on h100-sxm (same 132 SMs, clocks and 3.35 TB/s HBM3; only NVLink differs)"
        return ("dgx-h100" if multi_gpu else "h100-sxm"), note
    if "h100" in low:
        return ("dgx-h100" if multi_gpu else "h100-sxm"), ""
    if "h200" in low:
        return ("dgx-h200" if multi_gpu else "h200-sxm"), ""
    if "a100" in low:
        note = "GPU unstated by the source (A100 likely); run on a100-sxm" if "unstated" in low else ""
        return ("dgx-a100" if multi_gpu else "a100-sxm"), note
    return None, f"no hardware preset for GPU {gpu!r}"


# --------------------------------------------------------------------------------------------------
# op builders


def _int(x: object) -> int:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        raise _NotExpressible("shape column blank")
    return int(float(str(x)))


_DATASET_QUANT: dict[str, str | None] = {
    "bf16": None,
    "fp16": None,
    "fp32": None,
    "fp8": "fp8",
    "fp8_block": "fp8_block",
    "int8_wo": "w8a16",
    "int4_wo": "w4a16",
    "int4_wo_2of4": "w4a16",
    "w8a8_sq": "w8a8",
}
"""Dataset dtype -> the workload quantization scheme (:data:`simsparse.workload.transforms.QUANT_SCHEMES`)
that describes it; ``None``: the dtype as is (bf16 for the quantized rows' activations)."""


def _gemm_op(
    name: str,
    m: int,
    n: int,
    k: int,
    dtype: str,
    extra: Mapping[str, str],
    *,
    batch: int = 1,
    weight: bool = True,
    sparse: bool = False,
) -> Op:
    """A GEMM op for a dataset dtype (module docstring): a 16-bit GEMM quantized by the workload transform
    of the scheme the dtype names, so the validation and the library mean the same thing by a format."""
    from simsparse.workload.builders import gemm
    from simsparse.workload.transforms import quantize

    if dtype not in _DATASET_QUANT:
        raise _NotExpressible(f"dtype {dtype!r} has no GEMM mapping")
    scheme = _DATASET_QUANT[dtype]
    act = TRT_PLUGIN_ACTIVATION_DTYPE if _trt_plugin(extra) else "bf16"
    (op,) = gemm(m, n, k, dtype if scheme is None else act, batch=batch, b_is_weight=weight, name=name).ops
    if scheme is not None and weight:
        group: int | None = None
        if scheme == "w4a16":
            group = int(extra.get("group", extra.get("group_size", "128")) or 128)
            if "WeightOnlyQuantMatmul" in extra.get("kernel_source", ""):
                # TensorRT-LLM's per-channel weight-only plugin (its group-wise twin is
                # WeightOnlyGroupwiseQuantMatmul): one scale per output channel
                group = k
        (op,) = quantize((op,), scheme, group, name)
    if sparse or dtype == "int4_wo_2of4":
        op = op.replace(b_pattern="2:4", b_density=0.5)
    return op


def _elementwise(name: str, m: int, n: int, flops: float, n_inputs: int, dtype: str) -> Op:
    """One memory-streaming kernel over an ``m x n`` output in ``dtype``: the engine reads ``n_inputs``
    same-shape tensors from DRAM once and writes one (``simsparse.engine.timing.time_compute_op``).

    Row re-reads that the kernel serves from registers, shared memory, L1 or L2 (the second pass of a
    row-wise reduction over a row of a few KiB) are not DRAM passes and are not counted. Reduced
    inputs much smaller than the output (an RMSNorm weight vector, a RoPE cos/sin row per token) are
    not counted either: they are under 2% of the bytes of every Vidur and LLMCompass shape mapped here
    and the op has no field for a second, smaller input. ``flops`` is per output element; kernels that
    compute in fp32 (all mapped here do) run at the vector rate of ``dtype``; at the fp32 rate their
    flops would still need at most 17% (GPT-3 GeLU) of the DRAM time of the same bytes, so the rate
    never binds.
    """
    return Op(
        name=name,
        kind="elementwise",
        m=m,
        n=n,
        flops_per_element=flops,
        n_inputs=n_inputs,
        dtype=dtype,
        a_dtype=dtype,
        b_dtype=dtype,
        c_dtype=dtype,
    )


# --------------------------------------------------------------------------------------------------
# row kinds


def _row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    def norm(v: Any) -> Any:
        return None if isinstance(v, float) and math.isnan(v) else v

    return tuple(norm(row[c]) for c in ("source_id", "gpu", "kind", "dtype", "m", "n", "k", "tokens", "batch", "extra"))


def _act_quant_ops(source: str, dtype: str, gemm: Op) -> tuple[Op, ...]:
    """Dynamic activation quantization that the AIConfigurator GEMM timings include (README of the
    measured data: "includes dynamic activation quantization in the fp8 timings").

    Per-tensor ``fp8``: TensorRT-LLM computes the amax of the bf16 activation (one reduction kernel)
    and then quantizes it (one elementwise kernel): the workload transform's ``dynamic_tensor``
    activation quantization (:func:`simsparse.workload.transforms.act_quant_ops`). Other sources and
    dtypes: none.

    Known omission, kept visible: on SM90 TensorRT-LLM's ``FP8BlockScalesLinearMethod.apply``
    (``tensorrt_llm/_torch/modules/linear.py``) also runs ``fp8_quantize_1x128`` (one kernel, grid
    ``8 x n_SMs`` of 256 threads) before the block-scaled GEMM, so the ``fp8_block`` rows include one
    more kernel than is predicted here; and the per-tensor path's ``quantize_e4m3_per_tensor`` is a
    ``cudaMemsetAsync``, a 1024 x 1024-thread amax kernel and a quantize kernel (``cudaFp8Utils.cu``).
    Adding those kernels either way measured worse on these rows (``docs/validation-notes.md``, GEMM):
    timed as kernels without a launch shape (``kernel_launch_s`` each), fp8_block 6.2 -> 12.3 %; timed
    with their source launch shapes through ``device.simt``, fp8_block 6.2 -> 4.5 % but fp8 6.2 ->
    11.8 %. Neither is shipped until a measured per-kernel cost of such small kernels inside a CUDA-graph
    replay settles which costing is right.
    """
    from simsparse.workload.transforms import act_quant_ops

    if not source.startswith("aic.") or dtype != "fp8":
        return ()  # the README states the activation quantization for the per-tensor fp8 rows only
    return act_quant_ops(gemm, "dynamic_tensor", src_dtype="bf16")


def _gemm_row(
    row: Mapping[str, Any], extra: Mapping[str, str], preset: str, latency_keys: set[tuple[Any, ...]]
) -> _Expr:
    metric = row["metric"]
    kind = row["kind"]
    dtype = str(row["dtype"])
    source = str(row["source_id"])
    if metric in ("tflops", "gb_per_s") and _row_key(row) in latency_keys:
        raise _NotExpressible(f"{metric} of the same measurement as this shape's latency_us row (compared there)")
    if metric == "speedup_vs_baseline":
        raise _NotExpressible("speedup against the source's own baseline kernel (not simulated)")
    if metric == "latency_us" and source.startswith("pytorch.pr"):
        raise _NotExpressible(
            "host-timed work-in-progress benchmark with a large host/launch floor; the source says to use it "
            "as a ratio: compared through its speedup_vs_dense row"
        )
    m, n, k = _int(row["m"]), _int(row["n"]), _int(row["k"])
    if kind == "grouped_gemm":
        groups = int(extra.get("groups", _int(row["batch"])))
        ops: tuple[Op, ...] = (
            _gemm_op("grouped", m, n, k, dtype, extra).replace(
                kind="grouped_gemm", m=m * groups, group_tokens=(m,) * groups
            ),
        )
        flops = 2.0 * m * n * k * groups
    else:
        sparse = kind == "sparse_gemm_2of4"
        if metric == "speedup_vs_dense":
            dense = _gemm_op("dense", m, n, k, dtype, extra)
            sp = _gemm_op("sparse", m, n, k, dtype, extra, sparse=True)
            return _Expr(runs=(_Run(preset, (dense,)), _Run(preset, (sp,))), combine="speedup")
        gemm = _gemm_op("gemm", m, n, k, dtype, extra, sparse=sparse)
        ops = (*_act_quant_ops(source, dtype, gemm), gemm)
        flops = 2.0 * m * n * k
    if metric == "latency_us":
        return _Expr(runs=(_Run(preset, ops),), combine="latency_us")
    if metric == "tflops":
        return _Expr(runs=(_Run(preset, ops),), combine="tflops", flops=flops)
    raise _NotExpressible(f"metric {metric!r} not modeled for kind {kind!r}")


def _moe_row(row: Mapping[str, Any], extra: Mapping[str, str], preset: str) -> _Expr:
    """EP rank 0 of TensorRT-LLM's cutlass fused MoE, as the AIConfigurator collector runs it.

    The collector (ai-dynamo/aiconfigurator ``collector/trtllm/collect_moe.py``, ``__compat__ =
    "trtllm>=1.3.0rc20"``, the version of the shipped H100 table) builds ``create_moe`` with a default
    ``Mapping()`` (rank 0) whose ``moe_ep_size``/``moe_tp_size`` are set, so the one GPU holds EP rank
    0's ``E/ep`` experts (experts ``0 .. E/ep-1``) with ``inter/moe_tp`` columns, and calls
    ``moe.forward(hidden_states, logits)`` on **all** ``T`` tokens and their ``T x E`` router logits
    (no all-to-all, no all-reduce: ``reduce_results=False``). Balanced logits are
    ``balanced_logits`` (token ``t`` -> experts ``(t + i ceil(E/k)) mod E``: ``T k / E`` copies per
    expert at the measured token counts); power-law rows call ``power_law_logits_v3`` once per
    draw, ``num_iter = 5`` draws captured back to back and the latency divided by 5 (so the mean of
    the 5 draws), each draw swapping the most loaded EP group into group 0 -- rank 0 is the
    bottleneck rank (:func:`~simsparse.workload.routing.power_law_expert_counts`). The logits are
    ``softmax(one_hot(selected).sum())`` and ``RenormalizeMoeRoutingMethod`` takes their top-k, so the
    kernel routes exactly the drawn counts (no count exceeds ``T``, so no token repeats an expert).

    Kernels on rank 0 (TensorRT-LLM ``tensorrt_llm/_torch/modules/fused_moe/fused_moe_cutlass.py``
    and ``cpp/tensorrt_llm/kernels/mixtureOfExperts/moe_kernels.cu``):

    - top-k routing over all ``T x E`` logits;
    - fp8 (per-tensor) only: ``static_quantize_e4m3_per_tensor`` of all ``T`` input rows before the
      fused op (``quantize_input``; fp8_block quantizes inside the fused op, bf16 not at all);
    - ``expandInputRows``: copies only the token copies routed to local experts (the others sort
      past ``expert_first_token_offset[E/ep]``);
    - grouped up/gate GEMM over the local experts, one group per expert with its routed rows;
    - the gated activation (a separate kernel on Hopper) over the local rows;
    - grouped down GEMM;
    - ``finalizeMoeRouting``: one block per original token, all ``T`` output rows written, each
      reading only its local experts' rows (remote experts skipped). The elementwise op reads
      ``n_inputs`` whole output-sized tensors, so the local rows read are rounded to a whole multiple
      of ``T`` (at least one): exact for EP1 (``k T`` rows) and for a rank holding every token, an
      overstatement of at most ``(T - rows) x hidden`` bf16 reads on a rank that holds fewer.
    """
    from simsparse.workload.routing import power_law_expert_counts

    if row["metric"] != "latency_us":
        raise _NotExpressible(f"metric {row['metric']!r} not modeled for moe_layer")
    hidden, inter = int(extra["hidden"]), int(extra["inter"])
    n_exp, topk = int(extra["experts"]), int(extra["topk"])
    moe_tp, ep = int(extra.get("moe_tp", "1")), int(extra.get("ep", "1"))
    tokens = _int(row["tokens"])
    dist = extra.get("distribution", "balanced")
    dtype = str(row["dtype"])
    local = n_exp // ep
    if dist == "balanced":
        draws = [_aic_balanced_counts(tokens, n_exp, topk)]
    elif dist.startswith("power_law_"):
        alpha = float(dist[len("power_law_") :])
        draws = [power_law_expert_counts(tokens, n_exp, topk, ep, alpha, seed) for seed in range(POWER_LAW_DRAWS)]
    else:
        raise _NotExpressible(f"routing distribution {dist!r} not modeled")
    inter_local = inter // moe_tp
    act_in = "fp8_e4m3" if dtype == "fp8" else "bf16"
    act_out = "fp8_e4m3" if dtype in ("fp8", "fp8_block") else "bf16"

    def pass_(name: str, m: int, n: int, n_inputs: int, flops: float, a: str = "bf16", out: str = "bf16") -> Op:
        return _elementwise(name, m, n, flops, n_inputs, "bf16").replace(a_dtype=a, c_dtype=out)

    runs = []
    for counts in draws:
        g = tuple(int(c) for c in counts[:local])
        if sum(g) == 0:
            g = (0,) * (local - 1) + (1,) if local > 1 else (1,)
        up = _gemm_op("moe.up_gate", 1, 2 * inter_local, hidden, dtype, extra)
        down = _gemm_op("moe.down", 1, hidden, inter_local, dtype, extra)
        rows = max(sum(g), 1)
        quant = (pass_("moe.quantize_input", tokens, hidden, 1, 2.0, out="fp8_e4m3"),) if dtype == "fp8" else ()
        ops = (
            pass_("moe.routing_topk", tokens, n_exp, 1, 5.0),
            *quant,
            pass_("moe.permute", rows, hidden, 1, 1.0, a=act_in, out=act_out),
            up.replace(kind="grouped_gemm", m=sum(g), group_tokens=g, top_k=0),
            pass_("moe.activation", rows, inter_local, 2, 5.0, out=act_out),
            down.replace(kind="grouped_gemm", m=sum(g), group_tokens=g, top_k=0),
            pass_("moe.finalize", tokens, hidden, max(1, round(rows / tokens)), 2.0),
        )
        runs.append(_Run(preset, ops))
    return _Expr(runs=tuple(runs), combine="latency_us")


def _aic_balanced_counts(tokens: int, n_experts: int, top_k: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Per-expert copies of AIConfigurator's ``balanced_logits`` (``collector/helper.py``): token ``t``
    picks experts ``(t + i s) mod E`` for ``i < k`` with ``s = ceil(E/k)`` when ``T >= s``, else
    ``int(t s / T + i s) mod E``."""
    stride = -(-n_experts // top_k)
    t = np.arange(tokens, dtype=np.float64)[:, None]
    i = np.arange(top_k, dtype=np.float64)[None, :]
    sel = (t + i * stride) if tokens >= stride else (t * stride / tokens + i * stride)
    ids = np.mod(sel.astype(np.int64), n_experts)
    out: np.ndarray[Any, np.dtype[np.int64]] = np.bincount(ids.ravel(), minlength=n_experts).astype(np.int64)
    return out


def _collective_row(row: Mapping[str, Any], extra: Mapping[str, str], preset: str) -> _Expr:
    if row["metric"] != "latency_us":
        raise _NotExpressible(f"{row['metric']} computed by the source from the latency_us row (compared there)")
    n_dev = int(extra.get("num_gpus", "0") or 0)
    n_bytes = extra.get("message_bytes", extra.get("bytes", ""))
    if not n_dev or not n_bytes:
        raise _NotExpressible("collective without num_gpus and message_bytes/bytes in extra")
    kind = "all_reduce" if row["kind"] == "allreduce" else "all_to_all"
    op = Op(name=kind, kind="collective", collective=kind, n_bytes=int(n_bytes), n_devices=n_dev)
    return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us")


@dataclass(frozen=True, slots=True)
class _StreamKernel:
    """How one measured non-GEMM op runs: a single kernel streaming ``n_inputs`` tensors of
    ``tokens x width`` in and one out, ``flops`` per output element (see :func:`_elementwise`)."""

    width: str  # key of ``extra`` holding the row width
    per_tp: bool  # width sharded by the tensor-parallel degree
    n_inputs: int
    flops: float
    kernel: str  # what runs and where it is defined
    launch: str  # launch shape: "row_loop" (:func:`_row_loop_launch`, one block per token) or "aten_vectorized"
    two_pass: bool = False  # a row reduction that re-reads the row from L1/L2 after a block reduction


_VIDUR_ELEMENTWISE: dict[str, _StreamKernel] = {
    # Vidur's profiler (vidur/profiling/mlp/mlp_impl.py @ microsoft/vidur) times each op with a
    # record_function region and sums the CUDA durations of the kernels launched inside it (mlp_wrapper.py
    # + utils/record_function_tracer.py): device time of every kernel in the region, no host launch gap.
    # Every region below launches exactly one kernel (torch.empty of the output launches none).
    "input_layernorm": _StreamKernel(
        "n_embd",
        False,
        1,
        4.0,
        # sarathi RMSNorm -> csrc/layernorm_kernels.cu rms_norm_kernel: grid = tokens, block =
        # min(hidden, 1024); pass 1 sums x*x in fp32 over the row, pass 2 re-reads the row (8-16 KiB,
        # from L1/L2) and writes (fp16)(x * rsqrt) * weight. DRAM: 1 read + 1 write of the row (+ the
        # hidden-size weight vector, L2-resident). Flops: x*x, +, *rsqrt, *weight.
        "sarathi rms_norm_kernel (csrc/layernorm_kernels.cu)",
        "row_loop",
        two_pass=True,
    ),
    "post_attention_layernorm": _StreamKernel(
        "n_embd",
        False,
        1,
        4.0,
        "sarathi rms_norm_kernel (csrc/layernorm_kernels.cu), as input_layernorm",
        "row_loop",
        two_pass=True,
    ),
    "add": _StreamKernel(
        "n_embd",
        False,
        2,
        1.0,
        # GPTBlock._forward_with_post_attn_norm (Llama: post_attn_norm): ``residual + hidden_states``,
        # one eager ATen vectorized_elementwise_kernel (CUDAFunctor_add) on fp16: 2 reads + 1 write.
        "ATen vectorized add (residual + hidden_states)",
        "aten_vectorized",
    ),
    "mlp_act": _StreamKernel(
        "n_expanded_embd",
        True,
        2,
        5.0,
        # sarathi SiluAndMul -> csrc/activation_kernels.cu silu_and_mul_kernel: grid = tokens, block =
        # min(d, 1024), d = n_expanded_embd / tp; reads both halves of the fused up-projection
        # [tokens, 2d] (x and y, __ldg) and writes [tokens, d]: 2 reads + 1 write of width d.
        # Flops: silu = x / (1 + exp(-x)) in fp32 (neg, exp, add, div) and * y.
        "sarathi silu_and_mul_kernel (csrc/activation_kernels.cu)",
        "row_loop",
    ),
}
"""Vidur's norm, residual-add and activation ops as the kernels the profiler times."""


ROW_LOOP_MAX_THREADS = 1024
"""Block size cap of sarathi's one-block-per-token kernels (``rms_norm_kernel``, ``silu_and_mul_kernel``:
``dim3 block(std::min(d, 1024))``; ``rotary_embedding_kernel`` caps at 512)."""

ROPE_MAX_THREADS = 512
"""sarathi ``rotary_embedding_kernel``: ``dim3 block(std::min(num_heads * rot_dim / 2, 512))``; each
thread walks the query pairs, then the key pairs, with a stride of the block."""

ATEN_ELEMENTWISE_THREADS = 128
"""ATen ``vectorized_elementwise_kernel``: ``num_threads() = 4 warps`` per block."""

ATEN_ELEMENTWISE_BLOCK_ELEMENTS = 512
"""ATen ``block_work_size() = thread_work_size() (4) x num_threads() (128)`` elements per block (one
4-wide vector load per input per thread: one DRAM round)."""

ATEN_INDEX_THREADS = 128
ATEN_INDEX_BLOCKS_PER_SM = 8
"""ATen ``index_select`` (aten/src/ATen/native/cuda/Indexing.cu ``index_select_out_cuda_impl``): blocks of
``min(size, 128)`` threads, grid ``min(ceil(size / 128), multiProcessorCount x 8)``; the small-index
kernel (at most :data:`ATEN_INDEX_SMALL` indices) sizes it by the slice, the large-index one by the
output."""

ATEN_INDEX_SMALL = 16
"""Most indices ``index_select`` sends to its small-index kernel (``numIndices <= 16``, same file)."""

ATEN_GATHER_VECTOR_BYTES = 16
ATEN_GATHER_MAX_THREADS = 256
"""ATen ``vectorized_gather_kernel<16, int64_t>`` (aten/src/ATen/native/cuda/IndexKernelUtils.cu,
``vectorized_gather_kernel_launch``), the kernel recent PyTorch (2.11 in our H200 run) runs for an
``index_select`` of many aligned rows: grid ``(indices, ceil(row bytes / (256 x 16)))``, block
``min(256, round_up(row bytes / 16, 32))``; a block loads its index, then each thread copies 16 bytes per
iteration of a loop over the row."""

ATEN_GATHER_ELEMENTWISE_THREADS = 128
ATEN_GATHER_ELEMENTWISE_PER_THREAD = 8
"""ATen ``_scatter_gather_elementwise_kernel<128, 8>`` (aten/src/ATen/native/cuda/ScatterGatherKernel.cu,
``launch_scatter_gather_kernel``), where recent PyTorch sends an ``index_select`` of more than 16 ids whose
rows the vectorized gather cannot take (not 16-byte aligned): blocks of 128 threads, each thread 8 output
elements 128 apart (``_scatter_gather_elementwise_kernel``'s loop over ``vt``)."""

ATEN_ELEMENTWISE_VEC8_ELEMENTS = 8
"""Elements per thread of ATen's ``vectorized_elementwise_kernel<8, ...>`` (recent PyTorch on CUDA:
``elems_per_thread<io_size>()`` in aten/src/ATen/native/cuda/CUDALoops.cuh is 8 unless every operand is
one byte): one 16-byte vector per input per thread, 128 threads per block."""


def _row_loop_launch(tokens: int, width: int, block_cap: int, two_pass: bool = False) -> dict[str, int]:
    """One block per token of ``min(width, block_cap)`` threads; each thread walks the row with a
    stride of the block, one scalar element per iteration. Every iteration is one dependent DRAM round
    (the loop is not unrolled across the load). A two-pass row reduction re-reads the row from L1/L2
    after a block reduction (one more on-chip round)."""
    block = min(width, block_cap)
    dram = math.ceil(width / block)
    return {
        "launch_ctas": tokens,
        "launch_threads_per_cta": block,
        "launch_dram_rounds": dram,
        "launch_cache_rounds": dram + 1 if two_pass else 0,
    }


def _aten_vectorized_launch(elements: int, kernels: str = "") -> dict[str, int]:
    """ATen's vectorized elementwise kernel: one vector per input per thread (one DRAM round). A row that
    names the kernel it timed (``kernels`` in ``extra``) as ``vectorized_elementwise_kernel<8, ...>`` ran
    :data:`ATEN_ELEMENTWISE_VEC8_ELEMENTS` elements per thread, otherwise 4
    (:data:`ATEN_ELEMENTWISE_BLOCK_ELEMENTS`: the PyTorch of Vidur's profiles)."""
    block_elements = ATEN_ELEMENTWISE_BLOCK_ELEMENTS
    if "vectorized_elementwise_kernel<8," in kernels:
        block_elements = ATEN_ELEMENTWISE_THREADS * ATEN_ELEMENTWISE_VEC8_ELEMENTS
    return {
        "launch_ctas": math.ceil(elements / block_elements),
        "launch_threads_per_cta": ATEN_ELEMENTWISE_THREADS,
        "launch_dram_rounds": 1,
        "launch_cache_rounds": 0,
    }


def _aten_index_select_launch(n_indices: int, width: int, n_sm: int, ids_cold: bool = True) -> dict[str, int]:
    """ATen ``index_select`` as the PyTorch of Vidur's profiles ran it. Every loop iteration loads an index
    (int64), then the element it addresses, and stores it: two dependent loads, and the next iteration's
    loads cannot pass the store (plain pointers that may alias), so iterations do not overlap.

    The ids are cold: Vidur draws them once and runs the embedding 20 times with a whole layer between two
    runs, which streams more than the L2 holds; our H200 rows clear the L2 before each call. Large index
    (a grid-stride loop over the output): the grid covers ``grid x block / width`` output rows per
    iteration, so each iteration reads ids no earlier iteration touched, and its index load is a DRAM
    round like its element load. Small index (every thread loops over all at most 16 ids, 128 bytes, and
    its strided share of the row): the first id load goes to DRAM, the later ones hit the lines it
    brought on chip (an approximation: 16 ids span two 64-byte lines). ``ids_cold=False`` (a row whose ids
    were read into the L2 just before, ``ids_l2=warm``): every id load is an on-chip round."""
    cap = n_sm * ATEN_INDEX_BLOCKS_PER_SM
    if n_indices <= ATEN_INDEX_SMALL:
        size, repeats = width, n_indices
    else:
        size, repeats = n_indices * width, 1
    grid = min(math.ceil(size / ATEN_INDEX_THREADS), cap)
    block = min(size, ATEN_INDEX_THREADS)
    rounds = repeats * math.ceil(size / (grid * block))
    if not ids_cold:
        dram, cache = rounds, rounds
    elif n_indices <= ATEN_INDEX_SMALL:
        dram, cache = rounds + 1, rounds - 1
    else:
        dram, cache = 2 * rounds, 0
    return {
        "launch_ctas": grid,
        "launch_threads_per_cta": block,
        "launch_dram_rounds": dram,
        "launch_cache_rounds": cache,
    }


def _aten_vectorized_gather_launch(n_indices: int, row_bytes: int, ids_cold: bool = True) -> dict[str, int]:
    """:data:`ATEN_GATHER_VECTOR_BYTES`: a block loads its index (cold, as in
    :func:`_aten_index_select_launch`: each wave's blocks read ids no earlier wave touched, a DRAM round;
    on chip with ``ids_cold=False``), then each thread one 16-byte vector per loop iteration (one DRAM round
    per iteration; a row of up to 4 KiB x grid_y takes one)."""
    vectors = math.ceil(row_bytes / ATEN_GATHER_VECTOR_BYTES)
    block = min(ATEN_GATHER_MAX_THREADS, math.ceil(vectors / 32) * 32)
    grid_y = math.ceil(row_bytes / (ATEN_GATHER_MAX_THREADS * ATEN_GATHER_VECTOR_BYTES))
    return {
        "launch_ctas": n_indices * grid_y,
        "launch_threads_per_cta": block,
        "launch_dram_rounds": int(ids_cold) + math.ceil(vectors / (block * grid_y)),
        "launch_cache_rounds": int(not ids_cold),
    }


def _aten_gather_elementwise_launch(n_indices: int, width: int, ids_cold: bool = True) -> dict[str, int]:
    """:data:`ATEN_GATHER_ELEMENTWISE_THREADS`. The kernel's functor loads an element's index, then the
    element, and stores it, through plain pointers: the compiler cannot move a later element's loads above
    an earlier store (they may alias), so the 8 elements of a thread are 8 serial (index, element) pairs.
    The 8 elements lie in one row of a table at least 1024 wide (approximation for narrower ones), so they
    share one id: its first load is a DRAM round when the ids are cold (as in
    :func:`_aten_index_select_launch`), the other seven on-chip rounds; every element load is a DRAM
    round."""
    per_block = ATEN_GATHER_ELEMENTWISE_THREADS * ATEN_GATHER_ELEMENTWISE_PER_THREAD
    cold = int(ids_cold)
    return {
        "launch_ctas": math.ceil(n_indices * width / per_block),
        "launch_threads_per_cta": ATEN_GATHER_ELEMENTWISE_THREADS,
        "launch_dram_rounds": ATEN_GATHER_ELEMENTWISE_PER_THREAD + cold,
        "launch_cache_rounds": ATEN_GATHER_ELEMENTWISE_PER_THREAD - cold,
    }


@functools.cache
def _n_cores(preset: str) -> int:
    return load_hardware(preset).device.n_cores


def _vidur_rope_width(extra: Mapping[str, str], tp: int) -> int:
    """Row width the Vidur ``attn_rope`` kernel reads and writes in place.

    sarathi ``RotaryEmbedding.forward`` -> csrc/pos_encoding_kernels.cu ``rotary_embedding_kernel``
    (grid = tokens, block = min(heads * rot_dim / 2, 512)): rotates the q and k slices of the fused
    qkv output in place (strided views, row stride (n_head + 2 n_kv_head) * head_dim / tp; each
    slice is contiguous within a token, so no sector waste); v is not touched. Per token it reads
    and writes (n_head + n_kv_head) / tp * head_dim fp16 values, 6 flops per rotated pair (3 per
    element), plus one cos/sin cache row (rot_dim = head_dim fp16, ``model.to(float16)`` converts
    the buffer) and the int64 position: under 2% of the bytes, not counted (:func:`_elementwise`).
    mlp_impl.py asserts ``n_kv_head % tp == 0``.
    """
    n_embd, n_head, n_kv = int(extra["n_embd"]), int(extra["n_head"]), int(extra["n_kv_head"])
    head_dim = n_embd // n_head
    return (n_head // tp + max(n_kv // tp, 1)) * head_dim


def _vidur_row(row: Mapping[str, Any], extra: Mapping[str, str], preset: str) -> _Expr:
    """A Vidur per-op row (fp16, one GPU with the TP-sharded weights, no communication).

    Linear ops: one ``F.linear`` (cuBLAS GEMM) each. Norms, add, activation: :data:`_VIDUR_ELEMENTWISE`.
    ``attn_rope``: :func:`_vidur_rope_width`. ``emb``: sarathi ``VocabParallelEmbedding`` times only
    ``F.embedding`` (the TP masking ops run outside the timer), i.e. one ATen ``index_select`` kernel
    gathering ``tokens`` rows of ``n_embd`` fp16 values from the vocab/tp table with int64 ids drawn in
    range (mlp_wrapper.py): 1 read + 1 write per gathered row.
    """
    metric = row["metric"]
    if metric != "latency_us":
        raise _NotExpressible(f"{metric} computed by the source from a latency_us row (compared there)")
    op_name = extra.get("op", "")
    dtype = str(row["dtype"]) if isinstance(row["dtype"], str) else "fp16"
    tokens = _int(row["tokens"])
    tp = int(extra.get("tp", "") or "1")
    kernels = extra.get("kernels", "")  # the kernels a row of our own runs timed (scripts/gpu/torch_ops.py)
    l2 = extra.get("l2", "cold")
    if l2 != "cold":
        raise _NotExpressible(
            f"l2={l2}: an input was left in the L2 by the kernel just before; the engine reads every input "
            "from DRAM (producer-to-consumer L2 hits are not modeled)"
        )
    if extra.get("ids", "random") != "random":
        raise _NotExpressible(
            f"ids={extra['ids']}: the gather is modeled for ids drawn at random over the table (one row each)"
        )
    if op_name in ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"):
        op = _gemm_op(op_name, _int(row["m"]), _int(row["n"]), _int(row["k"]), dtype, extra)
    elif op_name in _VIDUR_ELEMENTWISE:
        kern = _VIDUR_ELEMENTWISE[op_name]
        width = int(extra[kern.width]) // (tp if kern.per_tp else 1)
        op = _elementwise(op_name, tokens, width, kern.flops, kern.n_inputs, dtype)
        if kern.launch == "row_loop":
            op = op.replace(**_row_loop_launch(tokens, width, ROW_LOOP_MAX_THREADS, two_pass=kern.two_pass))
        else:
            op = op.replace(**_aten_vectorized_launch(tokens * width, kernels))
    elif op_name == "attn_rope":
        width = _vidur_rope_width(extra, tp)
        op = _elementwise(op_name, tokens, width, 3.0, 1, dtype)
        head_dim = int(extra["n_embd"]) // int(extra["n_head"])
        q_pairs = int(extra["n_head"]) // tp * head_dim // 2
        k_pairs = max(int(extra["n_kv_head"]) // tp, 1) * head_dim // 2
        block = min(q_pairs, ROPE_MAX_THREADS)
        op = op.replace(
            launch_ctas=tokens,
            launch_threads_per_cta=block,
            launch_dram_rounds=math.ceil(q_pairs / block) + math.ceil(k_pairs / block),
        )
    elif op_name == "emb":
        op = Op(
            name="emb",
            kind="embedding",
            m=tokens,
            n=int(extra["n_embd"]),
            k=int(extra.get("vocab_size", "") or LLAMA2_VOCAB // tp),
            dtype=dtype,
            a_dtype=dtype,
            b_dtype=dtype,
            c_dtype=dtype,
        )
        cold = extra.get("ids_l2", "cold") == "cold"
        if "vectorized_gather_kernel" in kernels:
            row_bytes = int(int(extra["n_embd"]) * dtype_bytes(dtype))
            op = op.replace(**_aten_vectorized_gather_launch(tokens, row_bytes, ids_cold=cold))
        elif "_scatter_gather_elementwise_kernel" in kernels:
            op = op.replace(**_aten_gather_elementwise_launch(tokens, int(extra["n_embd"]), ids_cold=cold))
        else:
            op = op.replace(**_aten_index_select_launch(tokens, int(extra["n_embd"]), _n_cores(preset), ids_cold=cold))
    else:
        raise _NotExpressible(f"Vidur op {op_name!r} not modeled")
    return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us")


def _llmcompass_row(row: Mapping[str, Any], extra: Mapping[str, str], preset: str) -> _Expr:
    """A GPT-3-175B TP4 layer-op row of LLMCompass (``software_model/*.py run_on_gpu``, A100).

    Every op is timed on the host: ``time.time()`` around the call plus ``torch.cuda.synchronize()``,
    median over the iterations after 3 warm-ups, on a fresh ``torch.randn(shape, dtype=float16)``
    input, so each time holds the Python/ATen dispatch, the launch and the kernel. Non-GEMM ops, one
    kernel each, fp16 in and out, fp32 arithmetic:

    * ``Softmax``: eager ``torch.softmax(x, dim=-1)`` on [b, h/tp, s, s] (prefill) or [b, h/tp, 1, kv]
      (decode): ATen ``cunn_SoftMaxForward`` family (rows of 2048 / 3073 fp16 are over the 1024 limit of
      the warp-persistent kernel); max, sum of exp and the normalized write run over a row held in
      registers/shared memory or re-read from L1/L2 (4-6 KiB rows): 1 DRAM read + 1 write. Flops: max,
      subtract, exp, sum, divide.
    * ``LayerNorm``: ``@torch.compile`` of ``torch.layer_norm(x, [d])`` without weight or bias: one
      Inductor/Triton reduction kernel per call (Welford mean/variance in fp32, then normalize); a row of
      12288 fp16 (24 KiB) that a looped reduction re-reads is served from L2: 1 DRAM read + 1 write.
      ``run_on_gpu`` in ``software_model/transformer.py`` subtracts ``gpu_kernel_launch_overhead()``
      (median host time of the compiled call on a (1, 1, 1) tensor), so the row is predicted without
      the preset's ``kernel_launch_s`` (``subtract_launch``).
    * ``GeLU``: ``@torch.compile`` of ``gelu(x, approximate="tanh")``: one Triton pointwise kernel, 1 read
      + 1 write; flops of x * 0.5 * (1 + tanh(0.79788456 * x * (1 + 0.044715 * x * x))).
    """
    if row["metric"] != "latency_us":
        raise _NotExpressible(f"metric {row['metric']!r} not modeled for transformer_op")
    op_name = extra.get("op", "")
    # extra's info= holds the first key=value of the op's notes; the rest follow as their own keys
    info = {**extra, **parse_extra(extra.get("info", ""))}
    dtype = str(row["dtype"])
    tokens = _int(row["tokens"])
    if op_name.startswith("AllReduce"):
        n_bytes = int(info.get("bytes", "0"))
        n_dev = int(info.get("num_gpus", extra.get("tp", "4")))
        op = Op(name=op_name, kind="collective", collective="all_reduce", n_bytes=n_bytes, n_devices=n_dev)
        return _Expr(
            runs=(_Run("dgx-a100", (op,)),),
            combine="latency_us",
            note="hand-entered all-reduce time; message size reconstructed (dataset README)",
        )
    if op_name in ("Q_K_V", "Wo_proj", "W1_proj", "W2_proj"):
        op = _gemm_op(op_name, _int(row["m"]), _int(row["n"]), _int(row["k"]), dtype, extra)
        return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us", scale=3.0 if op_name == "Q_K_V" else 1.0)
    if op_name in ("Q_mul_K", "A_mul_V"):
        op = _gemm_op(
            op_name,
            _int(row["m"]),
            _int(row["n"]),
            _int(row["k"]),
            dtype,
            extra,
            batch=_int(row["batch"]),
            weight=False,
        )
        return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us")
    phase = extra.get("phase", "prefill")
    if op_name == "Softmax":
        elems = int(info["elems"])
        cols = int(extra.get("seq", "0")) if phase == "prefill" else int(extra.get("kv_len", "0"))
        cols = cols or 1
        op = _elementwise(op_name, elems // cols, cols, 5.0, 1, dtype)
        return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us")
    if op_name.startswith("LayerNorm"):
        op = _elementwise(op_name, int(info["rows"]), int(info["cols"]), 7.0, 1, dtype)
        return _Expr(
            runs=(_Run(preset, (op,)),),
            combine="latency_us",
            subtract_launch=info.get("launch_overhead_subtracted", "0") == "1",
        )
    if op_name == "GeLU":
        elems = int(info["elems"])
        op = _elementwise(op_name, tokens, elems // tokens, 8.0, 1, dtype)
        return _Expr(runs=(_Run(preset, (op,)),), combine="latency_us")
    raise _NotExpressible(f"LLMCompass op {op_name!r} not modeled")


_TORCHAO_QUANT: dict[str, tuple[str | None, int | None, bool]] = {
    # dataset dtype: (the library's quantization scheme, its group size along k, 2:4 pruned), applied to
    # every linear layer as torchao's quantize_/sparsify_ do
    "bf16": (None, None, False),
    "int8_wo": ("w8a16", None, False),  # per-channel scales
    "int4_wo": ("w4a16", 64, False),
    "int4_wo_2of4": ("w4a16", 64, True),
}


def _decode_row(row: Mapping[str, Any], extra: Mapping[str, str], preset: str) -> _Expr:
    from simsparse.workload.build import build_ops
    from simsparse.workload.model import model_from_hf_dict
    from simsparse.workload.scenario import Scenario
    from simsparse.workload.transforms import prune, quantize

    if row["metric"] == "gb_per_s":
        raise _NotExpressible("GB/s derived by the source as tok/s x model size (compared through tok_per_s)")
    if row["metric"] != "tok_per_s":
        raise _NotExpressible(f"metric {row['metric']!r} not modeled for e2e_decode")
    model = extra.get("model", "")
    if model.lower().replace("-", "").replace(".", "") not in ("llama38b", "llama318b"):
        raise _NotExpressible(f"model {model!r} not in the validation mapping (only Llama-3-8B)")
    dtype = str(row["dtype"])
    if dtype not in _TORCHAO_QUANT:
        raise _NotExpressible(f"quantization {dtype!r} not modeled")
    scheme, group, sparse = _TORCHAO_QUANT[dtype]
    spec = model_from_hf_dict(LLAMA_3_8B_CONFIG, name="llama-3.1-8b")
    batch = int(row["batch"]) if isinstance(row["batch"], float) and not math.isnan(row["batch"]) else 1
    sc = Scenario(phase="decode", batch=batch, context_len=TORCHAO_DECODE_CONTEXT, dtype="bf16")
    ops = build_ops(spec, sc)
    if sparse:
        ops = prune(ops, "2:4", "all")
    if scheme is not None:
        ops = quantize(ops, scheme, group, "all")
    return _Expr(
        runs=(_Run(preset, tuple(ops), sc),),
        combine="tok_per_s",
        scale=float(batch),
        note=f"Llama-3.1-8B shapes, batch {batch}, decode at context {TORCHAO_DECODE_CONTEXT} (assumed)",
    )


def _express(
    row: Mapping[str, Any], latency_keys: set[tuple[Any, ...]], preset_override: str | None
) -> tuple[_Expr, str, str]:
    """The expression of a row, its preset and a note; raises _NotExpressible."""
    kind = str(row["kind"])
    extra = parse_extra(row["extra"])
    gpu = str(row["gpu"])
    multi = kind in ("allreduce", "alltoall")
    if preset_override is not None:
        preset, note = preset_override, ""
    else:
        maybe, note = gpu_preset(gpu, multi)
        if maybe is None:
            raise _NotExpressible(note)
        preset = maybe
    suite = None
    if str(row["source_id"]).startswith("simsparse.measure."):
        from .suite import suite_expression  # the kernel suite's own rows (simsparse measure)

        suite = suite_expression(row, preset)
    if suite is not None:
        expr = replace(suite[0], note=suite[2])
    elif kind in ("gemm", "gemm_weight_only", "sparse_gemm_2of4", "grouped_gemm"):
        expr = _gemm_row(row, extra, preset, latency_keys)
    elif kind == "moe_layer":
        expr = _moe_row(row, extra, preset)
    elif kind in ("allreduce", "alltoall"):
        expr = _collective_row(row, extra, preset)
    elif kind == "mlp_op":
        expr = _vidur_row(row, extra, preset)
    elif kind == "transformer_op":
        expr = _llmcompass_row(row, extra, preset)
    elif kind == "e2e_decode":
        expr = _decode_row(row, extra, preset)
    elif kind == "e2e_prefill":
        raise _NotExpressible(f"{extra.get('model', 'this model')} (a vision encoder) is not in the model zoo")
    else:
        raise _NotExpressible(f"kind {kind!r} has no mapping to a simulated workload")
    hand_entered = all(op.kind == "collective" for run in expr.runs for op in run.ops)  # LLMCompass all-reduce
    if _host_timed(row) and expr.combine == "latency_us" and not expr.subtract_launch and not hand_entered:
        expr = replace(expr, host_timed=True)
    if expr.combine == "latency_us":
        expr = replace(expr, resolution_us=_resolution_us(row, extra))
    notes = "; ".join(x for x in (note, expr.note) if x)
    return expr, expr.runs[0].system if expr.runs else preset, notes


def _trt_plugin(extra: Mapping[str, str]) -> bool:
    """Whether a row was timed as a TensorRT plugin layer (AIConfigurator's A100 ``trt_plugin`` rows)."""
    return extra.get("kernel_source", "").startswith("trt_plugin")


def _resolution_us(row: Mapping[str, Any], extra: Mapping[str, str]) -> float:
    """The timer resolution of a row's source (:data:`VIDUR_RESOLUTION_US`,
    :data:`TRT_PROFILER_RESOLUTION_US`), or 0 where its values show none."""
    source = str(row["source_id"])
    if source.startswith("vidur."):
        return VIDUR_RESOLUTION_US
    if source.startswith("aic.") and _trt_plugin(extra):
        return TRT_PROFILER_RESOLUTION_US
    return 0.0


def _host_timed(row: Mapping[str, Any]) -> bool:
    """Whether the row's ``stack`` says it was timed on the host (see :data:`HOST_TIMED_DISPATCH_US`)."""
    return "host-timed" in str(row.get("stack") or "")


def fit_host_timed_dispatch_us(comparison: pd.DataFrame) -> float:
    """The :data:`HOST_TIMED_DISPATCH_US` fit: from a :func:`compare_frame` table made with
    ``host_dispatch_us=0``, the median of ``measured - predicted`` (us) over the expressible host-timed
    single-call ``latency_us`` rows whose prediction is under :data:`HOST_TIMED_FIT_SHARE` of the
    measured time, rounded to 0.1 us. Raises ``ValueError`` when no row qualifies."""
    df = comparison[comparison["expressible"].astype(bool) & (comparison["metric"] == "latency_us")]
    host = df["stack"].astype(str).str.contains("host-timed")
    single = df["kind"] == "gemm"  # eager torch.matmul calls, one kernel each
    small = df["predicted"] < HOST_TIMED_FIT_SHARE * df["measured"]
    rows = df[host & single & small]
    if rows.empty:
        raise ValueError("no host-timed row is dominated by overhead")
    return round(float((rows["measured"] - rows["predicted"]).median()), 1)


def _evaluate(expr: _Expr, sim: _Sim) -> tuple[float, str, float]:
    """(predicted value, regime, simulated time of the first run in s)."""
    results = [sim.run(r) for r in expr.runs]
    lat = []
    for run, res in zip(expr.runs, results, strict=True):
        t = _latency_s(res)
        if expr.subtract_launch:
            t -= sim.system(run.system).device.kernel_launch_s * len(run.ops)
        lat.append(t)
    if expr.combine == "latency_us":
        host_us = sim.host_dispatch_us if expr.host_timed else 0.0
        value = (float(np.mean(lat)) * 1e6 + host_us) * expr.scale
        if expr.resolution_us > 0 and sim.instrument_resolution:
            value = math.floor(value / expr.resolution_us + 0.5) * expr.resolution_us
    elif expr.combine == "speedup":
        value = lat[0] / lat[1]
    elif expr.combine == "tok_per_s":
        value = expr.scale / lat[0]
    elif expr.combine == "tflops":
        value = expr.flops / lat[0] / 1e12
    else:  # pragma: no cover - internal
        raise ValueError(expr.combine)
    regime = _regime(results[-1] if expr.combine == "speedup" else results[0])
    return value, regime, lat[0]


# --------------------------------------------------------------------------------------------------
# public


def compare_frame(
    measured: pd.DataFrame,
    *,
    hardware: Mapping[str, System] | None = None,
    fidelity: str = "event",
    preset_override: str | None = None,
    expressions: Callable[[Mapping[str, Any]], tuple[Any, str, str] | None] | None = None,
    host_dispatch_us: float = HOST_TIMED_DISPATCH_US,
    instrument_resolution: bool = True,
) -> pd.DataFrame:
    """Predicted vs measured for the rows of a loaded dataset (:func:`~simsparse.validation.load_measurements`).

    ``hardware`` maps preset names to systems that replace the shipped presets (calibrated or
    leave-one-out systems); ``preset_override`` runs every row on that system name (the live CPU check).
    ``expressions`` may map a row to an expression first (used for the CPU kernel suite); returning
    ``None`` falls back to the dataset rules. Rows that cannot be expressed are kept with a reason.
    ``host_dispatch_us`` is the host time added per call to host-timed rows (:data:`HOST_TIMED_DISPATCH_US`).
    ``instrument_resolution``: round a latency prediction to its source's timer resolution, as the source
    reported it (:data:`VIDUR_RESOLUTION_US`, :data:`TRT_PROFILER_RESOLUTION_US`); ``False`` compares the
    model's own value (the calibration's linear probes need it).
    """
    sim = _Sim(
        hardware=dict(hardware or {}),
        fidelity=fidelity,
        host_dispatch_us=host_dispatch_us,
        instrument_resolution=instrument_resolution,
    )
    rows_in = records(measured)
    latency_keys = {_row_key(r) for r in rows_in if r["metric"] == "latency_us"}
    out: list[dict[str, Any]] = []
    for row in rows_in:
        rec: dict[str, Any] = {
            c: row.get(c)
            for c in (
                "dataset",
                "source_id",
                "line",
                "gpu",
                "stack",
                "kind",
                "dtype",
                "m",
                "n",
                "k",
                "tokens",
                "metric",
                "unit",
                "extra",
            )
        }
        rec.update(
            measured=float(row["value"]),
            predicted=math.nan,
            rel_error=math.nan,
            regime="",
            size="",
            expressible=False,
            reason="",
            note="",
            preset="",
        )
        try:
            got = expressions(row) if expressions is not None else None
            expr, preset, note = got if got is not None else _express(row, latency_keys, preset_override)
            value, regime, first_s = _evaluate(expr, sim)
        except _NotExpressible as exc:
            rec["reason"] = exc.reason
            out.append(rec)
            continue
        except (SimsparseError, KeyError, ValueError) as exc:
            rec["reason"] = f"simulation failed: {type(exc).__name__}: {exc}"
            log.warning("row %s:%s: %s", row.get("dataset"), row.get("line"), rec["reason"])
            out.append(rec)
            continue
        measured_v = float(row["value"])
        basis_us = measured_v if row["metric"] == "latency_us" else first_s * 1e6
        rec.update(
            predicted=value,
            rel_error=(value - measured_v) / measured_v if measured_v else math.nan,
            regime=regime,
            size="small" if basis_us < SIZE_THRESHOLD_US else "large",
            expressible=True,
            preset=preset,
            note=note,
        )
        out.append(rec)
    return pd.DataFrame.from_records(out, columns=list(RESULT_COLUMNS))


def compare(
    dataset: str | os.PathLike[str] | None = None,
    *,
    hardware: Mapping[str, System] | None = None,
    fidelity: str = "event",
) -> pd.DataFrame:
    """Simulate every row of a measured dataset (a shipped name, a CSV path, or ``None`` for all the
    shipped datasets) and return the predicted-vs-measured table (:data:`RESULT_COLUMNS`).

    ``rel_error`` is ``(predicted - measured) / measured``. Rows that cannot be expressed have
    ``expressible = False`` and a ``reason``; none is dropped.
    """
    names: list[str | os.PathLike[str]] = list(list_datasets()) if dataset is None else [dataset]
    frames = [compare_frame(load_measurements(n), hardware=hardware, fidelity=fidelity) for n in names]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(RESULT_COLUMNS))
