"""The op of one row measured by the kernel suite (``simsparse measure``), on the CPU or a GPU.

:func:`suite_expression` maps a row that ``simsparse measure`` wrote (its ``extra`` names the ``kernel``)
to the simulated op of that kernel: the live CPU check runs it on ``host-cpu``; a shipped or user CSV from
``simsparse measure --device cuda`` runs it on the GPU's preset (``compare``'s GPU -> preset rule).

The suite's kernels are deliberately plain (one numba source per kernel, no vendor library). What the
engine knows of them:

* **STREAM copy / triad**: an elementwise op over the arrays. On a GPU with a SIMT model the launch
  shape is the CUDA kernel's own (``simsparse/validation/kernels/stream.py``): a grid-stride loop with
  blocks of ``tile x tile`` threads, at most :data:`NUMBA_STREAM_MAX_BLOCKS` blocks, each thread moving
  ``cuda_elems_per_thread`` fp32 elements per iteration (its loads in flight together; 1 in rows measured
  before the kernel unrolled, whose ``extra`` lacks the key), each iteration one dependent DRAM round.
* **GEMM family** (fp32/fp16 GEMM, 2:4 GEMM, CSR SpMM, grouped GEMM, W4A16): a GEMM op with the kernel's
  operand formats, on a CPU, where the matrix unit is the SIMD FMA datapath that the twins run on. On a
  GPU these rows are listed as not expressible: the suite's CUDA kernels multiply in fp32 on the CUDA
  cores (fp16 and int4 inputs are converted first), and a GPU preset's GEMMs run on its matrix unit (the
  engine has no CUDA-core GEMM path). Were it added, it would still need the kernels' own bound: one
  output per thread in 16 x 16 shared-memory tiles, two shared-memory loads per FMA (each warp's A value
  a broadcast, its B row one 128-byte wavefront), 16 FMAs per SM per cycle against the 128 of the FP32
  units (8.4 TFLOP/s on an H200 at 1.98 GHz; the fp32 GEMM measured 8.0).
* **Dispatch-bound GPU rows.** ``simsparse measure --device cuda`` times back-to-back launches, so a
  kernel shorter than numba's host dispatch (tens of microseconds per launch) measures the dispatch.
  The ``small`` and ``tiny`` size sets are such kernels (a 1 MiB copy takes well under a microsecond on a
  current GPU) and are listed as not expressible; the ``full`` STREAM rows are expressed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from simsparse.workload.op import Op

from .compare import _Expr, _NotExpressible, _Run
from .datasets import parse_extra

__all__ = ["FRACTION_FIT_KERNEL", "NUMBA_STREAM_MAX_BLOCKS", "suite_expression"]

NUMBA_STREAM_MAX_BLOCKS = 65535 * 16
"""Most blocks the suite's CUDA STREAM launch uses: ``CUDA_MAX_BLOCKS`` of
``simsparse/validation/kernels/stream.py``, repeated here because importing the kernels imports numba
(a test holds the two equal)."""

FRACTION_FIT_KERNEL = "gemm_fp32"
"""The compute kernel whose measured time sets the host matrix unit's sustained fraction of the SIMD FMA
peak in the live CPU check (:mod:`simsparse.validation.hostcpu_system`; the suite's twins are plain numba
loops, far from hand-tuned BLAS)."""

_GPU_GEMM_REASON = (
    "the suite's CUDA kernel multiplies in fp32 on the CUDA cores; GPU presets run GEMMs on the matrix unit "
    "only (no CUDA-core GEMM path)"
)
_GPU_DISPATCH_REASON = (
    "dispatch-bound: a {size} kernel is shorter than numba's host dispatch of one launch, which the "
    "back-to-back samples then time"
)


def _tile_threads(extra: Mapping[str, str]) -> int:
    """Threads per block of a suite CUDA launch: ``tile`` is ``"16x16"`` in ``extra``."""
    edge = extra.get("tile", "16x16").split("x")
    return math.prod(int(x) for x in edge)


def suite_expression(row: Mapping[str, Any], system: str, *, live_cpu: bool = False) -> tuple[_Expr, str, str] | None:
    """The expression of a kernel-suite row on ``system``, with a note; ``None`` when the row's ``extra``
    names no suite kernel. ``live_cpu``: the row is from the live CPU check, whose triad and ``gemm_fp32``
    rows set the host's DRAM bandwidth and matrix fraction (said in the note)."""
    extra = parse_extra(row["extra"])
    kernel = extra.get("kernel", "")
    gpu = not live_cpu and str(row.get("source_id", "")).startswith("simsparse.measure.cuda")

    def dim(c: str) -> int:
        return int(float(row[c]))

    def fp32_gemm(m: int, n: int, k: int, **fields: Any) -> Op:
        """A GEMM op of the kernel with fp32 operands unless ``fields`` say otherwise."""
        base: dict[str, Any] = {
            "kind": "gemm",
            "dtype": "fp32",
            "a_dtype": "fp32",
            "b_dtype": "fp32",
            "c_dtype": "fp32",
        }
        return Op(name=kernel, m=m, n=n, k=k, **{**base, **fields})

    if gpu and kernel and extra.get("size", "full") != "full":
        raise _NotExpressible(_GPU_DISPATCH_REASON.format(size=extra.get("size")))
    if gpu and kernel and not kernel.startswith("stream_"):
        raise _NotExpressible(_GPU_GEMM_REASON)
    note = ""
    if kernel in ("stream_copy", "stream_triad"):
        n = int(extra["n_elems"])
        inputs = int(extra.get("arrays_read", "1"))
        ctas = threads = rounds = 0  # no launch shape: the CPU has no SIMT model
        if gpu:
            threads = _tile_threads(extra)
            per_thread = int(extra.get("cuda_elems_per_thread", "1"))
            ctas = max(1, min(math.ceil(n / (threads * per_thread)), NUMBA_STREAM_MAX_BLOCKS))
            rounds = math.ceil(n / (ctas * threads * per_thread))
            note = "held out: the suite kernel's launch shape on the preset's SIMT model"
        op = Op(
            name=kernel,
            kind="elementwise",
            m=n,
            n=1,
            flops_per_element=2.0 if kernel == "stream_triad" else 0.0,
            n_inputs=inputs,
            dtype="fp32",
            a_dtype="fp32",
            b_dtype="fp32",
            c_dtype="fp32",
            launch_ctas=ctas,
            launch_threads_per_cta=threads,
            launch_dram_rounds=rounds,
        )
        if live_cpu:
            note = (
                "sets the DRAM bandwidth (in-sample)"
                if kernel == "stream_triad"
                else "held out: predicted from the triad's bandwidth"
            )
    elif kernel in ("gemm_fp32", "gemm_fp16"):
        dt = "fp16" if kernel == "gemm_fp16" else "fp32"
        op = fp32_gemm(dim("m"), dim("n"), dim("k"), dtype=dt, a_dtype=dt, b_dtype=dt)
        if live_cpu and kernel == FRACTION_FIT_KERNEL:
            note = "sets the matrix unit's sustained fraction (in-sample)"
    elif kernel == "sparse24_gemm":
        op = fp32_gemm(dim("m"), dim("n"), dim("k"), b_pattern="2:4", b_density=0.5)
    elif kernel == "csr_spmm":
        # C = A_sparse[m x k] @ B[k x n]: the twin walks each row's nonzeros and adds value x row of B into
        # the output row, vectorized along n: A's density scales the work with no lane imbalance
        density = float(extra.get("density", "1"))
        op = fp32_gemm(dim("m"), dim("n"), dim("k"), a_density=density)
        if live_cpu:
            note = (
                "weaker: A read dense (the twin reads CSR) and its per-non-zero L1 row updates not modeled; "
                "the two partly cancel (docs/validation-notes.md)"
            )
    elif kernel == "moe_grouped_gemm":
        groups = tuple(int(x) for x in extra["group_rows"].split("/"))
        op = fp32_gemm(sum(groups), dim("n"), dim("k"), kind="grouped_gemm", group_tokens=groups)
    elif kernel in ("w4a16_gemv", "w4a16_gemm"):
        op = fp32_gemm(
            dim("m"),
            dim("n"),
            dim("k"),
            a_dtype="fp16",
            b_dtype="int4",
            scale_group_size=int(extra.get("group_size", "128")),
            scale_dtype="fp16",
        )
    else:
        return None
    return _Expr(runs=(_Run(system, (op,)),), combine="latency_us"), system, note
