"""``sparsity-study``: dense vs 2:4 vs flexible N:M vs unstructured vs dual-side across densities."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simsparse import plot
from simsparse.config import load_hardware
from simsparse.engine import simulate
from simsparse.errors import SimsparseError
from simsparse.hw import System
from simsparse.results import SimResult
from simsparse.workload import gemm

from ._figures import cause_breakdown
from ._writer import ReportWriter

__all__ = ["GEMM_SHAPE", "GPUS", "SPARSE_PRESETS", "build", "configurations"]

log = logging.getLogger(__name__)

SPARSE_PRESETS: tuple[str, ...] = ("stc-2of4", "vegeta", "dstc", "sigma-like")
GPUS: tuple[str, ...] = ("a100-sxm", "h100-sxm", "h200-sxm", "b200", "mi300x")
QUICK_GPUS: tuple[str, ...] = ("h100-sxm",)
DENSITIES: tuple[float, ...] = (0.75, 0.5, 0.25, 0.125)
QUICK_DENSITIES: tuple[float, ...] = (0.5, 0.25)
GEMM_SHAPE: dict[str, int] = {"m": 2048, "n": 14336, "k": 4096}
"""Llama-3.1-8B FFN up-projection over a 2048-token prefill batch (hidden 4096, intermediate 14336)."""
QUICK_GEMM_SHAPE: dict[str, int] = {"m": 1024, "n": 4096, "k": 4096}

FAMILIES: tuple[str, ...] = ("dense", "2:4", "flexible N:M", "unstructured", "dual-side")


@dataclass(frozen=True, slots=True)
class Config:
    """One point of the study: a sparsity format at a density."""

    family: str
    weight_pattern: str
    density: float
    act_density: float

    @property
    def label(self) -> str:
        if self.family == "dense":
            return "dense"
        return f"{self.family} {self.density:g}"


def configurations(densities: tuple[float, ...]) -> list[Config]:
    """The formats of the study at ``densities`` (2:4 only at 0.5; flexible N:M as N:8)."""
    out = [Config("dense", "dense", 1.0, 1.0)]
    for d in densities:
        if d == 0.5:
            out.append(Config("2:4", "2:4", 0.5, 1.0))
        n = d * 8
        if n >= 1 and abs(n - round(n)) < 1e-9:
            out.append(Config("flexible N:M", f"{round(n)}:8", d, 1.0))
        out.append(Config("unstructured", f"unstructured:{d:g}", d, 1.0))
        out.append(Config("dual-side", f"unstructured:{d:g}", d, d))
    return out


def _dtype(hw: System) -> str:
    macs = hw.device.core.matrix_unit.macs_per_cycle
    return "fp16" if "fp16" in macs else "bf16"


def _run(hw: System, cfg: Config, shape: dict[str, int]) -> tuple[SimResult | None, str]:
    try:
        wl = gemm(
            m=shape["m"],
            n=shape["n"],
            k=shape["k"],
            dtype=_dtype(hw),
            weight_pattern=cfg.weight_pattern,
            act_density=cfg.act_density,
            name=cfg.label,
        )
        return simulate(hw, wl), ""
    except SimsparseError as exc:
        log.info("sparsity-study: %s on %s: %s", cfg.label, hw.name, exc)
        return None, str(exc)


def build(w: ReportWriter, quick: bool) -> None:
    """Simulate the study and add its figures and tables to ``w``."""
    gpus = QUICK_GPUS if quick else GPUS
    densities = QUICK_DENSITIES if quick else DENSITIES
    shape = QUICK_GEMM_SHAPE if quick else GEMM_SHAPE
    configs = configurations(densities)
    systems = {name: load_hardware(name) for name in (*SPARSE_PRESETS, *gpus)}
    results: dict[tuple[str, str], SimResult] = {}
    rows: list[dict[str, Any]] = []
    for name, hw in systems.items():
        for cfg in configs:
            res, error = _run(hw, cfg, shape)
            row: dict[str, Any] = {
                "hardware": name,
                "class": "sparse preset" if name in SPARSE_PRESETS else "GPU",
                "pattern": cfg.family,
                "weight_pattern": cfg.weight_pattern,
                "density": cfg.density,
                "act_density": cfg.act_density,
                "dtype": _dtype(hw),
                "latency_s": math.nan,
                "energy_j": math.nan,
                "achieved_flops_per_s": math.nan,
                "bottleneck": "",
                "error": error,
            }
            if res is not None:
                s = res.summary()
                results[(name, cfg.label)] = res
                row.update(
                    latency_s=float(s["latency_s"]),
                    energy_j=float(s["energy_j"]),
                    achieved_flops_per_s=float(s["flops"]) / float(s["latency_s"]) if s["latency_s"] else math.nan,
                    bottleneck=str(s["bottleneck"]),
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    dense = table[table["pattern"] == "dense"].set_index("hardware")["latency_s"]
    dense_e = table[table["pattern"] == "dense"].set_index("hardware")["energy_j"]
    table["speedup"] = table["hardware"].map(dense) / table["latency_s"]
    table["energy_saving"] = table["hardware"].map(dense_e) / table["energy_j"]
    failed = table[table["error"] != ""]
    if len(failed):
        w.note(
            f"{len(failed)} of {len(table)} runs could not be simulated (format or dtype not runnable on the preset); "
            "they are listed with the reason in sparsity.csv and missing from the figures."
        )
    w.note(
        f"Every point is one GEMM C[{shape['m']}x{shape['n']}] = A[{shape['m']}x{shape['k']}] @ W[{shape['k']}x{shape['n']}] "
        "(a Llama-style FFN projection) in fp16 (bf16 where the preset lacks fp16); 'dual-side' prunes the weights "
        "unstructured and makes the activations equally sparse; flexible N:M uses N:8."
    )
    ok = table[table["latency_s"].notna()]

    from matplotlib.figure import Figure

    for name in SPARSE_PRESETS:
        sub = ok[ok["hardware"] == name]
        if len(sub) < 2:
            continue
        fig = Figure(figsize=(10, 6))
        ax = fig.add_subplot()
        plot.speedup_vs_density(
            sub,
            ax=ax,
            hue="pattern",
            style="hardware",
            title=f"{name}: how much faster than dense is each sparsity format as density falls?",
        )
        w.figure(
            f"speedup-{name}.png",
            fig,
            f"Speedup over dense of each sparsity format against weight density on the {name} preset; "
            "the dotted curve is the ideal 1/density.",
        )

    half = ok[(ok["density"] == 0.5) | (ok["pattern"] == "dense")]
    half = half.assign(format=[p if p == "dense" else f"{p} @0.5" for p in half["pattern"].astype(str)])
    fig = Figure(figsize=(11, 6))
    ax = fig.add_subplot()
    plot.bars(
        half,
        "format",
        "speedup",
        ax=ax,
        hue="hardware",
        xlabel="Sparsity format (weight density)",
        title="At 50% density, which sparsity formats pay off on which hardware?",
    )
    ax.axhline(1.0, color="#999999", linewidth=1.2)
    w.figure(
        "speedup-at-half-density.png",
        fig,
        "Speedup over dense of every format at 50% weight density, for each preset and GPU: only formats the "
        "datapath accelerates rise above 1.",
    )

    no_energy = sorted(set(ok.loc[ok["energy_j"] <= 0, "hardware"]))
    if no_energy:
        w.note(
            f"{', '.join(no_energy)}: the preset models no energy (energy 0), so these points are left out of "
            "the latency-energy figure."
        )
    fig = Figure(figsize=(11, 6.5))
    ax = fig.add_subplot()
    ok_label = ok[ok["energy_j"] > 0]
    ok_label = ok_label.assign(
        point=[
            f"{h}: {p} {d:g}"
            for h, p, d in zip(
                ok_label["hardware"], ok_label["pattern"], ok_label["density"].astype(float), strict=True
            )
        ]
    )
    plot.pareto(
        ok_label,
        "latency_s",
        "energy_j",
        ax=ax,
        hue="hardware",
        label="point",
        title="Which hardware and sparsity format give the best latency-energy trade-off for this GEMM?",
    )
    w.figure(
        "pareto-latency-energy.png",
        fig,
        "Latency against energy of every (hardware, format, density) point; the front marks those no other point "
        "beats on both.",
    )

    roof_hw = "stc-2of4"
    picks = [c for c in configs if c.family in ("dense", "2:4", "unstructured") and c.density in (1.0, 0.5)]
    roof_results = {c.label: results[(roof_hw, c.label)] for c in picks if (roof_hw, c.label) in results}
    if roof_results:
        fig = Figure(figsize=(11, 6.5))
        ax = fig.add_subplot()
        plot.roofline(
            systems[roof_hw],
            list(roof_results.values()),
            ax=ax,
            title=f"{roof_hw}: do sparse GEMMs reach the sparse roof, or hit memory bandwidth first?",
        )
        w.figure(
            f"roofline-{roof_hw}.png",
            fig,
            f"The dense, 2:4 and unstructured-50% GEMMs on the {roof_hw} roofline: the dashed roof is the 2:4 "
            "sparse peak that only the 2:4 GEMM can use.",
        )

    bd_hw = "dstc"
    bd = {
        c.label: results[(bd_hw, c.label)]
        for c in configs
        if c.density in (1.0, 0.25) and c.family != "flexible N:M" and (bd_hw, c.label) in results
    }
    if bd:
        cause_breakdown(
            w,
            f"breakdown-{bd_hw}.png",
            bd,
            systems[bd_hw],
            title=f"{bd_hw}: where do time and energy go as weights and activations get sparser?",
            caption=f"Time and energy of the dense and 25%-density GEMMs on {bd_hw}, split by the cause that bounds "
            "them (compute, memory level, latency, overhead).",
            height_in=7,
        )

    w.table(
        "sparsity.csv",
        table,
        "Every simulated point: hardware, format, weight and activation density, latency, energy, achieved FLOP/s, "
        "bottleneck, speedup and energy saving over the same hardware's dense GEMM (and the reason when it could not run).",
    )
    best = (
        ok.assign(speedup=table.loc[ok.index, "speedup"])
        .sort_values("speedup", ascending=False)
        .groupby("hardware", sort=False)
        .head(1)[["hardware", "pattern", "weight_pattern", "density", "act_density", "speedup", "bottleneck"]]
    )
    w.table(
        "best-format-per-hardware.csv",
        best.reset_index(drop=True),
        "The fastest format of each hardware and its speedup over dense.",
        preview_rows=len(best),
    )
