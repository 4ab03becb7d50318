"""Workload transforms on op tuples: weight pruning, quantization, activation sparsity.

Each function takes ops and returns new ops; :class:`~simsparse.workload.Workload` wraps them
as chainable methods. Impossible requests raise :class:`~simsparse.errors.WorkloadError`.

Op selectors (``ops=``), comma-separated, each a group name or an ``fnmatch`` pattern on op
names: ``linear`` (every weight GEMM but the MoE router and the LM head), ``all`` (every weight
GEMM), ``attention``, ``ffn`` (dense FFN, experts and shared experts), ``dense_ffn``,
``experts``, ``shared``, ``router``, ``lm_head``.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simsparse.errors import WorkloadError, closest
from simsparse.units import DTYPE_BITS

from .op import Op

__all__ = [
    "ACT_QUANT_MODES",
    "QUANT_SCHEMES",
    "SELECTORS",
    "QuantScheme",
    "act_quant_ops",
    "activation_sparsity",
    "block_nnz",
    "load_array_file",
    "magnitude_mask",
    "parse_prune_pattern",
    "prune",
    "quantize",
    "select",
]

_GROUPS: dict[str, Callable[[Op], bool]] = {
    "linear": lambda op: op.name not in ("moe.router", "lm_head"),
    "all": lambda op: True,
    "attention": lambda op: op.name.startswith("attn."),
    "ffn": lambda op: op.name.startswith(("ffn.", "moe.experts.", "moe.shared.")),
    "dense_ffn": lambda op: op.name.startswith("ffn."),
    "experts": lambda op: op.name.startswith("moe.experts."),
    "shared": lambda op: op.name.startswith("moe.shared."),
    "router": lambda op: op.name == "moe.router",
    "lm_head": lambda op: op.name == "lm_head",
}
SELECTORS: tuple[str, ...] = tuple(_GROUPS)


def select(ops: tuple[Op, ...], selector: str, *, weights_only: bool, what: str) -> list[bool]:
    """Which of ``ops`` (GEMMs, grouped GEMMs) ``selector`` picks; an error if a term picks none."""
    candidates = [op.kind in ("gemm", "grouped_gemm") and (op.b_is_weight or not weights_only) for op in ops]
    chosen = [False] * len(ops)
    terms = [t.strip() for t in selector.split(",") if t.strip()]
    if not terms:
        raise WorkloadError(
            f"{what}: ops: expected a selector ({', '.join(SELECTORS)}) or an op-name pattern, got {selector!r}"
        )
    for term in terms:
        pred = _GROUPS.get(term)
        hit = False
        for i, op in enumerate(ops):
            if not candidates[i]:
                continue
            if pred(op) if pred is not None else fnmatch.fnmatchcase(op.name, term):
                chosen[i] = hit = True
        if not hit:
            names = sorted({op.name for i, op in enumerate(ops) if candidates[i]})
            kind = "weight GEMM" if weights_only else "GEMM"
            raise WorkloadError(
                f"{what}: ops: {term!r} selects no {kind} of this workload{closest(term, list(SELECTORS) + names)}; "
                f"selectors: {', '.join(SELECTORS)}; ops: {', '.join(names) or 'none'}"
            )
    return chosen


# ---- pruning ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrunePattern:
    kind: str  # dense | unstructured | nm | block | mask
    density: float = 1.0
    n: int = 0
    m: int = 0
    rows: int = 0
    cols: int = 0
    path: str = ""
    inner: PrunePattern | None = None

    @property
    def label(self) -> str:
        if self.kind == "nm":
            return f"{self.n}:{self.m}"
        if self.kind == "block":
            return f"block:{self.rows}x{self.cols}"
        return self.kind


_MASK_RE = re.compile(r"^mask:(.+?\.(?:npy|npz|safetensors))(?::(.+))?$")


def _density(text: str, spec: str) -> float:
    try:
        d = float(text)
    except ValueError:
        raise WorkloadError(f"prune {spec!r}: density: expected a number in (0, 1], got {text!r}") from None
    if not 0.0 < d <= 1.0:
        raise WorkloadError(f"prune {spec!r}: density: expected a number in (0, 1], got {d!r}")
    return d


def parse_prune_pattern(spec: str) -> PrunePattern:
    """Parse ``unstructured:<d>``, ``N:M``, ``block:<r>x<c>:<d>``, ``mask:<file>[:<pattern>]``, ``dense``."""
    spec = spec.strip()
    if spec == "dense":
        return PrunePattern("dense")
    if spec.startswith("mask:"):
        mt = _MASK_RE.match(spec)
        if mt is None:
            raise WorkloadError(f"prune {spec!r}: expected 'mask:<file.npy|.npz|.safetensors>[:<pattern>]'")
        inner = parse_prune_pattern(mt.group(2)) if mt.group(2) else None
        if inner is not None and inner.kind in ("mask", "dense"):
            raise WorkloadError(f"prune {spec!r}: the pattern after the file must be unstructured, N:M or block")
        return PrunePattern("mask", path=mt.group(1), inner=inner)
    if spec.startswith("unstructured:"):
        return PrunePattern("unstructured", density=_density(spec.split(":", 1)[1], spec))
    if spec.startswith("block:"):
        parts = spec.split(":")
        if len(parts) != 3 or not re.fullmatch(r"\d+x\d+", parts[1]):
            raise WorkloadError(f"prune {spec!r}: expected 'block:<rows>x<cols>:<density>' (e.g. block:16x16:0.5)")
        r, c = (int(x) for x in parts[1].split("x"))
        if r < 1 or c < 1:
            raise WorkloadError(f"prune {spec!r}: block: expected rows and cols >= 1")
        return PrunePattern("block", density=_density(parts[2], spec), rows=r, cols=c)
    mt = re.fullmatch(r"(\d+):(\d+)", spec)
    if mt:
        n, m = int(mt.group(1)), int(mt.group(2))
        if not (1 <= n <= m) or m < 2:
            raise WorkloadError(f"prune {spec!r}: N:M: expected 1 <= N <= M and M >= 2")
        return PrunePattern("nm", density=n / m, n=n, m=m)
    kinds = ["dense", "unstructured:<density>", "N:M", "block:<r>x<c>:<density>", "mask:<file>"]
    head = spec.split(":", 1)[0]
    raise WorkloadError(
        f"prune: expected one of {', '.join(kinds)}{closest(head, ['dense', 'unstructured', 'block', 'mask'])}, got {spec!r}"
    )


def block_nnz(mask: npt.NDArray[np.bool_], block_rows: int, block_cols: int) -> npt.NDArray[np.int64]:
    """Nonzeros of each ``block_rows x block_cols`` tile of ``mask`` (edge tiles zero-padded)."""
    rows, cols = mask.shape
    br, bc = math.ceil(rows / block_rows), math.ceil(cols / block_cols)
    padded = np.zeros((br * block_rows, bc * block_cols), dtype=np.int64)
    padded[:rows, :cols] = mask
    out: npt.NDArray[np.int64] = padded.reshape(br, block_rows, bc, block_cols).sum(axis=(1, 3))
    return out


def magnitude_mask(weights: npt.NDArray[np.floating], pattern: PrunePattern) -> npt.NDArray[np.bool_]:
    """Magnitude-prune ``weights`` (``k x n``: N:M groups run along ``k``) to ``pattern``."""
    mag = np.abs(np.asarray(weights, dtype=np.float64))
    k, n = mag.shape
    if pattern.kind == "unstructured":
        keep = round(pattern.density * mag.size)
        flat = np.zeros(mag.size, dtype=bool)
        if keep:
            flat[np.argsort(-mag.ravel(), kind="stable")[:keep]] = True
        return flat.reshape(k, n)
    if pattern.kind == "nm":
        if k % pattern.m:
            raise WorkloadError(f"prune {pattern.label}: the mask's k ({k}) is not divisible by {pattern.m}")
        groups = mag.T.reshape(n, k // pattern.m, pattern.m)
        order = np.argsort(-groups, axis=2, kind="stable")[:, :, : pattern.n]
        keep_g = np.zeros_like(groups, dtype=bool)
        np.put_along_axis(keep_g, order, True, axis=2)
        return np.ascontiguousarray(keep_g.reshape(n, k).T)
    if pattern.kind == "block":
        r, c = pattern.rows, pattern.cols
        if k % r or n % c:
            raise WorkloadError(f"prune {pattern.label}: the mask's shape {k}x{n} is not a multiple of {r}x{c}")
        score = mag.reshape(k // r, r, n // c, c).sum(axis=(1, 3))
        keep = round(pattern.density * score.size)
        chosen = np.zeros(score.size, dtype=bool)
        if keep:
            chosen[np.argsort(-score.ravel(), kind="stable")[:keep]] = True
        blocks = chosen.reshape(score.shape)
        return np.repeat(np.repeat(blocks, r, axis=0), c, axis=1)
    raise WorkloadError(f"prune: cannot magnitude-prune to {pattern.label!r}")


_ST_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def _read_safetensors(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """Parse a ``.safetensors`` file: 8-byte little-endian header size, JSON header, raw data."""
    raw = path.read_bytes()
    if len(raw) < 8:
        raise WorkloadError(f"{path}: expected a safetensors file, got {len(raw)} bytes")
    size = int.from_bytes(raw[:8], "little")
    if size > len(raw) - 8:
        raise WorkloadError(f"{path}: safetensors header size {size} exceeds the file")
    try:
        header = json.loads(raw[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkloadError(f"{path}: safetensors header: expected JSON ({exc})") from None
    data = memoryview(raw)[8 + size :]
    out: dict[str, npt.NDArray[np.generic]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (start, stop) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        buf = bytes(data[start:stop])
        if dtype == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _ST_DTYPES:
            arr = np.frombuffer(buf, dtype=_ST_DTYPES[dtype])
        else:
            raise WorkloadError(
                f"{path}: tensor {name!r}: dtype {dtype} is not supported (F64/F32/F16/BF16, ints, BOOL)"
            )
        out[name] = arr.reshape(shape)
    return out


def load_array_file(path: str | os.PathLike[str]) -> dict[str, npt.NDArray[np.generic]]:
    """The arrays of a ``.npy``, ``.npz`` or ``.safetensors`` file, by name."""
    p = Path(path)
    if not p.is_file():
        raise WorkloadError(f"{p}: expected an existing mask/weights file")
    try:
        if p.suffix == ".npy":
            return {p.stem: np.load(p, allow_pickle=False)}
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if p.suffix == ".safetensors":
            return _read_safetensors(p)
    except (OSError, ValueError) as exc:
        raise WorkloadError(f"{p}: could not read ({exc})") from None
    raise WorkloadError(f"{p}: expected a .npy, .npz or .safetensors file")


def _mask_for(
    op: Op, arrays: dict[str, npt.NDArray[np.generic]], pattern: PrunePattern, path: str
) -> npt.NDArray[np.bool_]:
    """A ``k x n`` (or ``groups*k x n`` for grouped ops) mask for ``op`` from the file's arrays."""
    mats = op.n_weight_matrices
    for arr in arrays.values():
        a = np.asarray(arr)
        if a.ndim == 3 and a.shape[0] == mats:
            a = a.reshape(-1, a.shape[2]) if a.shape[1:] == (op.k, op.n) else a
        if a.ndim == 3 and a.shape == (mats, op.n, op.k):
            a = np.transpose(a, (0, 2, 1)).reshape(-1, op.n)
        if a.ndim != 2:
            continue
        if a.shape == (mats * op.k, op.n):
            mat = a
        elif mats == 1 and a.shape == (op.n, op.k):
            mat = a.T
        else:
            continue
        if mat.dtype != np.bool_ and pattern.inner is not None:
            parts = np.split(mat.astype(np.float64), mats)
            return np.concatenate([magnitude_mask(x, pattern.inner) for x in parts])
        return np.asarray(mat != 0)  # a 0/1 or boolean mask, or already-pruned weights
    shapes = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in arrays.items())
    raise WorkloadError(
        f"prune mask:{path}: op {op.name!r} ({op.layer}) needs a k x n = {op.k}x{op.n} array (or n x k"
        f"{', or ' + str(mats) + ' stacked' if mats > 1 else ''}); the file holds {shapes}"
    )


