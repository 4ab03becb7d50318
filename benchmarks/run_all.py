"""Run every benchmark and print one table of figures and ratios (``make bench``).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only scheduler,scalesim,engine,sweep]
        [--scalesim-python PATH] [--skip-dask] [--json OUT.json]

Each section runs in its own fresh subprocess (so JIT cache loads, imports and peak memory are
those of a new process) and hands its figures back as JSON. A figure is either a ratio against a
reference measured in the same run (SCALE-Sim on the same GEMMs, 2 Dask workers vs 1) or a median
/ rate with its target beside it; ``ratio`` >= 1 means the target is met or the reference beaten.
Nothing is asserted: benchmarks report, tests never time.

Sections (about 2 min in all on 2 cores with SCALE-Sim, ~1 min with ``--quick``):

* ``scheduler`` (issue 4): tile tasks/s of the numba list scheduler after warm-up, one core, and
  the first-call time in a fresh process (JIT cache load; target: compiled once, cached).
* ``scalesim`` (issue 4): simsparse's closed-form cycles vs SCALE-Sim v3.0.0 on the same GEMMs,
  when ``SIMSPARSE_SCALESIM_PYTHON`` (or ``--scalesim-python``) names a python with scalesim
  3.0.0; else simsparse's time alone.
* ``engine`` (issues 6 and 8): ``benchmarks/bench_engine.py``.
* ``sweep`` (issue 8): points/s per core through ``ss.sweep`` (roofline and event), the local
  process pool, and a Dask ``LocalCluster`` of 2 workers vs 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECTIONS = ("scheduler", "scalesim", "engine", "sweep")
MARK = "@@BENCH "


def _row(
    section: str, figure: str, value: float, unit: str, vs: str = "", ratio: float | None = None, note: str = ""
) -> dict[str, Any]:
    return {"section": section, "figure": figure, "value": value, "unit": unit, "vs": vs, "ratio": ratio, "note": note}


# --------------------------------------------------------------------------- sections (children)


def section_scheduler(quick: bool, **_kw: Any) -> list[dict[str, Any]]:
    from bench_scheduler import build

    from simsparse.kernels import schedule

    t0 = time.perf_counter()
    schedule(**build(100, 2))
    first_s = time.perf_counter() - t0
    tiles = 50_000 if quick else 250_000
    arrs = build(tiles, 4)
    n = int(arrs["duration"].shape[0])
    times = []
    for _ in range(3 if quick else 5):
        t0 = time.perf_counter()
        schedule(**arrs)
        times.append(time.perf_counter() - t0)
    rate = n / statistics.median(times)
    return [
        _row(
            "scheduler",
            "schedule() tile tasks/s, 1 core, after warm-up",
            rate,
            "tasks/s",
            "target >= 1e6/s",
            rate / 1e6,
            f"{n:,} tasks, median of {len(times)} ({statistics.median(times):.3f} s)",
        ),
        _row(
            "scheduler",
            "first schedule() call in a fresh process (JIT cache load)",
            first_s,
            "s",
            note="small after the first-ever run if the numba cache works; ~seconds means recompiling",
        ),
    ]


def section_scalesim(quick: bool, scalesim_python: str = "", **_kw: Any) -> list[dict[str, Any]]:
    import timeit

    from bench_scalesim import CASES, nm, run_scalesim

    from simsparse.kernels import closed_form_cycles

    cases = CASES[:4] if quick else CASES
    ours: list[tuple[int, float]] = []
    for m, n, k, arr, df, sp in cases:

        def f(m: int = m, n: int = n, k: int = k, arr: int = arr, df: str = df, sp: str = sp) -> int:
            return int(closed_form_cycles(m, n, k, arr, arr, df, *nm(sp)))

        reps = 20_000
        ours.append((int(f()), timeit.timeit(f, number=reps) / reps))
    tot_ours = sum(t for _, t in ours)
    have = bool(scalesim_python) and Path(scalesim_python).exists()
    if have:
        have = subprocess.run([scalesim_python, "-c", "import scalesim"], capture_output=True).returncode == 0
    if not have:
        return [
            _row(
                "scalesim",
                f"closed-form cycles, {len(cases)} GEMMs (SCALE-Sim not available)",
                tot_ours,
                "s",
                "SCALE-Sim: n/a",
                None,
                "set SIMSPARSE_SCALESIM_PYTHON to a python with scalesim==3.0.0 (tests/golden/regenerate_scalesim.sh)",
            )
        ]
    import bench_scalesim

    bench_scalesim.CASES = list(cases)  # run_scalesim feeds the module's CASES
    theirs = run_scalesim(scalesim_python)
    same = sum(int(a == b) for (a, _), (b, _) in zip(ours, theirs, strict=True))
    tot_theirs = sum(t for _, t in theirs)
    ratios = [ts / t for (_, t), (_, ts) in zip(ours, theirs, strict=True)]
    return [
        _row(
            "scalesim",
            f"closed-form cycles vs SCALE-Sim 3.0.0, {len(cases)} GEMMs, total time",
            tot_ours,
            "s",
            f"SCALE-Sim {tot_theirs:.2f} s",
            tot_theirs / tot_ours / 100.0,
            f"speed-up {tot_theirs / tot_ours:.3g}x (target >= 100x; ratio column = speed-up / 100); "
            f"identical cycle counts {same}/{len(cases)}",
        ),
        _row(
            "scalesim",
            "slowest case's speed-up vs SCALE-Sim",
            min(ratios),
            "x",
            "target >= 100x",
            min(ratios) / 100.0,
            f"geometric mean {math.exp(statistics.fmean(math.log(r) for r in ratios)):.3g}x",
        ),
    ]


def section_engine(quick: bool, **_kw: Any) -> list[dict[str, Any]]:
    from dataclasses import asdict

    import bench_engine

    rows, table = bench_engine.run(quick)
    for t in table:
        print(
            f"[engine scaling] {t['axis']:<6} {t['point']:<14} {t['hardware']:<9} {t['tiles']:>9,} tiles "
            f"{t['time_s'] * 1e3:8.1f} ms",
            file=sys.stderr,
        )
    return [asdict(r) for r in rows]


def section_sweep(quick: bool, skip_dask: bool = False, **_kw: Any) -> list[dict[str, Any]]:

    from bench_sweep import dask_rate, rate, spec

    from simsparse.sweep import sweep

    cores = os.cpu_count() or 1
    n_roof, n_event = (300, 40) if quick else (1200, 120)
    roof, event = spec(n_roof, "roofline"), spec(n_event, "event")
    sweep(spec(24, "event"), n_jobs=1, progress=False)  # warm-up: imports, JIT cache
    rows = []
    r1, n, dt = rate(roof, n_jobs=1)
    rows.append(
        _row(
            "sweep",
            "ss.sweep roofline points/s, 1 core",
            r1,
            "points/s",
            "target >= 5000/s",
            r1 / 5000,
            f"{n} points in {dt:.2f} s",
        )
    )
    e1, n, dt = rate(event, n_jobs=1)
    rows.append(
        _row(
            "sweep",
            "ss.sweep event points/s, 1 core",
            e1,
            "points/s",
            "target >= 50/s",
            e1 / 50,
            f"{n} points in {dt:.2f} s",
        )
    )
    if cores > 1:
        ep, n, dt = rate(event, n_jobs=cores)
        rows.append(
            _row(
                "sweep",
                f"ss.sweep event points/s, local pool of {cores}",
                ep,
                "points/s",
                f"1 core {e1:.1f}/s",
                ep / e1,
                f"{n} points in {dt:.2f} s (ratio: scaling vs 1 core, incl. pool start-up)",
            )
        )
    if skip_dask:
        return rows
    dask_event = spec(2 * n_event, "event")
    res = {n_workers: dask_rate(n_workers, dask_event)[0] for n_workers in (1, 2)}
    rows.append(
        _row(
            "sweep",
            "Dask LocalCluster event points/s, 2 workers vs 1",
            res[2],
            "points/s",
            f"1 worker {res[1]:.1f}/s; target >= 1.7x",
            res[2] / res[1] / 1.7,
            f"scaling {res[2] / res[1]:.2f}x ({2 * n_event} points; ratio column = scaling / 1.7; "
            f"{cores} cores shared with the scheduler and client)",
        )
    )
    return rows


RUNNERS = {
    "scheduler": section_scheduler,
    "scalesim": section_scalesim,
    "engine": section_engine,
    "sweep": section_sweep,
}


# --------------------------------------------------------------------------- parent


def run_section(name: str, args: argparse.Namespace) -> tuple[list[dict[str, Any]], float, str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--section", name]
    if args.quick:
        cmd.append("--quick")
    if args.skip_dask:
        cmd.append("--skip-dask")
    if args.scalesim_python:
        cmd += ["--scalesim-python", args.scalesim_python]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
    wall = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            rows = json.loads(line[len(MARK) :])
        elif line.strip():
            print(line, file=sys.stderr)
    err = "" if proc.returncode == 0 else f"exit code {proc.returncode}"
    return rows, wall, err


def _fmt(v: float | None, spec: str = ".4g") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return format(v, spec)


def print_table(rows: list[dict[str, Any]]) -> None:
    w_fig = max([len("figure"), *(len(r["figure"]) for r in rows)])
    w_vs = max([len("reference / target"), *(len(r["vs"]) for r in rows)])
    hdr = f"{'section':<10} {'figure':<{w_fig}} {'value':>11} {'unit':<9} {'reference / target':<{w_vs}} {'ratio':>8}  note"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = _fmt(r["ratio"], ".2f")
        print(
            f"{r['section']:<10} {r['figure']:<{w_fig}} {_fmt(r['value']):>11} {r['unit']:<9} {r['vs']:<{w_vs}} "
            f"{ratio + ('x' if ratio else ''):>8}  {r['note']}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and points (about a minute)")
    ap.add_argument("--only", default="", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--scalesim-python", default=os.environ.get("SIMSPARSE_SCALESIM_PYTHON", ""))
    ap.add_argument("--skip-dask", action="store_true", help="leave out the Dask LocalCluster scaling")
    ap.add_argument("--json", default="", help="also write the rows to this JSON file")
    ap.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()
    if args.section:
        sys.path.insert(0, str(HERE))
        rows = RUNNERS[args.section](args.quick, scalesim_python=args.scalesim_python, skip_dask=args.skip_dask)
        print(MARK + json.dumps(rows), flush=True)
        return
    names = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    bad = [s for s in names if s not in SECTIONS]
    if bad:
        ap.error(f"--only: expected sections of {', '.join(SECTIONS)}, got {', '.join(bad)}")
    all_rows: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    for name in names:
        print(f"[run_all] {name} ...", file=sys.stderr, flush=True)
        rows, wall, err = run_section(name, args)
        print(f"[run_all] {name}: {wall:.1f} s{(' (' + err + ')') if err else ''}", file=sys.stderr, flush=True)
        if err and not rows:
            rows = [_row(name, "section failed", float("nan"), "", note=f"{err}; see the log above")]
        all_rows += rows
    print()
    print(
        f"simsparse benchmarks ({'quick' if args.quick else 'full'}; {os.cpu_count()} cores; "
        f"{time.perf_counter() - t_all:.0f} s in all; ratio >= 1: target met / reference beaten)"
    )
    print_table(all_rows)
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
