"""Engine speed: the issue-6 end-to-end cases, simulator peak memory, scaling, and ``ss.gemm`` points/s.

    .venv/bin/python benchmarks/bench_engine.py [--quick] [--reps N] [--json]

A benchmark, not a test: it reports figures and never asserts them.

* **Cases** (event fidelity, one core, median of ``--reps`` ``ss.simulate`` calls after one
  warm-up call; building the workload is timed apart):

  - Llama-3.1-70B decode step, batch 8, context 2048, on ``h100-sxm`` (one device). In bf16 the
    weights alone are 131 GiB > 80 GiB, so the case runs with ``dtype="fp8"`` (70.6 GB weights +
    2.7 GB fp8 KV cache); the bf16 model is timed too, with ``tp=8`` on ``dgx-h100``. Target < 1 s.
  - Mixtral-8x7B prefill of 4096 tokens (batch 1) on ``dgx-h100``, ``ep=8``, power-law routing
    (alpha 1.2, seed 0). Target < 3 s.
  - DeepSeek-V3 decode (batch 8, context 2048) on ``dgx-h200``, ``ep=8``, power-law routing. In
    bf16 it needs 184 GiB per device > 141 GiB, so it runs in ``dtype="fp8"`` (the model's native
    training/serving precision). Target < 3 s.

* **Peak memory**: a fresh subprocess builds and simulates every case and reports its peak RSS
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the peak of Python allocations
  (``tracemalloc``, a second subprocess, as tracing slows it down). Target < 2 GiB.
* **Scaling**: simulation time vs the tile count the engine planned (the sum of ``n_tiles`` of the
  simulated op rows), along model size (prefill 2048 on ``dgx-h100`` tp=8), batch (Llama-3.1-8B
  decode on ``h100-sxm``) and sequence length (Llama-3.1-8B prefill on ``h100-sxm``), with the
  fitted exponent of ``time ~ tiles^p`` (issue 6 expects p <= 1).
* **Layer-level design points/s** (issue 8) through the public API with no sweep machinery: each
  point builds an ``ss.gemm`` (one layer's GEMM; the shape changes from point to point) and
  simulates it, on ``h100-sxm`` and ``stc-2of4``, at ``event`` and ``roofline`` fidelity. Targets:
  50/s per core (event), 5,000/s per core (roofline).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np

import simsparse as ss

GIB = 1 << 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One reported figure: ``ratio`` >= 1 means the target is met or the reference is beaten."""

    section: str
    figure: str
    value: float
    unit: str
    vs: str = ""
    ratio: float | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    key: str
    title: str
    hardware: str
    build: Callable[[], Any]
    target_s: float


def _llama70b(dtype: str, tp: int) -> Any:
    return ss.load_workload("llama-3.1-70b", phase="decode", batch=8, context_len=2048, dtype=dtype, tp=tp)


def _mixtral() -> Any:
    wl = ss.load_workload("mixtral-8x7b", phase="prefill", batch=1, prompt_len=4096, ep=8)
    return wl.route("power_law", alpha=1.2, seed=0)


def _deepseek() -> Any:
    wl = ss.load_workload("deepseek-v3", phase="decode", batch=8, context_len=2048, ep=8, dtype="fp8")
    return wl.route("power_law", alpha=1.2, seed=0)


CASES: tuple[Case, ...] = (
    Case(
        key="llama70b_h100_fp8",
        title="Llama-3.1-70B decode b8 ctx2048, h100-sxm, fp8 (bf16 does not fit 80 GiB)",
        hardware="h100-sxm",
        build=lambda: _llama70b("fp8", 1),
        target_s=1.0,
    ),
    Case(
        key="llama70b_dgx_h100_bf16_tp8",
        title="Llama-3.1-70B decode b8 ctx2048, dgx-h100 tp=8, bf16",
        hardware="dgx-h100",
        build=lambda: _llama70b("bf16", 8),
        target_s=1.0,
    ),
    Case(
        key="mixtral_prefill_ep8",
        title="Mixtral-8x7B prefill 4096 tok, dgx-h100 ep=8, power-law 1.2",
        hardware="dgx-h100",
        build=_mixtral,
        target_s=3.0,
    ),
    Case(
        key="deepseek_v3_decode_ep8",
        title="DeepSeek-V3 decode b8 ctx2048, dgx-h200 ep=8, fp8 (bf16 does not fit 141 GiB), power-law 1.2",
        hardware="dgx-h200",
        build=_deepseek,
        target_s=3.0,
    ),
)