def prune(
    ops: tuple[Op, ...], pattern: str, selector: str = "linear", *, stats_block: tuple[int, int] = (64, 64)
) -> tuple[Op, ...]:
    """Sparsify the weights of the selected ops to ``pattern``."""
    pat = parse_prune_pattern(pattern)
    chosen = select(ops, selector, weights_only=True, what=f"prune {pattern!r}")
    arrays = load_array_file(pat.path) if pat.kind == "mask" else {}
    out = []
    for op, pick in zip(ops, chosen, strict=True):
        if not pick:
            out.append(op)
            continue
        where = f"prune {pattern!r}: op {op.name!r} ({op.layer})"
        if pat.kind == "dense":
            op = op.replace(b_pattern="dense", b_density=1.0, b_block_nnz=(), b_block_shape=())
        elif pat.kind == "unstructured":
            op = op.replace(b_pattern="unstructured", b_density=pat.density, b_block_nnz=(), b_block_shape=())
        elif pat.kind == "nm":
            if op.k % pat.m:
                raise WorkloadError(f"{where}: {pat.label} needs k divisible by {pat.m}, got k={op.k}")
            op = op.replace(b_pattern=pat.label, b_density=pat.density, b_block_nnz=(), b_block_shape=())
        elif pat.kind == "block":
            if op.k % pat.rows or op.n % pat.cols:
                raise WorkloadError(
                    f"{where}: {pat.label} needs k divisible by {pat.rows} and n by {pat.cols}, got k={op.k}, n={op.n}"
                )
            op = op.replace(b_pattern=pat.label, b_density=pat.density, b_block_nnz=(), b_block_shape=())
        else:
            mask = _mask_for(op, arrays, pat, pat.path)
            nnz = int(mask.sum())
            if nnz == 0:
                raise WorkloadError(f"{where}: the mask keeps no weight (density 0)")
            br, bc = stats_block
            counts = block_nnz(mask, br, bc)
            label = pat.inner.label if pat.inner is not None and pat.inner.kind != "unstructured" else "unstructured"
            if pat.inner is not None and pat.inner.kind == "nm" and op.k % pat.inner.m:
                raise WorkloadError(f"{where}: {pat.inner.label} needs k divisible by {pat.inner.m}, got k={op.k}")
            op = op.replace(
                b_pattern=label,
                b_density=nnz / mask.size,
                b_block_nnz=tuple(int(x) for x in counts.ravel()),
                b_block_shape=(br, bc),
            )
        out.append(op)
    return tuple(out)


