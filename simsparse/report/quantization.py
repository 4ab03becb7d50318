"""``quantization-study``: bf16 / fp8 / w4a16 / nvfp4 on decode and prefill."""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from simsparse import plot
from simsparse.config import load_hardware
from simsparse.config.models import load_workload
from simsparse.engine import simulate
from simsparse.errors import SimsparseError
from simsparse.hw import System
from simsparse.results import SimResult
from simsparse.workload.transforms import QUANT_SCHEMES

from ._figures import cause_breakdown
from ._writer import ReportWriter

__all__ = ["MODEL", "SCHEMES", "build", "simulate_scheme"]

log = logging.getLogger(__name__)

MODEL = "llama-3.1-8b"
SCHEMES: tuple[str, ...] = ("bf16", "fp8", "w4a16", "nvfp4")
"""``bf16``: the unquantized model; the others are :meth:`Workload.quantize` schemes."""
HARDWARE: tuple[str, ...] = ("a100-sxm", "h100-sxm", "b200")
QUICK_HARDWARE: tuple[str, ...] = ("h100-sxm", "b200")
DECODE = {"batch": 16, "context_len": 2048}
PREFILL = {"batch": 1, "prompt_len": 2048}
QUICK_PREFILL = {"batch": 1, "prompt_len": 256}
BATCHES: tuple[int, ...] = (1, 4, 16, 64, 256)


def simulate_scheme(hw: System, scheme: str, phase: str, **scenario: int) -> SimResult:
    """Llama-3.1-8B in ``phase`` with ``scheme`` applied (``bf16``: none) on ``hw``."""
    wl = load_workload(
        MODEL,
        phase=phase,
        batch=scenario.get("batch", 1),
        context_len=scenario.get("context_len"),
        prompt_len=scenario.get("prompt_len"),
    )
    if scheme != "bf16":
        wl = wl.quantize(scheme)
    return simulate(hw, wl)


def _row(
    hw_name: str, scheme: str, phase: str, scenario: dict[str, int], res: SimResult | None, error: str
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "hardware": hw_name,
        "scheme": scheme,
        "phase": phase,
        "batch": scenario.get("batch", 1),
        "prompt_len": scenario.get("prompt_len", 0),
        "context_len": scenario.get("context_len", 0),
        "latency_s": math.nan,
        "tokens_per_s": math.nan,
        "energy_per_token_j": math.nan,
        "bottleneck": "",
        "error": error,
    }
    if res is not None:
        s = res.summary()
        row.update(
            latency_s=float(s["latency_s"]),
            tokens_per_s=float(s.get("tokens_per_s", math.nan)),
            energy_per_token_j=float(s.get("energy_per_token_j", math.nan)),
            bottleneck=str(s["bottleneck"]),
        )
    return row


