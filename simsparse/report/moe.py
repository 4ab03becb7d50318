"""``moe-study``: routing skew, expert-parallel degree and interconnect bandwidth of one MoE layer."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import pandas as pd

from simsparse import plot
from simsparse.config import load_hardware
from simsparse.engine import simulate
from simsparse.hw import System
from simsparse.results import SimResult
from simsparse.workload import moe_layer

from ._figures import cause_breakdown
from ._writer import ReportWriter

__all__ = ["HARDWARE", "build", "simulate_layer"]

log = logging.getLogger(__name__)

HARDWARE = "dgx-h100"
LAYER: dict[str, Any] = {"hidden": 4096, "inter": 14336, "n_experts": 8, "top_k": 2, "dtype": "bf16"}
"""Mixtral-8x7B's MoE block: hidden 4096, expert FFN 14336, 8 experts, top-2."""

ALPHAS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
QUICK_ALPHAS: tuple[float, ...] = (0.0, 1.5)
EPS: tuple[int, ...] = (1, 2, 4, 8)
QUICK_EPS: tuple[int, ...] = (1, 8)
LINK_SCALES: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125, 0.0625)
QUICK_LINK_SCALES: tuple[float, ...] = (1.0, 0.125)
SKEWED_ALPHA = 1.5


def _routing(alpha: float) -> str:
    return "balanced" if alpha == 0 else f"power_law:{alpha:g}"


def simulate_layer(hw: System, tokens: int, alpha: float, ep: int) -> SimResult:
    """The MoE layer with ``tokens`` tokens, power-law skew ``alpha`` (0: balanced) and EP degree ``ep``."""
    wl = moe_layer(tokens=tokens, routing=_routing(alpha), ep=ep, seed=0, **LAYER)
    return simulate(hw, wl)


def _row(res: SimResult, **params: Any) -> dict[str, Any]:
    s = res.summary()
    causes = dict(s.get("time_by_cause_s", {}))
    row: dict[str, Any] = dict(params)
    row.update(
        latency_s=float(s["latency_s"]),
        latency_us=float(s["latency_s"]) * 1e6,
        energy_j=float(s["energy_j"]),
        bottleneck=str(s["bottleneck"]),
    )
    for c in ("compute", "interconnect", "imbalance", "overhead", "latency"):
        row[f"time_{c}_s"] = float(causes.get(c, 0.0))
    row["time_memory_s"] = float(sum(v for k, v in causes.items() if str(k).startswith("memory:")))
    ex = res.experts
    if len(ex):
        first = ex[ex["op"] == ex["op"].iloc[0]]
        tok = first["tokens"].astype(float)
        row["max_over_mean_tokens"] = float(tok.max() / tok.mean()) if tok.mean() else math.nan
    return row


def build(w: ReportWriter, quick: bool) -> None:
    """Simulate the study and add its figures and tables to ``w``."""
    from matplotlib.figure import Figure

    alphas = QUICK_ALPHAS if quick else ALPHAS
    eps = QUICK_EPS if quick else EPS
    scales = QUICK_LINK_SCALES if quick else LINK_SCALES
    tokens = 1024 if quick else 4096
    hw = load_hardware(HARDWARE)
    ic = hw.interconnect
    injection = ic.link_gb_per_s * ic.n_links_per_device
    w.note(
        f"One MoE layer (hidden {LAYER['hidden']}, expert FFN {LAYER['inter']}, {LAYER['n_experts']} experts, "
        f"top-{LAYER['top_k']}, {LAYER['dtype']}) over {tokens} tokens on {HARDWARE} ({hw.n_devices} GPUs, "
        f"{ic.topology}, {injection:g} GB/s injection per GPU). Skew: power-law routing with exponent alpha "
        "(0 = balanced), seed 0. EP = expert-parallel degree (experts per GPU = 8 / EP; EP 1 runs on one GPU)."
    )
    rows: list[dict[str, Any]] = []
    by_ep: dict[str, SimResult] = {}
    skewed: SimResult | None = None
    for alpha in alphas:
        for ep in eps:
            res = simulate_layer(hw, tokens, alpha, ep)
            rows.append(
                _row(
                    res,
                    study="skew x EP",
                    routing=_routing(alpha),
                    alpha=alpha,
                    ep=ep,
                    link_scale=1.0,
                    injection_gb_per_s=injection,
                )
            )
            if alpha == max(alphas):
                by_ep[f"EP={ep}"] = res
                if ep == max(eps):
                    skewed = res
    for scale in scales:
        slow = dataclasses.replace(hw, interconnect=dataclasses.replace(ic, link_gb_per_s=ic.link_gb_per_s * scale))
        for alpha in (0.0, SKEWED_ALPHA):
            res = simulate_layer(slow, tokens, alpha, max(eps))
            rows.append(
                _row(
                    res,
                    study="interconnect",
                    routing=_routing(alpha),
                    alpha=alpha,
                    ep=max(eps),
                    link_scale=scale,
                    injection_gb_per_s=injection * scale,
                )
            )
    table = pd.DataFrame(rows)

    if skewed is not None and len(skewed.experts):
        fig = Figure(figsize=(11, 6))
        ax = fig.add_subplot()
        plot.moe_load(skewed, ax=ax)
        w.figure(
            "moe-load.png",
            fig,
            f"Tokens per expert (bars, coloured by GPU) and each GPU's expert-GEMM time (black) at skew alpha="
            f"{max(alphas):g} and EP={max(eps)}: the busiest GPU sets the layer's time.",
        )

    skew = table[table["study"] == "skew x EP"].assign(EP=lambda d: [f"EP={e}" for e in d["ep"]])
    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    plot.lines(
        skew,
        "alpha",
        "latency_us",
        ax=ax,
        hue="EP",
        logx=False,
        xlabel="Routing skew alpha (power law; 0 = balanced)",
        title="How much does routing skew slow the MoE layer at each expert-parallel degree?",
    )
    w.figure(
        "latency-vs-skew.png",
        fig,
        "Layer latency against routing skew for each EP degree: more EP divides the expert work, but skew hands "
        "the busiest GPU a growing share.",
    )

    cause_breakdown(
        w,
        "breakdown-by-ep.png",
        by_ep,
        hw,
        title=f"Where does the MoE layer's time go as EP grows (skew alpha={max(alphas):g})?",
        caption="Time and energy by cause for each EP degree at the strongest skew: imbalance (waiting for the "
        "busiest GPU) and interconnect (all-to-all dispatch and combine) grow with EP.",
    )

    inter = table[table["study"] == "interconnect"]
    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    plot.lines(
        inter,
        "injection_gb_per_s",
        "latency_us",
        ax=ax,
        hue="routing",
        logx=True,
        xlabel="Interconnect injection bandwidth per GPU (GB/s)",
        title=f"How fast must the interconnect be for EP={max(eps)} not to stall on all-to-all?",
    )
    w.figure(
        "latency-vs-interconnect.png",
        fig,
        f"Layer latency at EP={max(eps)} as the {HARDWARE} link bandwidth is scaled down from the NVLink preset, "
        "balanced vs skewed routing.",
    )

    w.table(
        "moe.csv",
        table,
        "Every simulated point: routing, skew, EP degree, interconnect bandwidth, latency, energy, time by cause "
        "and the busiest expert's tokens over the mean.",
        preview_rows=min(len(table), 12),
    )