# ---- quantization -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QuantScheme:
    """Operand dtypes and scale layout of a quantization scheme.

    ``group``: values per scale along ``k`` (``-1``: the whole ``k``, i.e. per output channel;
    ``0``: no scales); ``block_n``: output columns per scale (``-1``: all, i.e. per tensor).
    ``fixed_group``: the format fixes the group (NVFP4 16, MXFP4 32).
    """

    weight_dtype: str = ""
    act_dtype: str = ""
    compute_dtype: str = ""
    scale_dtype: str = "fp16"
    group: int = 0
    block_n: int = 1
    act_group: int = 0
    kv_dtype: str = ""
    fixed_group: bool = False
    description: str = ""


_E8M0 = "e8m0" if "e8m0" in DTYPE_BITS else "int8"  # MX shared exponent: 8 bits

QUANT_SCHEMES: dict[str, QuantScheme] = {
    "w8a8": QuantScheme(
        weight_dtype="int8",
        act_dtype="int8",
        compute_dtype="int8",
        scale_dtype="fp32",
        group=-1,
        act_group=-1,
        description="int8 weights (per-channel fp32 scales) x int8 activations (per-token scales), SmoothQuant-style",
    ),
    "w8a16": QuantScheme(
        weight_dtype="int8", scale_dtype="fp16", group=-1, description="int8 weight-only, per-channel fp16 scales"
    ),
    "w4a16": QuantScheme(
        weight_dtype="int4",
        scale_dtype="fp16",
        group=128,
        description="int4 weight-only (AWQ/GPTQ, symmetric), fp16 scale per group of 128 along k",
    ),
    "w4a8": QuantScheme(
        weight_dtype="int4",
        act_dtype="fp8_e4m3",
        compute_dtype="fp8_e4m3",
        scale_dtype="fp16",
        group=128,
        description="int4 weights (fp16 scale per 128) x fp8 activations (per-tensor scale)",
    ),
    "fp8": QuantScheme(
        weight_dtype="fp8_e4m3",
        act_dtype="fp8_e4m3",
        compute_dtype="fp8_e4m3",
        scale_dtype="fp32",
        group=-1,
        act_group=-1,
        description="fp8 e4m3 weights (per-channel fp32 scales) x fp8 activations (per-token scales)",
    ),
    "fp8_block": QuantScheme(
        weight_dtype="fp8_block",
        act_dtype="fp8_e4m3",
        # the block-scaled compute dtype: presets give it its own rate and measured sustained fraction
        # (FP32 promotion of the partial sums every 128 of K costs tensor-pipe time on Hopper)
        compute_dtype="fp8_block",
        scale_dtype="fp32",
        group=128,
        block_n=128,
        act_group=128,
        description="DeepSeek-V3 fp8: fp32 scale per 128x128 weight block, per 1x128 activation group",
    ),
    "nvfp4": QuantScheme(
        weight_dtype="nvfp4",
        act_dtype="nvfp4",
        compute_dtype="nvfp4",
        scale_dtype="fp8_e4m3",
        group=16,
        act_group=16,
        fixed_group=True,
        description="NVFP4: e2m1 values, fp8 e4m3 scale per 16 (4.5 bits/value); per-tensor fp32 scale not counted",
    ),
    "mxfp4": QuantScheme(
        weight_dtype="mxfp4",
        act_dtype="mxfp4",
        compute_dtype="mxfp4",
        scale_dtype=_E8M0,
        group=32,
        act_group=32,
        fixed_group=True,
        description="OCP MXFP4: e2m1 values, e8m0 scale per 32 (4.25 bits/value)",
    ),
    "mxfp4_w4a16": QuantScheme(
        weight_dtype="mxfp4",
        scale_dtype=_E8M0,
        group=32,
        fixed_group=True,
        description="MXFP4 weights (e8m0 scale per 32), 16-bit activations (gpt-oss style)",
    ),
    "kv_fp8": QuantScheme(
        kv_dtype="fp8_e4m3", scale_dtype="fp32", group=0, description="fp8 e4m3 KV cache, per-tensor scale"
    ),
    "kv_int8": QuantScheme(
        kv_dtype="int8", scale_dtype="fp16", group=-1, description="int8 KV cache, fp16 scale per token and head"
    ),
    "kv_int4": QuantScheme(
        kv_dtype="int4",
        scale_dtype="fp16",
        group=-1,
        description="int4 KV cache, fp16 scale per token and head (or per group_size values)",
    ),
}


