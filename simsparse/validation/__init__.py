"""Validation: the measured-run kernel suite, the measurement runner, measured datasets and error metrics.

* :func:`list_datasets`, :func:`load_measurements`: the shipped public GPU measurements (and any CSV in
  the same long format), validated strictly.
* :func:`compare`: predicted vs measured for every row the simulator can express (the others listed with
  a reason); :func:`summarize`: MAPE, median and worst error per dataset, GPU, kind, regime and size.
* :mod:`simsparse.validation.calibrate`: documented fits of the measured-efficiency preset fields and
  leave-one-GPU-out error.
* :mod:`simsparse.validation.hostcpu_system`: a ``host-cpu`` system from this machine's facts, for the
  live CPU check (``simsparse validate --live cpu``).

Heavy modules load on first use.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from typing import Any

__all__ = ["compare", "list_datasets", "load_measurements", "run_validate_cli", "summarize"]

_LAZY = {
    "compare": "simsparse.validation.compare",
    "list_datasets": "simsparse.validation.datasets",
    "load_measurements": "simsparse.validation.datasets",
    "summarize": "simsparse.validation.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simsparse.validation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _pct(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:.1%}"


def _print_table(title: str, df: Any, columns: list[str], pct: tuple[str, ...] = ()) -> None:
    print(f"\n== {title}")
    if df.empty:
        print("(none)")
        return
    shown = df[columns].copy()
    for c in pct:
        if c in shown.columns:
            shown[c] = shown[c].map(_pct)
    print(shown.to_string(index=False))


def _records(df: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(df.to_json(orient="records"))
    return out


def run_validate_cli(args: argparse.Namespace) -> int:
    """``simsparse validate [--dataset NAME|PATH] [--report DIR] [--json] [--live cpu]``.

    Prints the error summary (or JSON with ``--json``); returns 0, or 2 for bad input (an unknown dataset,
    a malformed CSV)."""
    from simsparse.errors import SimsparseError

    try:
        if getattr(args, "live", None) == "cpu":
            return _live_cpu(args)
        return _datasets(args)
    except SimsparseError as exc:
        print(f"simsparse validate: error: {exc}", file=sys.stderr)
        return 2


def _datasets(args: argparse.Namespace) -> int:
    from .compare import compare
    from .report import moe_ratio_table, summarize, target_table, write_report

    df = compare(args.dataset)
    summary = summarize(df)
    bad = df[~df["expressible"].astype(bool)]
    reasons = bad.groupby(["dataset", "kind", "metric", "reason"], dropna=False).size().reset_index(name="rows")
    targets = target_table(df) if args.dataset is None else None
    extra_tables: dict[str, Any] = {}
    if getattr(args, "report", None):
        from .calibrate import leave_one_gpu_out

        if args.dataset is None:
            logo, fits = leave_one_gpu_out()
            import pandas as pd

            fit_rows = [
                {"gpu": g, "field": f, "value": v, "how": how} for g, c in fits.items() for f, (v, how) in c.items()
            ]
            extra_tables = {
                "targets": targets,
                "calibration": pd.DataFrame(fit_rows),
                "leave_one_gpu_out": logo,
                "moe_ratio": moe_ratio_table(df),
            }
        paths = write_report(df, args.report, extra_tables)
    else:
        paths = []
    if getattr(args, "json", False):
        payload: dict[str, Any] = {
            "rows": len(df),
            "expressible": int(df["expressible"].sum()),
            "summary": _records(summary),
            "not_expressible": _records(reasons),
        }
        if targets is not None:
            payload["targets"] = _records(targets)
        for name, table in extra_tables.items():
            if name not in payload and table is not None:
                payload[name] = _records(table)
        if paths:
            payload["report_files"] = [str(p) for p in paths]
        print(json.dumps(payload, indent=1))
        return 0
    n_ok = int(df["expressible"].sum())
    print(
        f"simsparse validate: {len(df)} measured rows, {n_ok} simulated (event fidelity), {len(df) - n_ok} not expressible"
    )
    cols = ["dataset", "gpu", "kind", "regime", "size", "n", "mape", "median_ape", "worst_ape"]
    pct = ("mape", "median_ape", "worst_ape")
    for by, title in (
        ("dataset", "per dataset"),
        ("dataset/gpu", "per dataset and GPU"),
        ("dataset/gpu/kind", "per GPU and kind"),
        ("dataset/kind/regime", "per kind and regime"),
        ("dataset/kind/size", "per kind and size"),
    ):
        part = summary[summary["by"] == by]
        keep = [c for c in cols if c in ("n", "mape", "median_ape", "worst_ape") or c in by.split("/")]
        _print_table(f"error {title}", part, keep, pct)
    if targets is not None:
        shown = targets.copy()
        speed = shown["statistic"] == "worst_abs_speedup_error"
        for col in ("value", "bound"):
            shown[col] = [f"{v:.2f}x" if s else _pct(v) for v, s in zip(shown[col], speed, strict=True)]
        _print_table("accuracy targets", shown, ["target", "statistic", "value", "bound", "met", "n", "issue"])
    _print_table("rows not expressed, by reason", reasons, ["dataset", "kind", "metric", "rows", "reason"])
    if "calibration" in extra_tables:
        cal = extra_tables["calibration"]
        print("\n== calibrated constants (fitted; not written to any preset)")
        for r in cal.to_dict("records"):
            print(f"{r['gpu']}: {r['field']} = {r['value']:g}\n    fit: {r['how']}")
        logo = (
            extra_tables["leave_one_gpu_out"]
            .pivot_table(index=["gpu", "group"], columns="variant", values="mape")
            .reset_index()
        )
        _print_table(
            "MAPE with preset, in-sample and held-out (leave-one-GPU-out) constants",
            logo,
            [c for c in ("gpu", "group", "preset", "in_sample", "held_out") if c in logo.columns],
            ("preset", "in_sample", "held_out"),
        )
    if paths:
        print(f"\nwrote {len(paths)} report files to {args.report}")
    return 0


def _spread(extra: dict[str, str], median_us: float) -> float:
    """(p75 - p25) / median of a measured row's timed runs (``nan`` when the row does not say)."""
    try:
        p25, p75 = float(extra["p25_us"]), float(extra["p75_us"])
    except (KeyError, ValueError):
        return math.nan
    return (p75 - p25) / median_us if median_us > 0 else math.nan


def _live_cpu(args: argparse.Namespace) -> int:
    from .datasets import parse_extra
    from .hostcpu_system import live_cpu_validation
    from .report import summarize, write_report

    df, system = live_cpu_validation()
    if getattr(args, "report", None):
        write_report(df, args.report)
    summary = summarize(df, levels=(("kind",), ("kind", "regime")))
    if getattr(args, "json", False):
        print(json.dumps({"system": system.name, "rows": _records(df), "summary": _records(summary)}, indent=1))
        return 0
    print(f"simsparse validate --live cpu: {len(df)} kernels measured on {system.description}")
    shown = df[["kind", "dtype", "m", "n", "k", "measured", "predicted", "rel_error", "regime", "note"]].copy()
    shown["rel_error"] = shown["rel_error"].map(_pct)
    # the interquartile spread of the timed runs over their median: how far the machine let them wander
    spread = [_spread(parse_extra(str(e)), float(v)) for e, v in zip(df["extra"], df["measured"], strict=True)]
    shown.insert(list(shown.columns).index("measured") + 1, "spread", [_pct(x) for x in spread])
    print(shown.to_string(index=False))
    _print_table(
        "error per kind", summary[summary["by"] == "kind"], ["kind", "n", "mape", "worst_ape"], ("mape", "worst_ape")
    )
    return 0
