"""Measure the load-to-use latency of the local CUDA GPU's memory levels with a pointer chase, in the
measured-CSV format of ``simsparse/data/measured/README.md``.

Not part of the package's kernel suite (it has no CPU twin): a script for a machine with a GPU, numba's CUDA
target and this checkout on ``PYTHONPATH``. One thread follows a random cyclic permutation of the 128-byte
lines of a buffer, so each load's address comes from the load before it and nothing overlaps: the time per
hop is the latency of the level the buffer fits in (L1, L2, HBM), and across buffer sizes beyond the L2 it
shows what address translation of a large footprint adds. Each size is timed with CUDA events around a
kernel of ``hops`` dependent loads, after a warm-up kernel of up to ``hops`` loads (a whole pass over the
cycle where it is shorter: the small buffers start in their level). Each kernel goes on from where the one
before stopped, so in a buffer of more lines than all the kernels' hops no line is loaded twice; the value is the median of
``--repeats`` such kernels divided by ``hops``. Usage::

    python3 scripts/gpu/chase.py --out chase.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gputime.py beside this script
from gputime import measured_row, write_rows

LINE_BYTES = 128
SIZES_BYTES = (16 << 10, 128 << 10, 4 << 20, 24 << 20, 256 << 20, 1 << 30, 4 << 30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--hops", type=int, default=200_000, help="dependent loads per timed kernel")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    import numpy as np
    from numba import cuda

    from simsparse.validation.hostcpu import nvidia_smi_query as smi

    if not cuda.is_available():
        print("chase: no CUDA GPU visible to numba", file=sys.stderr)
        return 2

    @cuda.jit
    def chase(nxt, hops, pos):  # type: ignore[no-untyped-def]
        j = pos[0]
        for _ in range(hops):
            j = nxt[j]
        pos[0] = j  # the next kernel goes on from here

    try:
        dev = cuda.get_current_device()
        name, cc = dev.name, dev.compute_capability
    except AttributeError:  # numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): a plumbing check
        name, cc = "CUDA simulator", (0, 0)
    gpu = smi("name") or (name.decode() if isinstance(name, bytes) else str(name))
    date = dt.datetime.now(dt.UTC).date().isoformat()
    import numba

    context = [
        ("numba", numba.__version__),
        ("cuda_driver", smi("driver_version")),
        ("cc", "{}.{}".format(*cc)),
    ]
    rng = np.random.default_rng(0)
    stride = LINE_BYTES // 8  # int64 slots per line
    rows: list[dict[str, object]] = []
    try:
        for size in SIZES_BYTES:
            lines = size // LINE_BYTES
            order = rng.permutation(lines)
            nxt = np.zeros(lines * stride, dtype=np.int64)
            # line order[i] points to line order[i + 1]: one cycle through every line
            nxt[order * stride] = np.roll(order, -1) * stride
            d_nxt, d_pos = cuda.to_device(nxt), cuda.to_device(np.zeros(1, dtype=np.int64))
            chase[1, 1](d_nxt, min(lines, args.hops), d_pos)  # warm-up (a whole pass where the cycle is short)
            cuda.synchronize()
            times = []
            for _ in range(args.repeats):
                start, end = cuda.event(), cuda.event()
                start.record()
                chase[1, 1](d_nxt, args.hops, d_pos)
                end.record()
                end.synchronize()
                times.append(float(start.elapsed_time(end)) * 1e6 / args.hops)  # ms -> ns per hop
            ns = float(np.median(times))
            del d_nxt
            extra = [
                ("buffer_bytes", size),
                ("line_bytes", LINE_BYTES),
                ("hops", args.hops),
                ("repeats", args.repeats),
                ("spread_ns", f"{max(times) - min(times):.3g}"),
                ("timing", "CUDA events around one kernel of dependent loads by one thread, median / hops"),
                *context,
            ]
            rows.append(
                measured_row(
                    script="chase.py",
                    date=date,
                    gpu=gpu,
                    stack=f"numba {numba.__version__} CUDA pointer chase (scripts/gpu/chase.py)",
                    kind="pointer_chase",
                    dtype="int64",
                    metric="latency_ns",
                    value=ns,
                    unit="ns",
                    extra=extra,
                    note="measured",
                )
            )
            print(f"chase {size >> 10} KiB: {ns:.1f} ns per hop (spread {max(times) - min(times):.2f})", flush=True)
    finally:
        write_rows(rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