def build(w: ReportWriter, quick: bool) -> None:
    """Simulate the study and add its figures and tables to ``w``."""
    from matplotlib.figure import Figure

    hw_names = QUICK_HARDWARE if quick else HARDWARE
    prefill = QUICK_PREFILL if quick else PREFILL
    systems = {n: load_hardware(n) for n in hw_names}
    results: dict[tuple[str, str, str], SimResult] = {}
    rows: list[dict[str, Any]] = []
    for name, hw in systems.items():
        for phase, scenario in (("decode", DECODE), ("prefill", prefill)):
            for scheme in SCHEMES:
                res: SimResult | None = None
                error = ""
                try:
                    res = simulate_scheme(hw, scheme, phase, **scenario)
                    results[(name, phase, scheme)] = res
                except SimsparseError as exc:
                    error = str(exc)
                    log.info("quantization-study: %s %s on %s: %s", scheme, phase, name, exc)
                rows.append(_row(name, scheme, phase, dict(scenario), res, error))
    if not quick:
        hw = systems["h100-sxm"]
        for batch in BATCHES:
            for scheme in ("bf16", "fp8", "w4a16"):
                scenario = {"batch": batch, "context_len": DECODE["context_len"]}
                try:
                    res = simulate_scheme(hw, scheme, "decode", **scenario)
                    rows.append(_row("h100-sxm", scheme, "decode batch sweep", scenario, res, ""))
                except SimsparseError as exc:
                    rows.append(_row("h100-sxm", scheme, "decode batch sweep", scenario, None, str(exc)))
    table = pd.DataFrame(rows)
    w.note(
        f"{MODEL}, one step: decode with batch {DECODE['batch']} at a {DECODE['context_len']}-token KV cache; prefill of "
        f"batch {prefill['batch']} x {prefill['prompt_len']}-token prompts. Schemes: bf16 (none); "
        + "; ".join(f"{s} ({QUANT_SCHEMES[s].description})" for s in SCHEMES if s in QUANT_SCHEMES)
        + "."
    )
    failed = table[table["error"] != ""]
    if len(failed):
        pairs = sorted({f"{r.scheme} on {r.hardware}" for r in failed.itertuples()})
        w.note(
            f"Not runnable (the GPU's matrix unit lacks the dtype): {', '.join(pairs)}; shown as n/a, with the reason in "
            "quantization.csv."
        )
    main = table[table["phase"].isin(["decode", "prefill"])]

    for phase in ("decode", "prefill"):
        sub = main[main["phase"] == phase]
        fig = Figure(figsize=(10, 6))
        ax = fig.add_subplot()
        plot.bars(
            sub,
            "scheme",
            "tokens_per_s",
            ax=ax,
            hue="hardware",
            xlabel="Quantization scheme",
            title=f"{phase.capitalize()}: how much throughput does each number format buy on each GPU?",
        )
        w.figure(
            f"tokens-per-s-{phase}.png",
            fig,
            f"{MODEL} {phase} throughput (tokens/s) per quantization scheme and GPU; n/a marks a format the GPU cannot run.",
        )

    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    plot.bars(
        main[main["phase"] == "decode"],
        "scheme",
        "energy_per_token_j",
        ax=ax,
        hue="hardware",
        xlabel="Quantization scheme",
        title="Decode: how much energy per token does each number format save?",
    )
    w.figure(
        "energy-per-token-decode.png",
        fig,
        "Energy per generated token in decode per scheme and GPU: fewer weight bytes read from HBM per token cost less.",
    )

    full_hw = next((n for n in reversed(hw_names) if all((n, "decode", s) in results for s in SCHEMES)), hw_names[-1])
    for phase in ("decode", "prefill"):
        bd = {s: results[(full_hw, phase, s)] for s in SCHEMES if (full_hw, phase, s) in results}
        if not bd:
            continue
        cause_breakdown(
            w,
            f"breakdown-{phase}-{full_hw}.png",
            bd,
            systems[full_hw],
            title=f"{full_hw} {phase}: where does the time go with each number format?",
            caption=f"Time and energy of one {phase} step on {full_hw} by cause for each scheme: "
            + (
                "decode streams the weights from HBM, so smaller weight formats shrink the memory share."
                if phase == "decode"
                else "prefill is mostly bound by compute, so formats that speed up the math help most."
            ),
        )

    roof = {
        f"{phase} {s}": results[(full_hw, phase, s)]
        for phase in ("decode", "prefill")
        for s in ("bf16", "nvfp4", "fp8")
        if (full_hw, phase, s) in results
    }
    if roof:
        fig = Figure(figsize=(11, 6.5))
        ax = fig.add_subplot()
        plot.roofline(
            systems[full_hw],
            list(roof.values()),
            ax=ax,
            annotate=False,
            title=f"{full_hw}: are decode and prefill ops bound by memory or by math, per number format?",
        )
        w.figure(
            f"roofline-{full_hw}.png",
            fig,
            f"Every op of the {', '.join(roof)} steps on the {full_hw} roofline: decode GEMMs sit on the HBM slope, "
            "prefill GEMMs under the compute roof of their dtype.",
        )

    sweep = table[table["phase"] == "decode batch sweep"]
    if len(sweep):
        fig = Figure(figsize=(10, 6))
        ax = fig.add_subplot()
        plot.lines(
            sweep,
            "batch",
            "tokens_per_s",
            ax=ax,
            hue="scheme",
            logx=True,
            logy=True,
            xlabel="Decode batch (sequences)",
            title="h100-sxm decode: up to which batch does a smaller weight format keep paying off?",
        )
        w.figure(
            "decode-batch-sweep.png",
            fig,
            "Decode throughput against batch size per scheme on h100-sxm: weight-only formats help while decode is "
            "memory-bound and fade as the batch makes it compute-bound.",
        )

    w.table(
        "quantization.csv",
        table,
        "Every simulated step: GPU, scheme, phase and scenario, latency, tokens/s, energy per token, bottleneck "
        "(and the reason when the GPU cannot run the format).",
        preview_rows=len(main),
    )
