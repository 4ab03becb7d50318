"""Timing GPU kernels launched from PyTorch, shared by ``torch_gemm.py`` and ``torch_ops.py``.

Not part of the package (PyTorch is not a simsparse dependency). A case is timed over ``calls`` calls; before
each call the L2 is cleared (a 256 MB read that leaves it holding clean lines, or with ``flush="write"`` a
256 MB write as ``triton.testing.do_bench`` does, whose dirty lines then cost the timed kernel their
write-back) and an optional ``prepare`` step runs (a producer kernel that writes the timed kernel's input,
say). The value is the GPU time of the kernels the call launched, from the profiler (CUPTI): kernels run in
order on one stream, so each call's kernels are the flush's and the prepare step's followed by its own, and
the first ones are dropped by position (a call may launch a kernel of the same name, a memset say, that
must be kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def clean(value: object) -> str:
    """A value made safe for the measured CSV's ``key=value;...`` ``extra`` column."""
    return str(value).replace(";", ",").replace("=", ":").replace("\n", " ")


def kernel_name(name: str) -> str:
    """A profiler kernel name without its return type, anonymous namespaces and argument list."""
    name = name.replace("(anonymous namespace)::", "").removeprefix("void ")
    return name.split("(")[0][:80]


class KernelTimer:
    """Profiler (CUPTI) kernel times and CUDA-event call times of PyTorch calls on ``dev``.

    ``cpu=True`` runs the plumbing on the CPU with a host timer (no measurement)."""

    def __init__(self, torch: Any, dev: Any, flush: str = "read", calls: int = 15, cpu: bool = False) -> None:
        if flush not in ("read", "write"):
            raise ValueError(f"flush must be 'read' or 'write', got {flush!r}")
        self.torch, self.dev, self.flush_mode, self.calls, self.cpu = torch, dev, flush, calls, cpu
        self._buffer = torch.ones(64 * 1024 * 1024, dtype=torch.int32, device=dev)
        self._preamble: tuple[object, list[str]] | None = None  # (prepare step, its kernels with the flush's)
        self.last: dict[str, object] = {}

    @property
    def how(self) -> str:
        if self.flush_mode == "read":
            return "a 256 MB read (a sum: the L2 is left holding clean lines)"
        return "a 256 MB write"

    def flush(self) -> None:
        if self.flush_mode == "read":
            self._buffer.sum()
        else:
            self._buffer.zero_()

    def _events(self, fn: Callable[[], object], calls: int, prepare: Callable[[], object] | None) -> list[tuple]:
        from torch.autograd import DeviceType
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                self.flush()
                if prepare is not None:
                    prepare()
                fn()
            self.torch.cuda.synchronize()
        out = []
        for e in prof.events():
            if e.device_type == DeviceType.CUDA and e.time_range.elapsed_us() > 0:
                out.append((float(e.time_range.start), str(e.name), float(e.time_range.elapsed_us())))
        return sorted(out)

    def _preamble_names(self, prepare: Callable[[], object] | None) -> list[str]:
        """The kernels of the flush and the prepare step, from profiling them alone (the last one kept)."""
        if self._preamble is None or self._preamble[0] is not prepare:
            alone = self._events(lambda: None, 3, prepare)
            if len(alone) % 3:
                raise RuntimeError(f"flush and prepare launched {len(alone)} kernels over 3 calls")
            self._preamble = (prepare, [name for _, name, _ in alone[: len(alone) // 3]])
        return self._preamble[1]

    def kernel_us(
        self, fn: Callable[[], object], prepare: Callable[[], object] | None = None
    ) -> tuple[float, int, str]:
        """(median over calls of the summed kernel time of one call in us, kernels per call, their names)."""
        pre = self._preamble_names(prepare)
        events = self._events(fn, self.calls, prepare)
        group, f = len(events) // self.calls, len(pre)
        if group * self.calls != len(events) or group <= f:
            raise RuntimeError(f"{len(events)} kernels over {self.calls} calls, {f} of each the preamble's")
        sums = []
        for i in range(self.calls):
            chunk = events[i * group : (i + 1) * group]
            if [name for _, name, _ in chunk[:f]] != pre:
                raise RuntimeError("a call's kernels do not start with the flush's and the prepare step's")
            sums.append(sum(d for _, _, d in chunk[f:]))
        names = "|".join(kernel_name(name) for _, name, _ in events[f:group])
        return float(sorted(sums)[len(sums) // 2]), group - f, names

    def call_us(self, fn: Callable[[], object], prepare: Callable[[], object] | None = None) -> float:
        """Median over calls of CUDA events around one call (counts host work the GPU waits on)."""
        for _ in range(3):
            fn()
        times = []
        for _ in range(self.calls):
            self.flush()
            if prepare is not None:
                prepare()
            if self.cpu:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e6)
                continue
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e3)
        return float(sorted(times)[len(times) // 2])

    def bench(self, fn: Callable[[], object], prepare: Callable[[], object] | None = None) -> float:
        """The row value (kernel time, us); :attr:`last` holds what the row's ``extra`` records of it."""
        call = self.call_us(fn, prepare)
        self.last.clear()
        if self.cpu:
            value, per_call = call, 1
        else:
            try:
                value, per_call, names = self.kernel_us(fn, prepare)
                self.last["kernels"] = names
            except Exception as exc:  # no CUPTI: the row keeps the whole-call time, and says so
                print(f"profiler failed ({type(exc).__name__}: {exc}); value = call_us", flush=True)
                value, per_call = call, 0
                self.last["value_is"] = "call_us (the profiler failed)"
        self.last.update(call_us=f"{call:.4g}", kernels_per_call=per_call)
        return value


def add_common_args(ap: Any) -> None:
    """The command-line options both torch scripts take (``--out``, ``--calls``, ``--quick``, ``--cpu-check``)."""
    ap.add_argument("--out", required=True)
    ap.add_argument("--calls", type=int, default=15, help="profiled calls per case")
    ap.add_argument("--quick", action="store_true", help="a few shapes only (a smoke test)")
    ap.add_argument(
        "--cpu-check", action="store_true", help="run the plumbing on the CPU (host timer; not a measurement)"
    )


def open_device(torch: Any, cpu_check: bool, script: str) -> tuple[Any, str, list[tuple[str, object]]] | None:
    """(device, GPU name, provenance) for a run, seeded; ``None`` (after saying so) when no CUDA GPU is visible."""
    import sys

    torch.manual_seed(0)
    if cpu_check:
        return torch.device("cpu"), "cpu (plumbing check, not a measurement)", [("torch", torch.__version__)]
    if not torch.cuda.is_available():
        print(f"{script}: no CUDA GPU visible to PyTorch", file=sys.stderr)
        return None
    return torch.device("cuda"), torch.cuda.get_device_name(0), gpu_context(torch)


def gpu_context(torch: Any) -> list[tuple[str, object]]:
    """Provenance of the local GPU and software stack for each row's ``extra``."""
    from simsparse.validation.hostcpu import nvidia_smi_query as smi

    props = torch.cuda.get_device_properties(0)
    context: list[tuple[str, object]] = [
        ("torch", torch.__version__),
        ("cuda_runtime", torch.version.cuda),
        ("cuda_driver", smi("driver_version")),
        ("sms", props.multi_processor_count),
        ("cc", f"{props.major}.{props.minor}"),
        ("l2_bytes", getattr(props, "L2_cache_size", "")),
        ("max_sm_clock_mhz", smi("clocks.max.sm")),
        ("max_mem_clock_mhz", smi("clocks.max.mem")),
        ("power_limit_w", smi("power.limit")),
    ]
    return context


def measured_row(
    *,
    script: str,
    date: str,
    gpu: str,
    stack: str,
    kind: str,
    dtype: str,
    metric: str,
    value: float,
    unit: str,
    extra: list[tuple[str, object]],
    note: str,
    m: object = "",
    n: object = "",
    k: object = "",
    tokens: object = "",
) -> dict[str, object]:
    """One row of the measured CSV from our own run of ``scripts/gpu/<script>``: the provenance columns
    filled (repo simsparse, Apache-2.0, the day), ``extra`` written as ``key=value;...`` without empty values."""
    return {
        "source_id": f"simsparse.{script.removesuffix('.py')}.{date}",
        "gpu": gpu,
        "stack": stack,
        "kind": kind,
        "dtype": dtype,
        "m": m,
        "n": n,
        "k": k,
        "tokens": tokens,
        "batch": "",
        "extra": ";".join(f"{a}={clean(b)}" for a, b in extra if b not in (None, "")),
        "metric": metric,
        "value": value,
        "unit": unit,
        "source_repo": "simsparse",
        "source_path_or_url": f"scripts/gpu/{script}",
        "source_commit_or_date": date,
        "license": "Apache-2.0",
        "note": note,
    }


def write_rows(rows: list[dict[str, object]], out: str) -> int:
    """Write ``rows`` as a measured CSV (columns of :mod:`simsparse.validation.datasets`) atomically."""
    import os
    import tempfile

    import pandas as pd

    from simsparse.validation.datasets import COLUMNS

    df = pd.DataFrame(rows, columns=list(COLUMNS))
    target = os.path.abspath(out)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        df.to_csv(fh, index=False)
    os.replace(tmp, target)
    print(f"wrote {len(df)} rows to {target}")
    return len(df)
