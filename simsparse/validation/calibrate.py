"""Calibration: fit the measured-efficiency fields of a GPU preset from measured rows, by transparent rules,
and report leave-one-GPU-out error (fit on A100, predict H100, and back) beside the in-sample error.

The fitted fields (dotted paths of :func:`simsparse.hw.numeric_fields`) and their rules:

``device.core.matrix_unit.sustained_fraction.<dtype>``
    Median, over the GPU's large compute-bound dense GEMM latency rows of that compute dtype, of
    ``(2 m n k / measured_s) / peak_flops(dtype)``. Compute-bound: arithmetic intensity (FLOPs per
    compulsory DRAM byte) at least twice the preset's ridge point ``peak_flops / hbm_peak``; large:
    measured latency >= 200 us (launch overhead under ~2%).
``device.memory[hbm].sustained_fraction``
    Median, over the GPU's large memory-bound bf16/fp16 GEMM rows, of ``compulsory_bytes / measured_s /
    hbm_peak``. Memory-bound: intensity at most a quarter of the ridge point; large: >= 64 MiB moved.
``device.kernel_launch_s``
    Intercept of the least-squares line ``measured_s = a + bytes / bw`` over all the GPU's memory-bound
    bf16/fp16 GEMM rows (CUDA-graph or CUDA-event timed, no host timing), minus the preset's DRAM
    latency (which the engine adds to every op); clipped at 0.
``device.simt.kernel_floor_s`` and ``device.simt.dram_round_ns``
    Weighted least squares (relative error) of the engine's prediction, which is affine in the two,
    ``floor + rounds x round_ns + the rest``, over the Vidur norm, activation, RoPE, residual-add and
    embedding rows of :data:`STREAMING_FIT_MODEL` (kernel durations from ``torch.profiler``; each op
    carries the launch shape of its kernel's source, ``simsparse.validation.compare``); clipped at 0.
    The other model's rows are held out and their error is reported in the rule.
``interconnect.sustained_fraction``
    Median, over NCCL all-reduce rows of >= 64 MiB that run a ring (on an NVLS switch: fewer than 3
    GPUs), of the bus bandwidth ``2 (p-1)/p bytes / measured_s`` over the per-GPU NVLink bandwidth
    ``link_gb_per_s x n_links_per_device`` (the Simple-protocol bus bandwidth of NCCL's model).
``interconnect.nvls_sustained_fraction`` (only where the preset's switch has NVLS, i.e. the field > 0)
    Median, over all-reduce rows of >= 64 MiB on >= 3 GPUs, of the algorithm bandwidth
    ``bytes / measured_s`` over the per-GPU NVLink bandwidth.
``interconnect.link_latency_ns`` and ``interconnect.collective_overhead_s``
    Slope and intercept of the least-squares line ``measured_s - kernel_launch_s - LL bandwidth term
    = overhead + 2 (p-1) x latency`` over all-reduce rows of <= 64 KiB on several GPU counts (NCCL
    runs LL there; the LL bus bandwidth is NCCL's 1/4 of the Simple one): the LL base and per-hop
    latency, from which LL128/Simple/NVLS follow by NCCL's ratios; clipped at 0.
``interconnect.p2p_sustained_fraction``
    Median, over all-to-all rows of >= 64 MiB, of the bus bandwidth ``(p-1)/p bytes / measured_s``
    over the per-GPU NVLink bandwidth.
``interconnect.p2p_overhead_s``
    Mean, over all-to-all rows of <= 64 KiB, of ``measured_s - kernel_launch_s - bandwidth term - one
    hop`` (protocol as NCCL picks it per peer, LL up to 16 KiB); clipped at 0.

:func:`refine_with_model` then makes the efficiency fractions consistent with the engine; the
shipped A100/H100 presets carry the refined values.

Nothing is written to a preset: :func:`apply_constants` returns systems changed with
``dataclasses.replace`` and :func:`leave_one_gpu_out` reports the error of each variant.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from simsparse.config import load_hardware
from simsparse.errors import SimulationError
from simsparse.hw import System
from simsparse.models.interconnect import nccl
from simsparse.units import DTYPE_BITS, canonical_dtype

from .compare import compare_frame
from .datasets import list_datasets, load_measurements, parse_extra, records

__all__ = [
    "CALIBRATION_FIELDS",
    "GPU_FAMILIES",
    "apply_constants",
    "fit_constants",
    "leave_one_gpu_out",
    "refine_with_model",
    "target_rows",
]

Constants = dict[str, tuple[float, str]]

GPU_FAMILIES: dict[str, tuple[str, str]] = {"A100": ("a100-sxm", "dgx-a100"), "H100": ("h100-sxm", "dgx-h100")}
"""Calibratable GPU families: (single-GPU preset, multi-GPU preset)."""

CALIBRATION_FIELDS: tuple[str, ...] = (
    "device.core.matrix_unit.sustained_fraction.<dtype>",
    "device.memory[hbm].sustained_fraction",
    "device.kernel_launch_s",
    "device.simt.kernel_floor_s",
    "device.simt.dram_round_ns",
    "interconnect.sustained_fraction",
    "interconnect.link_latency_ns",
    "interconnect.collective_overhead_s",
    "interconnect.p2p_sustained_fraction",
    "interconnect.p2p_overhead_s",
    "interconnect.nvls_sustained_fraction",
)

COMPUTE_MIN_US = 200.0
MEMORY_MIN_BYTES = 64 * 2**20
LARGE_MESSAGE_BYTES = 64 * 2**20
SMALL_MESSAGE_BYTES = 64 * 2**10

_DENSE_DTYPES: dict[str, str] = {
    "bf16": "bf16",
    "fp16": "fp16",
    "fp8": "fp8_e4m3",
    "fp8_block": "fp8_block",
    "w8a8_sq": "int8",
}
"""Dataset dtype -> compute dtype for the rows that fit the matrix-unit fractions (weight-only rows are
excluded: their time includes dequantization)."""

_LINEAR_VIDUR_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")

STREAMING_FIT_MODEL = "meta-llama/Llama-2-7b-hf"
"""The Vidur model whose streaming-kernel rows fit ``device.simt``; the other model's rows are held out."""

