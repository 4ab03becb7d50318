"""``validation``: predicted vs measured on every shipped measured dataset."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from simsparse import plot

from ._writer import ReportWriter

__all__ = ["QUICK_ROWS_PER_DATASET", "build", "compare_all", "error_summary"]

QUICK_ROWS_PER_DATASET = 40
"""Rows simulated per dataset in quick mode (evenly spaced through the file)."""


def compare_all(quick: bool) -> pd.DataFrame:
    """The predicted-vs-measured table of every shipped dataset (every ``n``-th row in quick mode)."""
    from simsparse.validation.compare import compare, compare_frame
    from simsparse.validation.datasets import list_datasets, load_measurements

    if not quick:
        return compare(None)
    frames = []
    for name in list_datasets():
        measured = load_measurements(name)
        step = max(1, math.ceil(len(measured) / QUICK_ROWS_PER_DATASET))
        frames.append(compare_frame(measured.iloc[::step].reset_index(drop=True)))
    return pd.concat(frames, ignore_index=True)


def error_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, metric and regime: rows, expressible rows, median and 90th-percentile |error|, share within 25 %."""
    rows: list[dict[str, Any]] = []
    for (dataset, metric), part in df.groupby(["dataset", "metric"], sort=True):
        ok = part[part["expressible"].astype(bool)]
        regimes = [("all", ok)] + [(str(r), g) for r, g in ok.groupby("regime", sort=True)]
        for regime, g in regimes:
            ape = g["rel_error"].astype(float).abs()
            rows.append(
                {
                    "dataset": dataset,
                    "metric": metric,
                    "regime": regime,
                    "rows": len(part) if regime == "all" else len(g),
                    "expressible": len(ok) if regime == "all" else len(g),
                    "median_abs_error": float(ape.median()) if len(g) else np.nan,
                    "p90_abs_error": float(ape.quantile(0.9)) if len(g) else np.nan,
                    "within_25pct": float((ape <= 0.25).mean()) if len(g) else np.nan,
                }
            )
    return pd.DataFrame(rows)


def build(w: ReportWriter, quick: bool) -> None:
    """Compare every shipped dataset and add the figures and tables to ``w``."""
    from matplotlib.figure import Figure

    df = compare_all(quick)
    n_ok = int(df["expressible"].astype(bool).sum())
    w.note(
        f"{len(df)} measured rows from {df['dataset'].nunique()} datasets; {n_ok} could be expressed and simulated, "
        "the others (derived figures such as TFLOP/s next to a latency, GPUs without a preset) are listed with their "
        "reason in validation.csv."
        + (f" Quick mode: every n-th row, at most {QUICK_ROWS_PER_DATASET} per dataset." if quick else "")
    )
    latency = df[(df["metric"] == "latency_us") & df["expressible"].astype(bool)]
    if len(latency):
        fig = Figure(figsize=(10, 8))
        ax = fig.add_subplot()
        plot.validation(
            latency,
            ax=ax,
            hue="dataset",
            title="Across every dataset, how close are predicted latencies to measured ones?",
        )
        w.figure(
            "validation-all.png",
            fig,
            "Predicted against measured latency of every expressible row, coloured by dataset; the bands mark "
            "±10% and ±25% error.",
        )
        for name, part in latency.groupby("dataset", sort=True):
            # one kind of row naming its op in ``extra`` (Vidur's per-op table): colour by that op
            from simsparse.validation.datasets import parse_extra

            ops = part["extra"].map(lambda e: parse_extra(str(e)).get("op", ""))
            by_op = part["kind"].nunique() == 1 and (ops != "").all() and 1 < ops.nunique() <= 12
            hue = "op" if by_op else "kind"
            part = part.assign(op=ops) if by_op else part
            fig = Figure(figsize=(10, 8))
            ax = fig.add_subplot()
            plot.validation(
                part,
                ax=ax,
                hue=hue,
                title=f"{name}: predicted vs measured latency by {'op' if by_op else 'op kind'}",
            )
            gpus = ", ".join(sorted(map(str, part["gpu"].dropna().unique())))
            w.figure(
                f"validation-{name}.png",
                fig,
                f"Predicted against measured latency of the {name} rows ({gpus}), coloured by "
                f"{'op' if by_op else 'op kind'}, marker by regime (memory- or compute-bound).",
            )
    speed = df[(df["metric"] == "speedup_vs_dense") & df["expressible"].astype(bool)]
    if len(speed):
        fig = Figure(figsize=(10, 8))
        ax = fig.add_subplot()
        plot.validation(
            speed,
            ax=ax,
            metric="speedup_vs_dense",
            hue="kind",
            title="Does the simulator predict the measured 2:4 sparse speedups over dense?",
        )
        w.figure(
            "validation-speedup.png",
            fig,
            "Predicted against measured speedup of 2:4 sparse GEMMs over dense (the same shapes, measured on GPUs).",
        )
    summary = error_summary(df)
    lat_sum = summary[(summary["metric"] == "latency_us") & (summary["regime"] != "all")].copy()
    lat_sum = lat_sum[lat_sum["expressible"] > 0]
    if len(lat_sum):
        lat_sum["median_abs_error_pct"] = 100.0 * lat_sum["median_abs_error"]
        fig = Figure(figsize=(10, 6))
        ax = fig.add_subplot()
        plot.bars(
            lat_sum,
            "dataset",
            "median_abs_error_pct",
            ax=ax,
            hue="regime",
            xlabel="Dataset",
            ylabel="Median |relative error| (%)",
            title="Which datasets and regimes does the simulator predict worst?",
        )
        w.figure(
            "error-by-dataset.png",
            fig,
            "Median absolute relative latency error per dataset, split by the simulated regime (memory- or compute-bound).",
        )
    w.table(
        "summary.csv",
        summary,
        "Per dataset, metric and regime: rows, expressible rows, median and 90th-percentile absolute relative "
        "error, and the share within 25%.",
        preview_rows=int((summary["regime"] == "all").sum()) if len(summary) else 0,
    )
    w.table(
        "validation.csv",
        df,
        "Every measured row with its prediction, relative error, regime and size, or the reason it could not be "
        "expressed.",
    )
    reasons = (
        df[~df["expressible"].astype(bool)]
        .groupby(["dataset", "reason"], sort=True)
        .size()
        .rename("rows")
        .reset_index()
    )
    w.table("not-expressible.csv", reasons, "Rows that could not be simulated, counted by dataset and reason.")
