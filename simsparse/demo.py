"""The headline job (``make demo``): Mixtral-8x7B decode at batch 8, context 2048, EP8.

Dense bf16, 2:4 pruned, W4A16 and 2:4 + W4A16, on ``dgx-h100`` and on eight of the ``stc-2of4``
sparse tensor core accelerators joined by the same NVSwitch fabric. Writes the comparison table
(CSV) and a bar chart to the output folder and returns them.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd

from simsparse.config import load_hardware
from simsparse.config.models import load_workload
from simsparse.engine import simulate
from simsparse.hw import System

__all__ = ["VARIANTS", "demo_table", "run_demo"]

VARIANTS: tuple[tuple[str, str | None, str | None], ...] = (
    ("dense bf16", None, None),
    ("2:4", "2:4", None),
    ("W4A16", None, "w4a16"),
    ("2:4 + W4A16", "2:4", "w4a16"),
)


def _systems() -> list[System]:
    dgx = load_hardware("dgx-h100")
    stc = load_hardware("stc-2of4")
    eight_stc = dataclasses.replace(
        dgx,
        name="8x stc-2of4",
        description="eight stc-2of4 accelerators on the dgx-h100 NVSwitch fabric",
        device=stc.device,
    )
    return [dgx, eight_stc]


def demo_table(batch: int = 8, context_len: int = 2048, ep: int = 8) -> pd.DataFrame:
    """TPOT, tokens/s, energy per token and bottleneck of every variant on every system."""
    rows = []
    for hw in _systems():
        for label, prune, quant in VARIANTS:
            wl = load_workload("mixtral-8x7b", phase="decode", batch=batch, context_len=context_len, ep=ep)
            if prune:
                wl = wl.prune(prune)
            if quant:
                wl = wl.quantize(quant, group_size=128)
            wl = wl.route("power_law", alpha=1.2, seed=0)
            s = simulate(hw, wl).summary()
            rows.append(
                {
                    "hardware": hw.name,
                    "variant": label,
                    "tpot_ms": s["tpot_s"] * 1e3,
                    "tokens_per_s": s["tokens_per_s"],
                    "energy_per_token_j": s["energy_per_token_j"],
                    "bottleneck": s["bottleneck"],
                    "bottleneck_share": s["bottleneck_share"],
                }
            )
    return pd.DataFrame(rows)


def run_demo(out: Path) -> tuple[pd.DataFrame, Path]:
    """Run the demo; write ``demo.csv`` and ``demo.png`` into ``out`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = demo_table()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "demo.csv.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out / "demo.csv")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
    systems = list(dict.fromkeys(table["hardware"]))
    width = 0.8 / len(VARIANTS)
    for ax, col, label in (
        (axes[0], "tpot_ms", "Time per output token (ms)"),
        (axes[1], "energy_per_token_j", "Energy per token (J)"),
    ):
        for i, (variant, _, _) in enumerate(VARIANTS):
            vals = [float(table[(table.hardware == s) & (table.variant == variant)][col].iloc[0]) for s in systems]
            ax.bar([x + i * width for x in range(len(systems))], vals, width, label=variant, color=palette[i])
        ax.set_xticks([x + width * (len(VARIANTS) - 1) / 2 for x in range(len(systems))], systems)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title("Mixtral-8x7B decode, batch 8, ctx 2048, EP8: latency")
    axes[1].set_title("... and energy per token")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    png = out / "demo.png"
    tmp_png = out / "demo.tmp.png"
    fig.savefig(tmp_png, dpi=120)
    plt.close(fig)
    os.replace(tmp_png, png)
    return table, png