def _kv_ops(ops: tuple[Op, ...]) -> list[str]:
    """Role of each op with respect to the KV cache: 'b' (B is the cache), 'a', 'write' or ''."""
    mla_prefill_layers = {op.layer for op in ops if op.name == "attn.kv_b"}
    roles = []
    for op in ops:
        if op.name == "attn.kv_write":
            roles.append("write")
        elif op.name == "attn.kv_b":
            roles.append("a")
        elif op.name in ("attn.score", "attn.context") and not op.b_is_weight and op.layer not in mla_prefill_layers:
            roles.append("b")
        else:
            roles.append("")
    return roles


ACT_QUANT_MODES: dict[str, str] = {
    "fused": "the kernel producing the activation (norm, activation function) writes it quantized: no "
    "extra kernel (the producer's output is still counted at its own dtype, an overstatement of at most "
    "one 16-bit activation write per GEMM)",
    "kernel": "one quantize kernel before each quantized GEMM: reads the 16-bit activation, writes the "
    "quantized values and their scales; per-token or per-group scales are found in the same pass (the row "
    "or group is held in registers), a static per-tensor scale needs none",
    "dynamic_tensor": "an amax reduction kernel over the whole activation, then the quantize kernel: dynamic "
    "per-tensor scales (TensorRT-LLM's fp8 GEMM path, the one AIConfigurator's fp8 GEMM table times)",
}
"""How activations are quantized for schemes with a quantized activation (``w8a8``, ``w4a8``, ``fp8``,
``fp8_block``, ``nvfp4``, ``mxfp4``): ``quantize(..., act_quant=)``."""