_PROBE_ROUND_NS = (100.0, 1000.0)
"""Two round-trip times the engine is run at to read off how a row's prediction depends on it."""


def _family(gpu: str) -> str | None:
    low = gpu.lower()
    if "h100" in low or "h800" in low:
        return "H100"
    if "a100" in low and "unstated" not in low:
        return "A100"
    return None


def _gemm_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Latency rows of single dense GEMMs (AIC/LLMCompass/DeepGEMM gemm rows and Vidur linear ops),
    with their compulsory bytes and FLOPs."""
    rows = []
    for r in records(df):
        if r["metric"] != "latency_us" or any(isinstance(r[c], float) and math.isnan(r[c]) for c in ("m", "n", "k")):
            continue
        extra = parse_extra(r["extra"])
        if r["kind"] == "mlp_op" and extra.get("op") not in _LINEAR_VIDUR_OPS:
            continue
        if r["kind"] not in ("gemm", "mlp_op") or r["dtype"] not in _DENSE_DTYPES:
            continue
        if str(r["source_id"]).startswith(("pytorch.pr", "llmcompass")):
            continue  # host-timed (includes launch and framework overhead)
        m, n, k = float(r["m"]), float(r["n"]), float(r["k"])
        cdt = _DENSE_DTYPES[r["dtype"]]
        ab = DTYPE_BITS[canonical_dtype(cdt)] / 8
        cb = 2.0
        rows.append(
            {
                **r,
                "compute_dtype": cdt,
                "flops": 2 * m * n * k,
                "bytes": m * k * ab + k * n * ab + m * n * cb,
                "seconds": float(r["value"]) * 1e-6,
            }
        )
    return pd.DataFrame.from_records(rows)


def _sets(values: pd.Series) -> str:
    """The distinct values, sorted and comma-separated (dataset names in a fit's description)."""
    return ", ".join(sorted({str(v) for v in values}))


def fit_constants(
    df_measured: pd.DataFrame, gpu: str, *, system: System | None = None, multi_system: System | None = None
) -> Constants:
    """Fit the calibratable fields of GPU family ``gpu`` (``"A100"`` or ``"H100"``) from measured rows.

    Returns ``{field_path: (value, how)}``; ``how`` says which rule, over how many rows, and from which
    datasets. Fields without enough rows are left out.
    """
    if gpu not in GPU_FAMILIES:
        raise SimulationError(f"gpu: expected one of {', '.join(GPU_FAMILIES)}, got {gpu!r}")
    single, multi = GPU_FAMILIES[gpu]
    hw = system or load_hardware(single)
    hw_multi = multi_system or load_hardware(multi)
    dev = hw.device
    hbm = dev.dram
    peak_bw = hbm.read_gb_per_s * 1e9
    df = df_measured[df_measured["gpu"].map(lambda g: _family(str(g)) == gpu)]
    out: Constants = {}
    g = _gemm_rows(df)
    if not g.empty:
        for cdt, grp in g.groupby("compute_dtype"):
            cdt = str(cdt)
            if canonical_dtype(cdt) not in dev.core.matrix_unit.macs_per_cycle:
                continue
            peak = dev.peak_flops(cdt)
            ridge = peak / peak_bw
            sel = grp[(grp["flops"] / grp["bytes"] >= 2 * ridge) & (grp["value"] >= COMPUTE_MIN_US)]
            if len(sel):
                frac = float(np.median(sel["flops"] / sel["seconds"] / peak))
                out[f"device.core.matrix_unit.sustained_fraction.{canonical_dtype(cdt)}"] = (
                    round(min(frac, 1.0), 4),
                    f"median of achieved/peak {cdt} FLOP/s over {len(sel)} compute-bound GEMM rows "
                    f"(intensity >= 2x ridge {ridge:.0f} FLOP/B, >= {COMPUTE_MIN_US:.0f} us) of {_sets(sel['dataset'])}",
                )
        mem = g[g["compute_dtype"].isin(["bf16", "fp16"])]
        mem = mem[mem["flops"] / mem["bytes"] <= 0.25 * dev.peak_flops("bf16") / peak_bw]
        big = mem[mem["bytes"] >= MEMORY_MIN_BYTES]
        if len(big):
            frac = float(np.median(big["bytes"] / big["seconds"] / peak_bw))
            out["device.memory[hbm].sustained_fraction"] = (
                round(min(frac, 1.0), 4),
                f"median achieved/peak HBM bandwidth over {len(big)} memory-bound bf16/fp16 GEMM rows moving "
                f">= {MEMORY_MIN_BYTES >> 20} MiB of {_sets(big['dataset'])}",
            )
        if len(mem) >= 3:
            slope, intercept = np.polyfit(mem["bytes"].to_numpy(), mem["seconds"].to_numpy(), 1)
            launch = max(float(intercept) - hbm.latency_ns * 1e-9, 0.0)
            out["device.kernel_launch_s"] = (
                float(f"{launch:.3g}"),
                f"least-squares intercept {float(intercept) * 1e6:.2f} us of latency vs bytes over {len(mem)} "
                f"memory-bound bf16/fp16 GEMM rows of {_sets(mem['dataset'])} (fitted bandwidth "
                f"{1 / slope / 1e9:.0f} GB/s), minus the preset DRAM latency {hbm.latency_ns:.0f} ns",
            )
    out.update(_fit_simt(df, hw, single))
    out.update(_fit_interconnect(df, hw_multi, out.get("device.kernel_launch_s", (dev.kernel_launch_s, ""))[0]))
    return out


def _fit_simt(df: pd.DataFrame, hw: System, preset: str) -> Constants:
    """``device.simt`` from the Vidur streaming-kernel rows (module docstring); ``hw`` stands in for the
    rows' preset ``preset``."""
    simt = hw.device.simt
    if simt is None:
        return {}
    rows = df[(df["kind"] == "mlp_op") & (df["metric"] == "latency_us")]
    rows = rows[[parse_extra(str(e)).get("op") not in _LINEAR_VIDUR_OPS for e in rows["extra"]]]
    if rows.empty:
        return {}
    probes = []
    for round_ns in _PROBE_ROUND_NS:
        variant = dataclasses.replace(
            hw,
            device=dataclasses.replace(
                hw.device, simt=dataclasses.replace(simt, kernel_floor_s=0.0, dram_round_ns=round_ns)
            ),
        )
        # the model's own values: rounding to the timer resolution would break the linear read-off
        probes.append(
            compare_frame(rows.reset_index(drop=True), hardware={preset: variant}, instrument_resolution=False)
        )
    lo, hi = probes
    ok = lo["expressible"].to_numpy()
    lo, hi = lo[ok], hi[ok]
    measured = lo["measured"].to_numpy()
    slope = (hi["predicted"].to_numpy() - lo["predicted"].to_numpy()) / (_PROBE_ROUND_NS[1] - _PROBE_ROUND_NS[0])
    rest = lo["predicted"].to_numpy() - slope * _PROBE_ROUND_NS[0]
    fit = np.array([parse_extra(str(e)).get("model") == STREAMING_FIT_MODEL for e in lo["extra"]])
    if fit.sum() < 3:
        return {}
    design = np.column_stack([1.0 / measured, slope / measured])
    target = (measured - rest) / measured
    (floor_us, round_ns), *_ = np.linalg.lstsq(design[fit], target[fit], rcond=None)
    floor_us, round_ns = max(float(floor_us), 0.0), max(float(round_ns), 0.0)
    ape = np.abs(floor_us + slope * round_ns + rest - measured) / measured
    how = (
        f"weighted least squares of the relative error of floor + rounds x round_ns + rest over {int(fit.sum())} Vidur "
        f"norm/activation/RoPE/add/embedding rows of {STREAMING_FIT_MODEL.split('/')[-1]} (MAPE {ape[fit].mean():.1%}); "
        f"held out: {int((~fit).sum())} rows of the other model (MAPE {ape[~fit].mean():.1%})"
    )
    return {
        "device.simt.kernel_floor_s": (float(f"{floor_us * 1e-6:.3g}"), how),
        "device.simt.dram_round_ns": (round(round_ns, 1), how),
    }


def _collective_rows(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows = []
    for r in records(df[(df["kind"] == kind) & (df["metric"] == "latency_us")]):
        extra = parse_extra(r["extra"])
        if "num_gpus" in extra and ("message_bytes" in extra or "bytes" in extra):
            rows.append(
                {
                    "p": int(extra["num_gpus"]),
                    "bytes": float(extra.get("message_bytes", extra.get("bytes", "0"))),
                    "seconds": float(r["value"]) * 1e-6,
                    "dataset": r["dataset"],
                }
            )
    return pd.DataFrame.from_records(rows, columns=["p", "bytes", "seconds", "dataset"])


def _fit_interconnect(df: pd.DataFrame, hw_multi: System, launch: float) -> Constants:
    """The interconnect rules of the module docstring (NCCL protocol model, ``models/interconnect``)."""
    ic = hw_multi.interconnect
    out: Constants = {}
    if ic.topology == "none":
        return out
    nvlink = ic.link_gb_per_s * ic.n_links_per_device * 1e9
    a = _collective_rows(df, "allreduce")
    t = _collective_rows(df, "alltoall")
    nvls = ic.topology == "switch" and ic.nvls_sustained_fraction > 0
    eff = ic.sustained_fraction
    if not a.empty:
        large = a[a["bytes"] >= LARGE_MESSAGE_BYTES]
        ring = large[large["p"] < nccl.NVLS_MIN_DEVICES] if nvls else large
        if len(ring):
            bus = 2 * (ring["p"] - 1) / ring["p"] * ring["bytes"] / ring["seconds"]
            eff = min(float(np.median(bus / nvlink)), 1.0)
            out["interconnect.sustained_fraction"] = (
                round(eff, 4),
                f"median ring all-reduce bus bandwidth 2(p-1)/p x bytes / measured over the NVLink per-GPU "
                f"bandwidth ({nvlink / 1e9:.0f} GB/s) over {len(ring)} rows >= {LARGE_MESSAGE_BYTES >> 20} MiB"
                + (f" on < {nccl.NVLS_MIN_DEVICES} GPUs (NVLS off)" if nvls else "")
                + f" of {_sets(ring['dataset'])}",
            )
        if nvls:
            sel = large[large["p"] >= nccl.NVLS_MIN_DEVICES]
            if len(sel):
                frac = min(float(np.median(sel["bytes"] / sel["seconds"] / nvlink)), 1.0)
                out["interconnect.nvls_sustained_fraction"] = (
                    round(frac, 4),
                    f"median all-reduce algorithm bandwidth bytes / measured over the NVLink per-GPU bandwidth "
                    f"({nvlink / 1e9:.0f} GB/s) over {len(sel)} rows >= {LARGE_MESSAGE_BYTES >> 20} MiB on >= "
                    f"{nccl.NVLS_MIN_DEVICES} GPUs (NVLS eligible) of {_sets(sel['dataset'])}",
                )
        small = a[a["bytes"] <= SMALL_MESSAGE_BYTES]
        if len(small) >= 3 and small["p"].nunique() >= 2:
            ll_bus = nccl.bandwidth_factor("LL", all_reduce=True, simple_gb_per_s=nvlink * eff / 1e9) * 1e9
            bw_term = 2 * (small["p"] - 1) / small["p"] * small["bytes"] / ll_bus
            steps = (2 * (small["p"] - 1)).to_numpy(dtype=float)
            rest = (small["seconds"] - launch - bw_term).to_numpy(dtype=float)
            alpha, overhead = np.polyfit(steps, rest, 1)
            rows = f"{len(small)} all-reduce rows <= {SMALL_MESSAGE_BYTES >> 10} KiB on {sorted(set(small['p']))} GPUs of {_sets(small['dataset'])}"
            rule = "(measured - kernel_launch_s - LL bandwidth term) vs the 2(p-1) ring steps (NCCL picks LL there)"
            out["interconnect.link_latency_ns"] = (
                round(max(float(alpha), 0.0) * 1e9, 1),
                f"LL per-hop latency: least-squares slope of {rule} over {rows}",
            )
            out["interconnect.collective_overhead_s"] = (
                float(f"{max(float(overhead), 0.0):.3g}"),
                f"LL base latency: least-squares intercept of {rule} over {rows}",
            )
    if not t.empty:
        large = t[t["bytes"] >= LARGE_MESSAGE_BYTES]
        p2p = ic.p2p_sustained_fraction or eff
        if len(large):
            bus = (large["p"] - 1) / large["p"] * large["bytes"] / large["seconds"]
            p2p = min(float(np.median(bus / nvlink)), 1.0)
            out["interconnect.p2p_sustained_fraction"] = (
                round(p2p, 4),
                f"median all-to-all bus bandwidth (p-1)/p x bytes / measured over the NVLink per-GPU bandwidth "
                f"({nvlink / 1e9:.0f} GB/s) over {len(large)} rows >= {LARGE_MESSAGE_BYTES >> 20} MiB of "
                f"{_sets(large['dataset'])}",
            )
        small = t[t["bytes"] <= SMALL_MESSAGE_BYTES]
        if len(small):
            hop = out.get("interconnect.link_latency_ns", (ic.link_latency_ns, ""))[0] * 1e-9
            resid: list[float] = []
            for rec in records(small):
                p, n_bytes, seconds = int(rec["p"]), float(rec["bytes"]), float(rec["seconds"])
                proto = nccl.p2p_protocol(n_bytes / p)
                bus_bw = nccl.bandwidth_factor(proto, all_reduce=False, simple_gb_per_s=nvlink * p2p / 1e9) * 1e9
                resid.append(seconds - launch - (p - 1) / p * n_bytes / bus_bw - nccl.hop_latency_s(proto, hop))
            out["interconnect.p2p_overhead_s"] = (
                float(f"{max(float(np.mean(resid)), 0.0):.3g}"),
                f"mean of (measured - kernel_launch_s - bandwidth term - one protocol hop) over {len(small)} "
                f"all-to-all rows <= {SMALL_MESSAGE_BYTES >> 10} KiB on {sorted(set(small['p']))} GPUs of "
                f"{_sets(small['dataset'])}",
            )
    return out


def apply_constants(system: System, constants: Mapping[str, tuple[float, str] | float]) -> System:
    """``system`` with the fitted fields replaced (``dataclasses.replace``; re-validated).

    Interconnect fields are skipped for a system without an interconnect.
    """
    dev = system.device
    unit = dev.core.matrix_unit
    sustained = dict(unit.sustained_fraction)
    memory = list(dev.memory)
    dev_changes: dict[str, Any] = {}
    simt_changes: dict[str, Any] = {}
    ic_changes: dict[str, Any] = {}
    for path, item in constants.items():
        value = float(item[0] if isinstance(item, tuple) else item)
        if path.startswith("device.core.matrix_unit.sustained_fraction."):
            dtype = path.rsplit(".", 1)[1]
            if dtype in unit.macs_per_cycle:
                sustained[dtype] = value
        elif path == "device.memory[hbm].sustained_fraction":
            memory = [
                dataclasses.replace(m, sustained_fraction=value) if m.name == dev.dram.name else m for m in memory
            ]
        elif path == "device.kernel_launch_s":
            dev_changes["kernel_launch_s"] = value
        elif path.startswith("device.simt."):
            if dev.simt is not None:
                simt_changes[path.rsplit(".", 1)[1]] = value
        elif path.startswith("interconnect."):
            if system.interconnect.topology != "none":
                ic_changes[path.split(".", 1)[1]] = value
        else:
            raise SimulationError(f"constants: expected one of {', '.join(CALIBRATION_FIELDS)}, got {path!r}")
    core = dataclasses.replace(dev.core, matrix_unit=dataclasses.replace(unit, sustained_fraction=sustained))
    if simt_changes and dev.simt is not None:
        dev_changes["simt"] = dataclasses.replace(dev.simt, **simt_changes)
    device = dataclasses.replace(dev, core=core, memory=tuple(memory), **dev_changes)
    return dataclasses.replace(
        system, device=device, interconnect=dataclasses.replace(system.interconnect, **ic_changes)
    )


MODEL_REFINE_ITERATIONS = 3
"""Fixed-point iterations of :func:`refine_with_model` (the fractions change by < 0.5 % after three)."""


def refine_with_model(
    df_measured: pd.DataFrame, gpu: str, constants: Constants, *, iterations: int = MODEL_REFINE_ITERATIONS
) -> Constants:
    """Make the efficiency fractions consistent with the engine (the rule the shipped presets use).

    :func:`fit_constants` measures achieved/peak directly, but the engine already explains part of
    the gap (wave quantization, tile padding, L2 fill bandwidth, launch and DRAM latency), so applying
    those raw fractions would count those losses twice. This refinement simulates the same
    compute-bound (resp. large memory-bound) GEMM rows with the current constants and rescales
    each fraction by the median of predicted/measured latency over its rows:
    ``f <- min(1, f * median(predicted / measured))``, ``iterations`` times. The other fields are
    kept. Each ``how`` string records the rows and the final median ratio.
    """
    single, _ = GPU_FAMILIES[gpu]
    base = load_hardware(single)
    df = df_measured[df_measured["gpu"].map(lambda g: _family(str(g)) == gpu)]
    g = _gemm_rows(df)
    if g.empty:
        return dict(constants)
    cols = [c for c in df_measured.columns if c in g.columns]
    dev = base.device
    peak_bw = dev.dram.read_gb_per_s * 1e9
    groups: dict[str, pd.DataFrame] = {}
    for cdt, grp in g.groupby("compute_dtype"):
        key = f"device.core.matrix_unit.sustained_fraction.{canonical_dtype(str(cdt))}"
        if key not in constants:
            continue
        ridge = dev.peak_flops(str(cdt)) / peak_bw
        groups[key] = grp[(grp["flops"] / grp["bytes"] >= 2 * ridge) & (grp["value"] >= COMPUTE_MIN_US)]
    mem = g[g["compute_dtype"].isin(["bf16", "fp16"])]
    mem = mem[
        (mem["flops"] / mem["bytes"] <= 0.25 * dev.peak_flops("bf16") / peak_bw) & (mem["bytes"] >= MEMORY_MIN_BYTES)
    ]
    if "device.memory[hbm].sustained_fraction" in constants:
        groups["device.memory[hbm].sustained_fraction"] = mem
    out = dict(constants)
    values = {k: float(out[k][0]) for k in groups}
    ratios: dict[str, float] = {}
    for _ in range(iterations):
        hw = apply_constants(base, {**out, **values})
        for key, rows in groups.items():
            if rows.empty:
                continue
            res = compare_frame(rows[cols].reset_index(drop=True), hardware={single: hw})
            res = res[res["expressible"]]
            if res.empty:
                continue
            ratio = float(np.median(res["predicted"] / res["measured"]))
            ratios[key] = ratio
            values[key] = min(1.0, values[key] * ratio)
    for key, value in values.items():
        how = out[key][1]
        out[key] = (
            round(value, 4),
            f"engine-consistent: start {float(constants[key][0]):.4f} ({how}); then {iterations} rounds of "
            f"f <- min(1, f x median(predicted/measured)) over the same {len(groups[key])} rows "
            f"(last median ratio {ratios.get(key, float('nan')):.3f})",
        )
    return out


def target_rows(df_measured: pd.DataFrame, gpu: str) -> pd.DataFrame:
    """The rows of GPU family ``gpu`` that the accuracy targets cover: GEMM latencies, Vidur op latencies,
    MoE layers and collectives (rows on other GPUs and host-timed PR tables excluded)."""
    keep = df_measured["gpu"].map(lambda g: _family(str(g)) == gpu)
    kinds = df_measured["kind"].isin(
        ["gemm", "gemm_weight_only", "mlp_op", "moe_layer", "allreduce", "alltoall", "grouped_gemm"]
    )
    return df_measured[
        keep
        & kinds
        & (df_measured["metric"] == "latency_us")
        & ~df_measured["source_id"].astype(str).str.startswith("pytorch.pr")
    ]


def _group(row: Mapping[str, Any]) -> str:
    kind = str(row["kind"])
    if kind in ("gemm", "gemm_weight_only", "grouped_gemm"):
        return "gemm"
    if kind == "mlp_op":
        return "vidur"
    if kind == "moe_layer":
        return "moe"
    return "collective"


def leave_one_gpu_out(
    df_measured: pd.DataFrame | None = None, *, every: int = 1
) -> tuple[pd.DataFrame, dict[str, Constants]]:
    """Fit on each GPU family and evaluate on both.

    Returns (table, fits): the table has one row per (evaluated gpu, group, variant) with ``variant`` in
    ``preset`` (shipped constants), ``in_sample`` (fitted on the same GPU) and ``held_out`` (fitted on
    the other GPU; dtypes the other GPU lacks keep the preset value), and columns ``n``, ``mape``,
    ``median_ape``, ``worst_ape``. ``every`` > 1 evaluates every Nth target row (deterministic subsample).
    """
    if df_measured is None:
        df_measured = pd.concat([load_measurements(n) for n in list_datasets()], ignore_index=True)
    fits = {gpu: fit_constants(df_measured, gpu) for gpu in GPU_FAMILIES}
    out_rows: list[dict[str, Any]] = []
    for gpu, (single, multi) in GPU_FAMILIES.items():
        rows = target_rows(df_measured, gpu).iloc[::every]
        other = next(g for g in GPU_FAMILIES if g != gpu)
        variants: dict[str, Mapping[str, System]] = {"preset": {}}
        for variant, consts in (("in_sample", fits[gpu]), ("held_out", fits[other])):
            variants[variant] = {name: apply_constants(load_hardware(name), consts) for name in (single, multi)}
        for variant, hardware in variants.items():
            res = compare_frame(rows, hardware=hardware)
            res = res[res["expressible"]]
            res = res.assign(group=[_group(r) for r in records(res)], ape=res["rel_error"].abs())
            for grp, part in res.groupby("group"):
                out_rows.append(
                    {
                        "gpu": gpu,
                        "group": grp,
                        "variant": variant,
                        "n": len(part),
                        "mape": float(part["ape"].mean()),
                        "median_ape": float(part["ape"].median()),
                        "worst_ape": float(part["ape"].max()),
                    }
                )
    return pd.DataFrame.from_records(out_rows), fits