def _median_s(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_cases(reps: int) -> list[Row]:
    rows: list[Row] = []
    for c in CASES:
        hw = ss.load_hardware(c.hardware)
        t0 = time.perf_counter()
        wl = c.build()
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = ss.simulate(hw, wl, fidelity="event")  # warm-up: JIT cache load, first-call imports
        first_s = time.perf_counter() - t0
        med = _median_s(partial(ss.simulate, hw, wl, fidelity="event"), reps)
        tiles = int(res.ops["n_tiles"].sum())
        note = (
            f"build {build_s * 1e3:.0f} ms, first call {first_s * 1e3:.0f} ms, {len(res.ops)} op rows, "
            f"{tiles:,} tiles, simulated step {res.summary()['latency_s'] * 1e3:.2f} ms"
        )
        rows.append(
            Row(
                section="engine",
                figure=c.title,
                value=med,
                unit="s",
                vs=f"target < {c.target_s:g} s",
                ratio=c.target_s / med,
                note=f"median of {reps}; {note}",
            )
        )
    return rows


def _peak_child(mode: str) -> dict[str, float]:
    """Run in a fresh process: build and simulate every case; report the peak memory."""
    if mode == "tracemalloc":
        tracemalloc.start()
    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for c in CASES:
        ss.simulate(ss.load_hardware(c.hardware), c.build(), fidelity="event")
    out = {
        "import_rss_bytes": base_kib * 1024.0,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0,
    }
    if mode == "tracemalloc":
        out["tracemalloc_peak_bytes"] = float(tracemalloc.get_traced_memory()[1])
    return out


def bench_peak_memory() -> list[Row]:
    res: dict[str, float] = {}
    for mode in ("rss", "tracemalloc"):
        proc = subprocess.run(
            [sys.executable, __file__, "--peak-child", mode], capture_output=True, text=True, check=True
        )
        res.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return [
        Row(
            section="engine",
            figure="simulator peak RSS (all 4 cases, fresh process)",
            value=res["peak_rss_bytes"] / GIB,
            unit="GiB",
            vs="target < 2 GiB",
            ratio=2.0 * GIB / res["peak_rss_bytes"],
            note=f"after imports {res['import_rss_bytes'] / GIB:.3f} GiB (ru_maxrss)",
        ),
        Row(
            section="engine",
            figure="simulator peak Python allocations (tracemalloc)",
            value=res["tracemalloc_peak_bytes"] / GIB,
            unit="GiB",
            vs="target < 2 GiB",
            ratio=2.0 * GIB / res["tracemalloc_peak_bytes"],
            note="numba/numpy buffers outside the Python allocator are in RSS only",
        ),
    ]


def _scaling_points(quick: bool) -> list[tuple[str, str, str, Any]]:
    """(axis, label, hardware, builder) for the scaling table."""
    pts: list[tuple[str, str, str, Any]] = []
    models = (
        ["llama-3.1-8b", "llama-3.1-70b", "gpt-3-175b"]
        if quick
        else [
            "llama-3.1-8b",
            "llama-2-7b",
            "llama-2-70b",
            "llama-3.1-70b",
            "gpt-3-175b",
        ]
    )
    for m in models:
        pts.append(
            ("model", m, "dgx-h100", lambda m=m: ss.load_workload(m, phase="prefill", batch=1, prompt_len=2048, tp=8))
        )
    for b in [1, 8, 64] if quick else [1, 4, 16, 64, 256]:
        pts.append(
            (
                "batch",
                f"b={b}",
                "h100-sxm",
                lambda b=b: ss.load_workload("llama-3.1-8b", phase="decode", batch=b, context_len=2048),
            )
        )
    for s in [256, 1024, 4096] if quick else [256, 1024, 4096, 8192, 16384]:
        pts.append(
            (
                "seq",
                f"prompt={s}",
                "h100-sxm",
                lambda s=s: ss.load_workload("llama-3.1-8b", phase="prefill", batch=1, prompt_len=s),
            )
        )
    return pts


def _fit(tiles: list[float], secs: list[float]) -> float:
    if len(tiles) < 2 or len(set(tiles)) < 2:
        return float("nan")
    return float(np.polyfit(np.log(tiles), np.log(secs), 1)[0])


def bench_scaling(quick: bool, reps: int) -> tuple[list[Row], list[dict[str, Any]]]:
    table: list[dict[str, Any]] = []
    for axis, label, hwname, build in _scaling_points(quick):
        hw = ss.load_hardware(hwname)
        wl = build()
        res = ss.simulate(hw, wl, fidelity="event")
        med = _median_s(partial(ss.simulate, hw, wl, fidelity="event"), reps)
        table.append(
            {
                "axis": axis,
                "point": label,
                "hardware": hwname,
                "tiles": int(res.ops["n_tiles"].sum()),
                "op_rows": len(res.ops),
                "time_s": med,
                "extrapolated": bool(res.summary()["extrapolated"]),
            }
        )
    rows: list[Row] = []
    all_t = [float(r["tiles"]) for r in table]
    all_s = [float(r["time_s"]) for r in table]
    for axis in ("model", "batch", "seq"):
        sub = [r for r in table if r["axis"] == axis]
        p = _fit([float(r["tiles"]) for r in sub], [float(r["time_s"]) for r in sub])
        span = ", ".join(f"{r['point']}: {r['tiles']:,} tiles {r['time_s'] * 1e3:.0f} ms" for r in sub)
        rows.append(
            Row(
                section="scaling",
                figure=f"time ~ tiles^p along {axis}",
                value=p,
                unit="p",
                vs="expect p <= 1",
                note=span,
            )
        )
    big = [(t, s) for t, s in zip(all_t, all_s, strict=True) if t >= 10_000]
    rows.append(
        Row(
            section="scaling",
            figure="time ~ tiles^p, all points",
            value=_fit(all_t, all_s),
            unit="p",
            vs="expect p <= 1",
            note=f"{len(table)} points",
        )
    )
    if len(big) >= 2:
        rows.append(
            Row(
                section="scaling",
                figure="time ~ tiles^p, points with >= 10k tiles",
                value=_fit([t for t, _ in big], [s for _, s in big]),
                unit="p",
                vs="expect p <= 1",
                note=f"{len(big)} points (below that a fixed per-op cost dominates)",
            )
        )
    per_tile = [s / t * 1e6 for t, s in big] if big else []
    if per_tile:
        rows.append(
            Row(
                section="scaling",
                figure="time per tile (>= 10k tiles)",
                value=statistics.median(per_tile),
                unit="us/tile",
                note=f"range {min(per_tile):.2f}-{max(per_tile):.2f}",
            )
        )
    return rows, table


def _gemm_shapes(n: int) -> list[tuple[int, int, int, str]]:
    """``n`` layer-level GEMMs (tokens x out x in, weight pattern) drawn from LLM layer shapes."""
    rng = np.random.default_rng(0)
    tokens = [1, 8, 32, 128, 256, 512, 1024, 2048]
    dims = [(4096, 4096), (11008, 4096), (4096, 11008), (14336, 4096), (4096, 14336), (8192, 8192), (28672, 8192)]
    out = []
    for _ in range(n):
        m = int(rng.choice(tokens))
        nn, k = dims[int(rng.integers(len(dims)))]
        out.append((m, nn, k, "2:4" if rng.random() < 0.5 else "dense"))
    return out


def gemm_points_per_s(hwname: str, fidelity: str, n_points: int) -> float:
    hw = ss.load_hardware(hwname)
    shapes = _gemm_shapes(n_points)
    for m, n, k, pat in shapes[:8]:  # warm-up
        ss.simulate(hw, ss.gemm(m=m, n=n, k=k, dtype="fp16", weight_pattern=pat), fidelity=fidelity)
    t0 = time.perf_counter()
    for m, n, k, pat in shapes:
        ss.simulate(hw, ss.gemm(m=m, n=n, k=k, dtype="fp16", weight_pattern=pat), fidelity=fidelity)
    return n_points / (time.perf_counter() - t0)


def bench_gemm_points(quick: bool) -> list[Row]:
    rows = []
    for hwname in ("h100-sxm", "stc-2of4"):
        for fidelity, n_points, target in (
            ("event", 60 if quick else 200, 50.0),
            ("roofline", 300 if quick else 2000, 5000.0),
        ):
            r = gemm_points_per_s(hwname, fidelity, n_points)
            rows.append(
                Row(
                    section="points",
                    figure=f"ss.gemm layer points/s, {fidelity}, {hwname}, 1 core",
                    value=r,
                    unit="points/s",
                    vs=f"target >= {target:g}/s",
                    ratio=r / target,
                    note=f"{n_points} distinct shapes, build + simulate, no sweep machinery",
                )
            )
    return rows


def run(quick: bool, reps: int | None = None) -> tuple[list[Row], list[dict[str, Any]]]:
    """Every engine figure (for ``run_all.py``) and the scaling table."""
    reps = reps or (3 if quick else 7)
    rows = bench_cases(reps)
    rows += bench_peak_memory()
    scaling_rows, table = bench_scaling(quick, 3)
    rows += scaling_rows
    rows += bench_gemm_points(quick)
    return rows, table


def _print(rows: list[Row], table: list[dict[str, Any]]) -> None:
    for r in rows:
        ratio = "" if r.ratio is None or math.isnan(r.ratio) else f"{r.ratio:10.2f}x"
        print(f"{r.figure:<92} {r.value:12.4g} {r.unit:<9} {r.vs:<20} {ratio:>11}  {r.note}")
    print()
    print(f"{'axis':<7}{'point':<16}{'hardware':<11}{'op rows':>8}{'tiles':>10}{'time ms':>10}  extrapolated")
    for t in table:
        print(
            f"{t['axis']:<7}{t['point']:<16}{t['hardware']:<11}{t['op_rows']:>8}{t['tiles']:>10,}"
            f"{t['time_s'] * 1e3:>10.1f}  {t['extrapolated']}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller scaling sweep")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per case (default 7, quick 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object (rows and scaling table)")
    ap.add_argument("--peak-child", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak_child:
        print(json.dumps(_peak_child(args.peak_child)))
        return
    rows, table = run(args.quick, args.reps)
    if args.json:
        print(json.dumps({"rows": [asdict(r) for r in rows], "scaling": table}))
    else:
        _print(rows, table)


if __name__ == "__main__":
    main()
