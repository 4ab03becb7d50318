"""The op: one row of the workload trace, the unit the engine simulates.

An op is *per device*: tensor-parallel shapes are already sharded. The same dataclass serves
every kind, so the trace table has one fixed set of columns (see :data:`OP_COLUMNS`).

Kinds and the fields they use:

* ``gemm``: ``C[m, n] = A[m, k] @ B[k, n]``, ``batch`` independent products (bmm). ``A`` is an
  activation (``a_dtype``, density ``a_density``); ``B`` is a weight when ``b_is_weight``
  (read from memory once per op, sparsity ``b_pattern``/``b_density``, quantization
  ``b_dtype`` with ``scale_group_size`` values per scale of ``scale_dtype``) or an activation /
  KV cache otherwise. ``dtype`` is the compute dtype of the matrix unit.
* ``grouped_gemm``: MoE experts: ``group_tokens[e]`` rows for expert ``e`` (``m`` is their
  sum), every expert with its own ``k x n`` weight; ``group_device[e]`` is the device holding
  expert ``e`` under expert parallelism.
* ``elementwise``: norms, softmax, activations, residual adds, rotary, top-k: ``m x n``
  elements, ``flops_per_element``, ``n_inputs`` tensors read and one written in ``a_dtype``.
* ``embedding``: a gather of ``m`` rows of width ``n`` from a ``k x n`` table.
* ``collective``: ``collective`` in all_reduce, all_gather, reduce_scatter, all_to_all,
  all_to_all_v, send_recv over ``n_devices`` devices; ``n_bytes`` is the per-device buffer, and
  ``traffic_bytes`` (flattened ``n_devices x n_devices``, row = source) is the all-to-all-v
  matrix.

Additions (issue 3, workload traces):

* ``top_k`` (grouped_gemm): experts per token, so in a workload trace ``m // top_k`` is the number of routed tokens;
  0 elsewhere. Lets a trace be re-routed after it was written.
* MoE token dispatch/combine collectives (``all_to_all_v``) also fill ``m`` = token copies sent
  (all devices), ``n`` = hidden size and ``a_dtype`` = element dtype, so that
  ``traffic_bytes`` = copies x ``n`` x bytes(``a_dtype``) can be re-derived.
* ``scale_block_n``: output columns sharing one scale of B. A scale covers
  ``scale_group_size`` consecutive values along ``k`` times ``scale_block_n`` columns along
  ``n``: per-channel = (k, 1), group-wise = (g, 1), DeepSeek fp8 blocks = (128, 128),
  per-tensor = (k, n). Applies to B also when it is the KV cache (``b_is_weight`` false).
* :attr:`Op.weight_metadata_bytes` and :attr:`Op.weight_scale_bytes`: the exact bytes of sparse
  index metadata and quantization scales that go with :attr:`Op.weight_bytes`.

Launch shape (``elementwise`` and ``embedding``; all 0 = not described): how the one kernel that
runs the op is launched and walks its data, for devices with a SIMT model (``Device.simt``).
``launch_ctas`` thread blocks of ``launch_threads_per_cta`` threads; each block makes
``launch_dram_rounds`` dependent round trips to DRAM (loop iterations whose next load waits for the
previous one, e.g. a thread looping over a row with scalar loads) and ``launch_cache_rounds``
dependent round trips served on chip (a second pass over a row held in L1/L2, a block reduction, an
index load before the gather it addresses). The shape comes from the kernel's source: a fused,
vectorized kernel has few rounds, a scalar row loop many.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from simsparse.errors import WorkloadError
from simsparse.units import DTYPE_BITS, canonical_dtype

__all__ = ["COLLECTIVES", "OP_COLUMNS", "OP_KINDS", "Op"]

OP_KINDS: tuple[str, ...] = ("gemm", "grouped_gemm", "elementwise", "embedding", "collective")
COLLECTIVES: tuple[str, ...] = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "all_to_all_v", "send_recv")


@dataclass(frozen=True, slots=True, kw_only=True)
class Op:
    """One operation of a workload, per device, run ``repeat`` times (identical layers)."""

    name: str
    kind: Literal["gemm", "grouped_gemm", "elementwise", "embedding", "collective"]
    layer: str = ""
    repeat: int = 1
    m: int = 0
    n: int = 0
    k: int = 0
    batch: int = 1
    dtype: str = "bf16"
    a_dtype: str = "bf16"
    b_dtype: str = "bf16"
    c_dtype: str = "bf16"
    b_is_weight: bool = True
    b_pattern: str = "dense"
    b_density: float = 1.0
    b_block_nnz: tuple[int, ...] = ()
    b_block_shape: tuple[int, ...] = ()
    a_density: float = 1.0
    scale_group_size: int = 0
    scale_dtype: str = "fp16"
    a_scale_group_size: int = 0
    group_tokens: tuple[int, ...] = ()
    group_device: tuple[int, ...] = ()
    flops_per_element: float = 0.0
    n_inputs: int = 1
    collective: str = ""
    n_bytes: int = 0
    n_devices: int = 1
    traffic_bytes: tuple[int, ...] = ()
    top_k: int = 0
    scale_block_n: int = 1
    launch_ctas: int = 0
    launch_threads_per_cta: int = 0
    launch_dram_rounds: int = 0
    launch_cache_rounds: int = 0

    def __post_init__(self) -> None:
        def bad(field: str, expected: str, got: object) -> WorkloadError:
            return WorkloadError(f"op {self.name!r}: {field}: expected {expected}, got {got!r}")

        if self.kind not in OP_KINDS:
            raise bad("kind", f"one of {', '.join(OP_KINDS)}", self.kind)
        if self.repeat < 1:
            raise bad("repeat", "an integer >= 1", self.repeat)
        for f in ("dtype", "a_dtype", "b_dtype", "c_dtype", "scale_dtype"):
            if canonical_dtype(getattr(self, f)) not in DTYPE_BITS:
                raise bad(f, f"a dtype among {', '.join(DTYPE_BITS)}", getattr(self, f))
        if self.kind in ("gemm", "grouped_gemm", "elementwise", "embedding"):
            for f in ("m", "n") + (("k",) if self.kind != "elementwise" else ()):
                v = getattr(self, f)
                if self.kind == "grouped_gemm" and f == "m":
                    continue
                if not isinstance(v, int) or v < 1:
                    raise bad(f, "an integer >= 1", v)
        if self.batch < 1:
            raise bad("batch", "an integer >= 1", self.batch)
        for f in ("b_density", "a_density"):
            v = getattr(self, f)
            if not (0.0 < v <= 1.0):
                raise bad(f, "a density in (0, 1]", v)
        if self.kind == "grouped_gemm":
            if not self.group_tokens:
                raise bad("group_tokens", "one token count per expert", self.group_tokens)
            if any(t < 0 for t in self.group_tokens):
                raise bad("group_tokens", "counts >= 0", self.group_tokens)
            if sum(self.group_tokens) != self.m:
                raise bad("m", f"the sum of group_tokens ({sum(self.group_tokens)})", self.m)
            if self.group_device and len(self.group_device) != len(self.group_tokens):
                raise bad("group_device", "one device per expert", self.group_device)
        if self.kind == "collective":
            if self.collective not in COLLECTIVES:
                raise bad("collective", f"one of {', '.join(COLLECTIVES)}", self.collective)
            if self.n_devices < 1:
                raise bad("n_devices", "an integer >= 1", self.n_devices)
            if self.n_bytes < 0:
                raise bad("n_bytes", "bytes >= 0", self.n_bytes)
            if self.traffic_bytes and len(self.traffic_bytes) != self.n_devices**2:
                raise bad("traffic_bytes", f"{self.n_devices}x{self.n_devices} entries", len(self.traffic_bytes))
        if self.scale_group_size < 0 or self.a_scale_group_size < 0:
            raise bad("scale_group_size", "0 (no scales) or a group size >= 1", self.scale_group_size)
        if self.scale_block_n < 1:
            raise bad("scale_block_n", "an integer >= 1", self.scale_block_n)
        if self.top_k < 0:
            raise bad("top_k", "an integer >= 0", self.top_k)
        for f in ("launch_ctas", "launch_threads_per_cta", "launch_dram_rounds", "launch_cache_rounds"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f, "an integer >= 0", v)
        if self.launch_ctas or self.launch_threads_per_cta:
            if self.kind not in ("elementwise", "embedding"):
                raise bad(
                    "launch_ctas", "0 (a launch shape describes an elementwise or embedding kernel)", self.launch_ctas
                )
            if not (self.launch_ctas and self.launch_threads_per_cta):
                raise bad(
                    "launch_threads_per_cta",
                    "launch_ctas and launch_threads_per_cta both >= 1 (or both 0)",
                    (self.launch_ctas, self.launch_threads_per_cta),
                )
        elif self.launch_dram_rounds or self.launch_cache_rounds:
            raise bad("launch_ctas", "an integer >= 1 when the launch shape has rounds", self.launch_ctas)

    @property
    def n_groups(self) -> int:
        """Number of experts of a grouped GEMM (1 otherwise)."""
        return len(self.group_tokens) if self.kind == "grouped_gemm" else 1

    @property
    def flops(self) -> float:
        """Useful (dense-equivalent) FLOPs of one execution: 2 per MAC, ``flops_per_element`` per element."""
        if self.kind == "gemm":
            return 2.0 * self.m * self.n * self.k * self.batch
        if self.kind == "grouped_gemm":
            return 2.0 * self.m * self.n * self.k
        if self.kind == "elementwise":
            return self.flops_per_element * self.m * self.n * self.batch
        return 0.0

    @property
    def weight_bytes(self) -> float:
        """Bytes of the stored weight values (compressed by sparsity), metadata and scales excluded."""
        if self.kind not in ("gemm", "grouped_gemm", "embedding") or not self.b_is_weight:
            return 0.0
        values = self.k * self.n * (self.n_groups if self.kind == "grouped_gemm" else self.batch)
        density = self.b_density if self.kind != "embedding" else 1.0
        return values * density * DTYPE_BITS[canonical_dtype(self.b_dtype)] / 8

    @property
    def n_weight_matrices(self) -> int:
        """Number of ``k x n`` weight matrices of the op (experts, bmm batch); 0 without a weight."""
        if self.kind == "embedding":
            return 1
        if self.kind not in ("gemm", "grouped_gemm") or not self.b_is_weight:
            return 0
        return self.n_groups if self.kind == "grouped_gemm" else self.batch

    @property
    def weight_metadata_bytes(self) -> float:
        """Bytes of the sparse-weight index metadata in the trace's default storage format.

        ``N:M``: ``ceil(log2 M)`` bits per kept value (2:4 -> 2 bits per nonzero, as on NVIDIA
        sparse tensor cores); ``unstructured`` and ``mask``: a bitmap, 1 bit per dense value;
        ``block:RxC``: 1 bit per block; ``dense``: none. A compute model may store another format.
        """
        mats = self.n_weight_matrices
        if mats == 0 or self.kind == "embedding":
            return 0.0
        pattern = self.b_pattern
        values = self.k * self.n * mats
        if pattern == "dense":
            return 0.0
        if pattern.startswith("block:"):
            try:
                rows, cols = (int(x) for x in pattern[len("block:") :].split("x"))
            except ValueError:
                return values / 8
            return math.ceil(self.k / rows) * math.ceil(self.n / cols) * mats / 8
        if ":" in pattern:
            try:
                nn, mm = (int(x) for x in pattern.split(":"))
            except ValueError:
                return values / 8
            index_bits = max(1, math.ceil(math.log2(mm)))
            return values * nn / mm * index_bits / 8
        return values / 8

    @property
    def n_scales(self) -> int:
        """Scales of operand B: ``ceil(k / scale_group_size) * ceil(n / scale_block_n)`` per matrix."""
        if self.kind not in ("gemm", "grouped_gemm") or self.scale_group_size == 0:
            return 0
        mats = self.n_groups if self.kind == "grouped_gemm" else self.batch
        return math.ceil(self.k / self.scale_group_size) * math.ceil(self.n / self.scale_block_n) * mats

    @property
    def weight_scale_bytes(self) -> float:
        """Bytes of the weight quantization scales (0 when B is not a weight)."""
        if self.n_weight_matrices == 0 or self.kind == "embedding":
            return 0.0
        return self.n_scales * DTYPE_BITS[canonical_dtype(self.scale_dtype)] / 8

    def replace(self, **changes: object) -> Op:
        """A copy with ``changes`` applied (re-validated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


OP_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Op))
"""The trace table columns, in order: exactly the :class:`Op` field names."""