_ACT_QUANT_FLOPS = 2.0
"""Flops per element of an activation quantize pass: one scale multiply and one convert (the
rounding clamp folds into the convert); the amax pass: one abs and one max."""


def act_quant_ops(op: Op, mode: str, *, src_dtype: str | None = None) -> tuple[Op, ...]:
    """The kernels that quantize the activation (A operand) of ``op`` before it runs, per
    :data:`ACT_QUANT_MODES` (``fused``: none). ``src_dtype``: the activation's dtype before
    quantization (default: the op's output dtype, the layer's activation dtype). Rows are the op's
    rows on one device: for an expert-parallel grouped GEMM, its routed rows spread over the devices
    holding its experts (as the builders size the expert activation op)."""
    if mode not in ACT_QUANT_MODES:
        raise WorkloadError(
            f"quantize: act_quant: expected one of {', '.join(ACT_QUANT_MODES)}"
            f"{closest(mode, list(ACT_QUANT_MODES))}, got {mode!r}"
        )
    if mode == "fused":
        return ()
    rows = op.m * op.batch
    if op.kind == "grouped_gemm" and op.group_device:
        rows = -(-op.m // (max(op.group_device) + 1))
    src = src_dtype or op.c_dtype
    names = ("act_amax", "act_quant") if mode == "dynamic_tensor" else ("act_quant",)
    return tuple(
        Op(
            name=f"{op.name}.{suffix}",
            kind="elementwise",
            layer=op.layer,
            repeat=op.repeat,
            m=rows,
            n=op.k,
            flops_per_element=_ACT_QUANT_FLOPS,
            n_inputs=1,
            dtype=src,
            a_dtype=src,
            b_dtype=src,
            # the amax pass writes one scalar; it is counted as an output of the quantized width (an
            # overstatement of rows x k bytes at most, well under the 16-bit read)
            c_dtype=op.a_dtype,
        )
        for suffix in names
    )


def quantize(
    ops: tuple[Op, ...],
    scheme: str,
    group_size: int | None = None,
    selector: str | None = None,
    act_quant: str = "fused",
) -> tuple[Op, ...]:
    """Quantize the selected ops' operands to ``scheme`` (see :data:`QUANT_SCHEMES`); schemes with a
    quantized activation add the kernels of ``act_quant`` (:data:`ACT_QUANT_MODES`) before each."""
    if act_quant not in ACT_QUANT_MODES:
        raise WorkloadError(
            f"quantize {scheme!r}: act_quant: expected one of {', '.join(ACT_QUANT_MODES)}"
            f"{closest(act_quant, list(ACT_QUANT_MODES))}, got {act_quant!r}"
        )
    if scheme not in QUANT_SCHEMES:
        raise WorkloadError(
            f"quantize: scheme: expected one of {', '.join(QUANT_SCHEMES)}{closest(scheme, list(QUANT_SCHEMES))}, got {scheme!r}"
        )
    qs = QUANT_SCHEMES[scheme]
    if group_size is not None and (isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1):
        raise WorkloadError(f"quantize {scheme!r}: group_size: expected an integer >= 1, got {group_size!r}")
    if qs.fixed_group and group_size is not None and group_size != qs.group:
        raise WorkloadError(f"quantize {scheme!r}: group_size: the format fixes it at {qs.group}, got {group_size}")
    if qs.kv_dtype:
        if selector is not None:
            raise WorkloadError(
                f"quantize {scheme!r}: ops: a KV-cache scheme applies to the cache, not to selected ops"
            )
        roles = _kv_ops(ops)
        if not any(roles):
            raise WorkloadError(
                f"quantize {scheme!r}: the workload has no KV-cache ops (attn.score/attn.context/attn.kv_write)"
            )
        out = []
        for op, role in zip(ops, roles, strict=True):
            if role == "write" or role == "a":
                op = op.replace(a_dtype=qs.kv_dtype)
            elif role == "b":
                # per token (and head): score's B is K^T (k = head dim), context's B is V (n = head dim)
                if qs.group == 0:
                    g, bn = 0, 1
                elif op.name == "attn.score":
                    g, bn = (group_size or op.k), 1
                else:
                    g, bn = 1, (group_size or op.n)
                if g and op.name == "attn.score" and op.k % g:
                    raise WorkloadError(f"quantize {scheme!r}: group_size {g} does not divide the head dim {op.k}")
                if op.name == "attn.context" and g and op.n % bn:
                    raise WorkloadError(f"quantize {scheme!r}: group_size {bn} does not divide the head dim {op.n}")
                op = op.replace(b_dtype=qs.kv_dtype, scale_group_size=g, scale_block_n=bn, scale_dtype=qs.scale_dtype)
            out.append(op)
        return tuple(out)
    chosen = select(ops, selector or "linear", weights_only=True, what=f"quantize {scheme!r}")
    out = []
    for op, pick in zip(ops, chosen, strict=True):
        if not pick:
            out.append(op)
            continue
        if qs.group == 0:
            group, block_n = 0, 1
        elif qs.group == -1:
            group, block_n = group_size or op.k, 1
        elif scheme == "fp8_block":
            group = block_n = group_size or qs.group  # edge blocks are partial (ceil), as in DeepSeek-V3
        else:
            group, block_n = group_size or qs.group, 1
        if group and scheme != "fp8_block" and op.k % group:
            raise WorkloadError(
                f"quantize {scheme!r}: op {op.name!r} ({op.layer}): group size {group} does not divide k={op.k}"
            )
        changes: dict[str, object] = {
            "b_dtype": qs.weight_dtype,
            "scale_dtype": qs.scale_dtype,
            "scale_group_size": group,
            "scale_block_n": block_n,
        }
        if qs.act_dtype:
            ag = op.k if qs.act_group == -1 else qs.act_group
            changes.update(a_dtype=qs.act_dtype, dtype=qs.compute_dtype, a_scale_group_size=ag)
            quantized = op.replace(**changes)
            out.extend(act_quant_ops(quantized, act_quant, src_dtype=op.a_dtype))
            out.append(quantized)
            continue
        out.append(op.replace(**changes))
    return tuple(out)


def activation_sparsity(ops: tuple[Op, ...], density: float, selector: str = "ffn") -> tuple[Op, ...]:
    """Set the density of the activation operand A of the selected GEMMs (dynamic sparsity)."""
    if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0.0 < float(density) <= 1.0:
        raise WorkloadError(f"activation_sparsity: density: expected a number in (0, 1], got {density!r}")
    chosen = select(ops, selector, weights_only=False, what="activation_sparsity")
    return tuple(op.replace(a_density=float(density)) if pick else op for op, pick in zip(ops, chosen, strict=True))
