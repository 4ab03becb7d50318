"""Sweep throughput: layer-level design points per second per core, and Dask scaling (a benchmark, not a test).

    .venv/bin/python benchmarks/bench_sweep.py [--points N] [--event-points N] [--dask-points N] [--skip-dask]

* points/s per core at ``roofline`` and ``event`` fidelity: one local process (``n_jobs=1``, so
  points run inline: exactly one core), one layer-level GEMM (a 7B model's FFN up-projection for
  256 tokens) per point on ``stc-2of4`` while HBM bandwidth, core count and weight pattern vary.
  Wall time of the whole ``ss.sweep`` call (plan, hashing, simulation, table), after a warm-up
  sweep of a different spec (imports, numba JIT cache, the parsed preset; not the memo of built
  points, which is per spec).
* points/s of the local process pool with every core (``n_jobs=None``).
* Dask ``LocalCluster`` with 2 workers vs 1 worker (one thread each) on the same event sweep,
  every worker warmed first (``client.run``: imports and JIT in each worker process): the ratio
  of points/s (the issue's target is at least 1.7x). The client, the scheduler and the workers
  share the machine's cores.

Caching is off (no ``cache_dir``), so every point is simulated. Targets from issue 8: 50 points/s
per core at event fidelity, 5,000/s at roofline.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from simsparse.sweep import SweepSpec, sweep, sweep_from_dict


def spec(n_points: int, fidelity: str, name: str = "") -> SweepSpec:
    n_hbm = max(1, n_points // 6)
    data: dict[str, Any] = {
        "name": name or f"bench_{fidelity}",
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


def _spin(n: int = 2_000_000) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t


def cpu_ceiling() -> float:
    """How much faster 2 processes do twice a pure-Python loop than 1 process does it once, now.

    About 2.0 on an idle 2-core machine; other load on the machine lowers it, and every 2-process
    scaling figure with it (read the Dask and pool scalings against this).
    """
    import multiprocessing

    one = min(_spin() for _ in range(2))
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # started
        t = time.perf_counter()
        pool.map(_spin, [2_000_000, 2_000_000], chunksize=1)
        two = time.perf_counter() - t
    return 2 * one / two


def warm(n_jobs: int = 1) -> None:
    """Imports, numba JIT and the parsed preset, in this process (a different spec: no point memo)."""
    for fidelity in ("roofline", "event"):
        sweep(spec(12, fidelity, name=f"warm_{fidelity}"), n_jobs=n_jobs, progress=False)


def dask_rate(n_workers: int, s: SweepSpec) -> tuple[float, int, float]:
    """Points/s of ``s`` on a fresh ``LocalCluster`` of ``n_workers`` (one thread each), workers warmed."""
    import logging

    import distributed

    with distributed.LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        address = cluster.scheduler_address
        with distributed.Client(address) as client:  # type: ignore[no-untyped-call]
            client.run(warm)  # every worker: imports, JIT
        sweep(spec(6 * n_workers, "roofline", name="warm_dask"), scheduler=address, progress=False)
        return rate(s, scheduler=address)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=600, help="roofline points (default 600)")
    ap.add_argument("--event-points", type=int, default=60, help="event points (default 60)")
    ap.add_argument("--dask-points", type=int, default=480, help="Dask event points (default 480)")
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    roof = spec(args.points, "roofline")
    event = spec(args.event_points, "event")
    warm()
    print(f"cores: {cores}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"2-process CPU ceiling now: {cpu_ceiling():.2f}x (2.0 on an idle 2-core machine)")
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
    dask_event = spec(args.dask_points, "event", name="bench_dask_event")
    results = {}
    for n_workers in (1, 2):
        results[n_workers], n, dt = dask_rate(n_workers, dask_event)
        print(f"dask event, {n_workers} worker(s): {results[n_workers]:8.1f} points/s  ({n} points in {dt:.2f} s)")
    print(f"dask scaling 2 workers / 1 worker: {results[2] / results[1]:.2f}x (target >= 1.7x)")
    print(f"2-process CPU ceiling now: {cpu_ceiling():.2f}x")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
