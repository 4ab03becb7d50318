"""Sweep throughput: layer-level design points per second per core, and Dask scaling (a benchmark, not a test).

    .venv/bin/python benchmarks/bench_sweep.py [--points N] [--event-points N] [--skip-dask]

* points/s per core at ``roofline`` and ``event`` fidelity: one local process (``n_jobs=1``, so
  points run inline: exactly one core), one layer-level GEMM (a 7B model's FFN up-projection for
  256 tokens) per point on ``stc-2of4`` while HBM bandwidth, core count and weight pattern vary.
* points/s of the local process pool with every core (``n_jobs=None``).
* Dask ``LocalCluster`` with 2 workers vs 1 worker (one thread each) on the same roofline sweep:
  the ratio of points/s (the issue's target is at least 1.7x).

Caching is off (no ``cache_dir``), so every point is simulated. Targets from issue 8: 50 points/s
per core at event fidelity, 5,000/s at roofline.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from typing import Any

from simsparse.sweep import SweepSpec, sweep, sweep_from_dict


def spec(n_points: int, fidelity: str) -> SweepSpec:
    n_hbm = max(1, n_points // 6)
    data: dict[str, Any] = {
        "name": f"bench_{fidelity}",
        "hardware": "stc-2of4",
        "fidelity": fidelity,
        "workloads": [{"builder": "gemm", "args": {"m": 256, "n": 11008, "k": 4096, "dtype": "fp16"}}],
        "axes": [
            {"path": "workload.weight_pattern", "values": ["dense", "2:4"]},
            {"path": "device.n_cores", "values": [54, 81, 108]},
            {"path": "device.memory[hbm].read_gb_per_s", "low": 500.0, "high": 8000.0, "n": n_hbm},
        ],
        "metrics": ["latency_s", "energy_j", "utilization"],
    }
    return sweep_from_dict(data)


def rate(s: SweepSpec, **kw: Any) -> tuple[float, int, float]:
    t = time.perf_counter()
    df = sweep(s, progress=False, **kw)
    dt = time.perf_counter() - t
    return len(df) / dt, len(df), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=600, help="roofline points (default 600)")
    ap.add_argument("--event-points", type=int, default=60, help="event points (default 60)")
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    roof = spec(args.points, "roofline")
    event = spec(args.event_points, "event")
    sweep(dataclasses.replace(roof, sampling=roof.sampling), n_jobs=1, progress=False)  # warm-up (JIT, imports)
    print(f"cores: {cores}")
    r1, n, dt = rate(roof, n_jobs=1)
    print(f"roofline, 1 core : {r1:9.1f} points/s per core  ({n} points in {dt:.2f} s; target 5000)")
    e1, n, dt = rate(event, n_jobs=1)
    print(f"event,    1 core : {e1:9.1f} points/s per core  ({n} points in {dt:.2f} s; target 50)")
    rp, n, dt = rate(roof, n_jobs=cores)
    print(f"roofline, {cores} procs: {rp:9.1f} points/s  ({rp / r1:.2f}x one core)")
    ep, n, dt = rate(event, n_jobs=cores)
    print(f"event,    {cores} procs: {ep:9.1f} points/s  ({ep / e1:.2f}x one core)")
    if args.skip_dask:
        return
    import logging

    import distributed

    results = {}
    for n_workers in (1, 2):
        with distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster:
            address = cluster.scheduler_address
            sweep(spec(24, "roofline"), scheduler=address, progress=False)  # warm the workers
            results[n_workers] = rate(event, scheduler=address)[0]
        print(f"dask event, {n_workers} worker(s): {results[n_workers]:8.1f} points/s")
    print(f"dask scaling 2 workers / 1 worker: {results[2] / results[1]:.2f}x (target >= 1.7x)")


if __name__ == "__main__":
    main()
