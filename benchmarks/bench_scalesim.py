"""simsparse closed-form cycles vs SCALE-Sim v3.0.0 on the same GEMMs, side by side (a benchmark).

    SIMSPARSE_SCALESIM_PYTHON=/tmp/scalesim-venv/bin/python .venv/bin/python benchmarks/bench_scalesim.py
    .venv/bin/python benchmarks/bench_scalesim.py --scalesim-python /tmp/peers/scalesim/bin/python

SCALE-Sim needs numpy<2, so it runs in its own scratch venv (``tests/golden/regenerate_scalesim.sh``
creates one) in a subprocess; only its simulation call is timed (``tests/golden/scalesim_golden.py``
``run_one``: config + topology parsing + ``simulator.run()``).  Asserts identical cycle counts and
prints the speed ratio.  Without SCALE-Sim it says so and prints simsparse's own timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import timeit
from pathlib import Path

from simsparse.kernels import closed_form_cycles, closed_form_cycles_array

ROOT = Path(__file__).resolve().parents[1]
CASES = [  # (m, n, k, array, dataflow, sparsity)
    (128, 128, 128, 32, "os", "dense"),
    (128, 128, 128, 32, "ws", "dense"),
    (128, 128, 128, 32, "is", "dense"),
    (256, 512, 256, 32, "ws", "dense"),
    (100, 37, 300, 32, "ws", "2:4"),
    (256, 512, 256, 32, "ws", "1:4"),
    (8, 1024, 1024, 128, "ws", "dense"),
    (512, 512, 512, 128, "os", "dense"),
]

HELPER = r"""
import contextlib, json, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from scalesim_golden import run_one
wd = tempfile.mkdtemp(prefix="bench_scalesim_")
for line in sys.stdin:
    m, n, k, arr, df, sp = json.loads(line)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        cyc = run_one(m, n, k, arr, df, sp, wd)
    print(json.dumps([cyc, time.perf_counter() - t0]), flush=True)
"""


def nm(sp: str) -> tuple[int, int]:
    if sp == "dense":
        return 0, 0
    a, b = sp.split(":")
    return int(a), int(b)


def run_scalesim(python: str) -> list[tuple[int, float]]:
    inp = "".join(json.dumps(c) + "\n" for c in CASES)
    proc = subprocess.run(
        [python, "-c", HELPER, str(ROOT / "tests" / "golden")],
        input=inp,
        capture_output=True,
        text=True,
        check=True,
    )
    return [tuple(json.loads(line)) for line in proc.stdout.splitlines() if line.strip()]  # type: ignore[misc]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=os.environ.get("SIMSPARSE_SCALESIM_PYTHON", ""))
    args = ap.parse_args()
    ours = []
    for m, n, k, arr, df, sp in CASES:
        f = lambda m=m, n=n, k=k, arr=arr, df=df, sp=sp: closed_form_cycles(m, n, k, arr, arr, df, *nm(sp))  # noqa: E731
        reps = 20_000
        ours.append((f(), timeit.timeit(f, number=reps) / reps))
    have = bool(args.scalesim_python) and Path(args.scalesim_python).exists()
    if have:
        probe = subprocess.run([args.scalesim_python, "-c", "import scalesim"], capture_output=True)
        have = probe.returncode == 0
    if not have:
        print("SCALE-Sim not available (set SIMSPARSE_SCALESIM_PYTHON or --scalesim-python to the python of a")
        print("venv with scalesim==3.0.0, e.g. one made by tests/golden/regenerate_scalesim.sh); simsparse only:")
        for c, (cyc, t) in zip(CASES, ours, strict=True):
            print(f"  {c[0]}x{c[1]}x{c[2]} {c[3]}x{c[3]} {c[4]} {c[5]:>5}: {cyc:>8} cycles  {t * 1e6:8.2f} us")
    else:
        t0 = time.perf_counter()
        theirs = run_scalesim(args.scalesim_python)
        print(f"SCALE-Sim ({args.scalesim_python}) ran {len(CASES)} cases in {time.perf_counter() - t0:.1f} s")
        hdr = f"{'case':<32}{'simsparse':>10}{'SCALE-Sim':>10}{'simsparse s':>13}{'SCALE-Sim s':>13}{'speed-up':>11}"
        print(hdr)
        for c, (cyc, t), (cyc_s, t_s) in zip(CASES, ours, theirs, strict=True):
            name = f"{c[0]}x{c[1]}x{c[2]} {c[3]}x{c[3]} {c[4]} {c[5]}"
            print(f"{name:<32}{cyc:>10}{cyc_s:>10}{t:>13.2e}{t_s:>13.3f}{t_s / t:>11.2e}")
            assert cyc == cyc_s, f"cycle mismatch on {name}: simsparse {cyc} vs SCALE-Sim {cyc_s}"
        tot_ours = sum(t for _, t in ours)
        tot_theirs = sum(t for _, t in theirs)
        print(
            f"all cycle counts identical; total {tot_ours:.2e} s vs {tot_theirs:.2f} s -> "
            f"simsparse is {tot_theirs / tot_ours:.2e}x faster"
        )
    # vectorized sweep: one call over many shapes
    import numpy as np

    rng = np.random.default_rng(0)
    n_shapes = 1_000_000
    dims = rng.integers(1, 8192, size=(3, n_shapes))
    t0 = time.perf_counter()
    closed_form_cycles_array(dims[0], dims[1], dims[2], 128, 128, "ws")
    dt = time.perf_counter() - t0
    print(f"closed_form_cycles_array: {n_shapes:,} shapes in {dt:.3f} s ({n_shapes / dt / 1e6:.1f} M shapes/s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
