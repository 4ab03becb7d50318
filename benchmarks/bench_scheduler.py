"""Throughput of the numba list scheduler on a double-buffered tile pipeline (a benchmark, not a test).

    .venv/bin/python benchmarks/bench_scheduler.py [--tiles N] [--streams S] [--reps R]

Builds S independent tile streams (each: load on a DRAM port, compute on an array, store on the
write channel, n_buffers=2) that share one DRAM read channel with capacity 2, two arrays and one
write channel, with per-tile cycles drawn at random, then reports tasks/s of ``schedule`` after
JIT warm-up (best of R runs, one core).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simsparse.kernels import pipeline_tasks, schedule


def build(n_tiles: int, n_streams: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts = []
    offset = 0
    for s in range(n_streams):
        t = pipeline_tasks(
            rng.integers(200, 400, n_tiles).astype(np.float64),
            rng.integers(250, 500, n_tiles).astype(np.float64),
            rng.integers(50, 150, n_tiles).astype(np.float64),
            n_tiles,
            2,
            read_resource=0,
            array_resource=1 + (s % 2),
            write_resource=3,
        )
        t["dep_idx"] = t["dep_idx"] + offset
        parts.append(t)
        offset += t["duration"].shape[0]
    ptr = [parts[0]["dep_ptr"]]
    for t in parts[1:]:
        ptr.append(t["dep_ptr"][1:] + ptr[-1][-1])
    return {
        "duration": np.concatenate([t["duration"] for t in parts]),
        "resource": np.concatenate([t["resource"] for t in parts]),
        "capacity": np.array([2, 1, 1, 1], dtype=np.int32),
        "dep_ptr": np.concatenate(ptr),
        "dep_idx": np.concatenate([t["dep_idx"] for t in parts]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=250_000, help="tiles per stream")
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    small = build(100, 2)
    t0 = time.perf_counter()
    schedule(**small)
    print(f"JIT warm-up / cache load: {time.perf_counter() - t0:.2f} s")
    arrs = build(args.tiles, args.streams)
    n = arrs["duration"].shape[0]
    n_deps = arrs["dep_idx"].shape[0]
    best = float("inf")
    for _ in range(args.reps):
        t0 = time.perf_counter()
        _, finish, busy = schedule(**arrs)
        best = min(best, time.perf_counter() - t0)
    print(f"tasks: {n:,}  dependencies: {n_deps:,}  makespan: {finish.max():,.0f} cycles")
    print(f"array utilization: {busy[1] / finish.max():.3f}, {busy[2] / finish.max():.3f}")
    print(f"schedule(): {best:.3f} s  ->  {n / best / 1e6:.2f} M tasks/s (best of {args.reps}, one core)")


if __name__ == "__main__":
    main()
