"""Run the kernel suite on this machine and return the timings in the long measured-CSV format.

:func:`measure` runs every case of :mod:`simsparse.validation.kernels` on the CPU (the numba parallel
twins, timed on the host) or on a CUDA GPU (the numba CUDA kernels, timed with CUDA events around one
launch). Each case's output is checked against the NumPy reference before and after its timed runs; a
mismatch raises :class:`~simsparse.errors.SimulationError` and nothing is recorded. :func:`write_measurements`
writes the table atomically.

Columns are those of ``reference/measured/README.md``: ``source_id, gpu, stack, kind, dtype, m, n, k,
tokens, batch, extra, metric, value, unit, source_repo, source_path_or_url, source_commit_or_date, license,
note``. One row per kernel: ``metric=latency_us``, ``value`` the median; the spread (min, p25, p75, max),
the flops and compulsory bytes, the sizes, thread count and library/driver versions go to ``extra`` as
``key=value;...``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simsparse.errors import SimulationError, closest

from . import kernels as K
from .datasets import COLUMNS
from .hostcpu import host_cpu_facts, nvidia_smi_query

__all__ = ["COLUMNS", "DEVICES", "measure", "write_measurements"]

_log = logging.getLogger(__name__)

# the measured-CSV columns, in order: one definition, in the dataset loader


DEVICES: tuple[str, ...] = ("cpu", "cuda")

_INT_COLUMNS = ("m", "n", "k", "tokens", "batch")


def _clean(value: object) -> str:
    """A value safe inside ``key=value;key=value``."""
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text.replace(";", ",").replace("=", ":").replace("\n", " ")


def _extra(items: Iterable[tuple[str, object]]) -> str:
    return ";".join(f"{key}={_clean(value)}" for key, value in items if value is not None and value != "")


def _versions() -> list[tuple[str, object]]:
    info = K.numba_info()
    try:
        from importlib.metadata import version

        simsparse_version: str | None = version("simsparse")
    except Exception:  # not installed as a distribution (a plain checkout)
        simsparse_version = None
    return [
        ("numba", info["numba"]),
        ("llvmlite", info["llvmlite"]),
        ("numpy", np.__version__),
        ("python", platform.python_version()),
        ("simsparse", simsparse_version),
    ]


def _percentiles(times_us: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(times_us, dtype=np.float64)
    p25, p50, p75 = np.percentile(arr, [25.0, 50.0, 75.0])
    return {
        "median": float(p50),
        "min": float(arr.min()),
        "p25": float(p25),
        "p75": float(p75),
        "max": float(arr.max()),
    }


# --- CPU --------------------------------------------------------------------------------------------------


def _cpu_context() -> tuple[str, list[tuple[str, object]]]:
    facts = host_cpu_facts()
    name = str(facts["model_name"]["value"])
    items: list[tuple[str, object]] = []
    for key in ("n_cpus_usable", "n_cores", "max_mhz", "simd_width_bits", "has_avx2", "has_avx512f", "has_fma"):
        items.append((f"cpu_{key}", facts[key]["value"]))
    items.append(("cpu_max_mhz_source", facts["max_mhz"]["source"]))
    for level in ("l2", "l3"):
        items.append((f"cpu_{level}_bytes", facts[f"{level}_bytes"]["value"]))
    items.append(("hypervisor", facts["hypervisor"]["value"]))
    with contextlib.suppress(OSError):
        items.append(("loadavg_1m", round(os.getloadavg()[0], 2)))
    return name, items


class _CpuTimer:
    """One case on the CPU twin: an output buffer, untimed and timed calls."""

    def __init__(self, case: K.KernelCase, spec: K.KernelSpec) -> None:
        self.case, self.spec = case, spec
        self.out = case.new_output()

    def run(self) -> None:
        self.spec.cpu(*self.case.operands, out=self.out)

    def timed(self) -> float:
        t0 = time.perf_counter_ns()
        self.spec.cpu(*self.case.operands, out=self.out)
        return (time.perf_counter_ns() - t0) / 1e3

    def output(self) -> npt.NDArray[Any]:
        return self.out

    def poison(self) -> None:
        self.out.fill(np.nan)  # the final check then proves the timed runs wrote the output


# --- CUDA -------------------------------------------------------------------------------------------------


def _require_cuda(allow_simulator: bool) -> None:
    if K.simulator_enabled():
        if not allow_simulator:
            raise SimulationError(
                "measure(device='cuda'): NUMBA_ENABLE_CUDASIM=1 selects numba's CUDA simulator, whose timings "
                "are meaningless; unset it to measure a real GPU (allow_simulator=True runs a functional check)"
            )
        return
    if not K.cuda_available():
        raise SimulationError(
            "measure(device='cuda'): no CUDA GPU/driver was found (numba.cuda.is_available() is False); "
            "run on a machine with an NVIDIA GPU and driver, or use device='cpu'"
        )


def _cuda_context(tile: int) -> tuple[str, list[tuple[str, object]]]:
    cuda = K.cuda_module()
    items: list[tuple[str, object]] = [("tile", f"{tile}x{tile}")]
    if K.simulator_enabled():
        return "numba CUDA simulator (not a GPU)", [*items, ("simulator", True)]
    name = "unknown CUDA device"
    try:
        dev = cuda.get_current_device()
        raw = dev.name
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        items.append(("cc", ".".join(str(x) for x in dev.compute_capability)))
        for key, attr in (
            ("sms", "MULTIPROCESSOR_COUNT"),
            ("clock_mhz", "CLOCK_RATE"),
            ("mem_clock_mhz", "MEMORY_CLOCK_RATE"),
            ("mem_bus_bits", "GLOBAL_MEMORY_BUS_WIDTH"),
            ("l2_bytes", "L2_CACHE_SIZE"),
        ):
            with contextlib.suppress(Exception):
                value = int(getattr(dev, attr))
                items.append((key, value // 1000 if key.endswith("_mhz") else value))  # kHz -> MHz
    except Exception:  # device queries are provenance only
        _log.debug("CUDA device query failed", exc_info=True)
    with contextlib.suppress(Exception):
        items.append(("cuda_driver", ".".join(str(x) for x in cuda.cudadrv.driver.driver.get_version())))
    driver = nvidia_smi_query("driver_version")
    if driver:
        items.append(("nvidia_driver", driver))
    with contextlib.suppress(Exception):
        items.append(("cuda_runtime", ".".join(str(x) for x in cuda.runtime.get_version())))
    return name, items


_CUDA_SAMPLE_TARGET_US = 2000.0
"""A CUDA timing sample spans about this many microseconds of back-to-back launches."""
_CUDA_MIN_LAUNCHES = 4
_CUDA_MAX_LAUNCHES = 64


class _CudaTimer:
    """One case staged on the GPU: CUDA events around a few back-to-back launches.

    A numba launch costs tens of microseconds of host work (argument marshalling) before the GPU sees it.
    Events around a single launch count that work while the GPU waits; events around ``launches``
    back-to-back launches let each dispatch overlap the previous kernel, so the per-launch time is the
    kernel's own, plus one dispatch spread over the launches, or the dispatch time where that is longer
    than the kernel. :meth:`calibrate` picks ``launches`` so a sample spans about 2 ms (4..64 launches).
    """

    def __init__(self, case: K.KernelCase, tile: int) -> None:
        self.case = case
        self.cuda = K.cuda_module()
        self.staged = K.prepare_cuda(case, tile)
        self.launches = 1

    def run(self) -> None:
        self.staged.launch()
        self.cuda.synchronize()

    def _span_us(self, launches: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the simulator warns that its event timings are bogus
            start = self.cuda.event()  # timing=True is the default
            end = self.cuda.event()
            start.record()
            for _ in range(launches):
                self.staged.launch()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) * 1e3 / launches  # ms -> us, per launch

    def calibrate(self) -> None:
        """Choose the launches per sample from one timed launch (one launch under the simulator)."""
        if K.simulator_enabled():
            return
        single = max(self._span_us(1), 1.0)
        wanted = math.ceil(_CUDA_SAMPLE_TARGET_US / single)
        self.launches = max(_CUDA_MIN_LAUNCHES, min(_CUDA_MAX_LAUNCHES, wanted))

    def timed(self) -> float:
        return self._span_us(self.launches)

    def output(self) -> npt.NDArray[Any]:
        return self.staged.output()

    def poison(self) -> None:
        """Device outputs are overwritten by every launch; nothing to reset."""


def _round_sizes(repeats: int, rounds: int) -> list[int]:
    """``repeats`` timed runs split over ``min(rounds, repeats)`` rounds, as evenly as possible."""
    n = min(rounds, repeats)
    return [repeats // n + (1 if r < repeats % n else 0) for r in range(n)]


# --- the runner -------------------------------------------------------------------------------------------


def measure(
    device: str = "cpu",
    sizes: str = "small",
    repeats: int = 10,
    warmup: int = 2,
    *,
    kernels: Sequence[str] | None = None,
    cases: Sequence[tuple[str, str]] | None = None,
    rounds: int = 5,
    seed: int = 0,
    cuda_tile: int = K.DEFAULT_TILE,
    allow_simulator: bool = False,
) -> pd.DataFrame:
    """Measure every kernel (or those named in ``kernels``) at size set ``sizes`` on ``device``; or the
    ``(kernel, size set)`` pairs of ``cases`` (a kernel may appear at several sizes), which replace
    ``kernels`` and ``sizes``.

    Per case: one untimed run whose output is checked against the NumPy reference, ``warmup`` untimed
    runs, then ``repeats`` timed runs, and a second check of the output of the last timed run. The timed
    runs are taken in ``rounds`` rounds that interleave the cases: each round gives every case one untimed
    run (which restores its data in the caches) and its share of the timed runs. On a shared machine a
    burst of interference from another tenant then lands in a few samples of every case instead of in all
    the samples of one case, and the median (the row's value, in microseconds) ignores it as long as it
    lasts under half the run; min/p25/p75/max are in ``extra``. ``rounds=1`` times each case's runs back
    to back. CPU runs are timed on the host with ``time.perf_counter_ns`` around one call of the numba twin
    (which includes waking the thread pool); CUDA runs with CUDA events around 4..64 back-to-back launches
    (a sample of about 2 ms) on device-resident data, divided by the launches, so numba's host dispatch
    overlaps the kernels instead of being timed (``launches_per_sample`` in ``extra``).

    Raises :class:`SimulationError` for a bad argument, when ``device='cuda'`` finds no CUDA GPU/driver,
    and when an output does not match the reference.
    """
    if device not in DEVICES:
        raise SimulationError(
            f"measure: device: expected one of {list(DEVICES)}, got {device!r}{closest(str(device), DEVICES)}"
        )
    if sizes not in K.SIZES:
        raise SimulationError(
            f"measure: sizes: expected one of {list(K.SIZES)}, got {sizes!r}{closest(str(sizes), K.SIZES)}"
        )
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise SimulationError(f"measure: repeats: expected an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SimulationError(f"measure: warmup: expected an integer >= 0, got {warmup!r}")
    if not isinstance(cuda_tile, int) or not 1 <= cuda_tile <= 32:
        raise SimulationError(f"measure: cuda_tile: expected an integer in 1..32, got {cuda_tile!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise SimulationError(f"measure: rounds: expected an integer >= 1, got {rounds!r}")
    if cases is None:
        plan = [(name, sizes) for name in (K.kernel_names() if kernels is None else kernels)]
    else:
        plan = []
        for item in cases:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise SimulationError(f"measure: cases: expected (kernel, size set) pairs, got {item!r}")
            name, size = item
            if size not in K.SIZES:
                raise SimulationError(
                    f"measure: cases: size set of {name!r}: expected one of {list(K.SIZES)}, got {size!r}"
                    f"{closest(str(size), K.SIZES)}"
                )
            plan.append((name, size))
    specs = [(K.get_kernel(name), size) for name, size in plan]
    if device == "cuda":
        _require_cuda(allow_simulator)

    date = _dt.datetime.now(_dt.UTC).date().isoformat()
    versions = _versions()
    if device == "cpu":
        device_name, device_items = _cpu_context()
    else:
        device_name, device_items = _cuda_context(cuda_tile)
    simulated = device == "cuda" and K.simulator_enabled()

    timers: list[_CpuTimer | _CudaTimer] = []
    refs = []
    for spec, size in specs:
        case = spec.make_case(size, seed)
        ref = spec.reference(*case.operands)
        _log.info("preparing %s (%s) on %s", spec.name, size, device)
        timer: _CpuTimer | _CudaTimer = _CpuTimer(case, spec) if device == "cpu" else _CudaTimer(case, cuda_tile)
        timer.run()  # compiles (or loads the cache) and checks, untimed
        K.check_output(case, timer.output(), ref, where=f"{device}, first run")
        for _ in range(warmup):
            timer.run()
        if isinstance(timer, _CudaTimer):
            timer.calibrate()
        timer.poison()
        timers.append(timer)
        refs.append(ref)
    samples: list[list[float]] = [[] for _ in timers]
    per_round = _round_sizes(repeats, rounds)
    for count in per_round:
        for timer, times in zip(timers, samples, strict=True):
            timer.run()  # the cases run before it evicted this one's data from the caches
            times.extend(timer.timed() for _ in range(count))

    rows: list[dict[str, object]] = []
    for (spec, size), timer, ref, times in zip(specs, timers, refs, samples, strict=True):
        case = timer.case
        err = K.check_output(case, timer.output(), ref, where=f"{device}, after the timed runs")
        how = f"median of {repeats} after {warmup} warm-ups, in {len(per_round)} interleaved round(s)"
        if device == "cpu":
            info = K.numba_info()  # after the first run, so the threading layer is known
            layer, threads = info["threading_layer"], info["threads"]
            stack = (
                f"numba {info['numba']} CPU parallel twin ({layer} threading layer, {threads} threads), "
                f"NumPy {np.__version__}; host-timed (perf_counter_ns) {how}"
            )
            run_items: list[tuple[str, object]] = [("threads", threads), ("threading_layer", layer)]
            timing = "host perf_counter_ns around one call"
        else:
            info_items = dict(device_items)
            driver = f"CUDA driver API {info_items.get('cuda_driver', 'unknown')}"
            if "nvidia_driver" in info_items:
                driver += f", NVIDIA driver {info_items['nvidia_driver']}"
            stack = (
                f"numba {K.numba_info()['numba']} CUDA kernel ({cuda_tile}x{cuda_tile} threads per block), {driver}; "
                f"CUDA-event-timed {how}"
            )
            launches = timer.launches if isinstance(timer, _CudaTimer) else 1
            run_items = [("launches_per_sample", launches)]
            timing = (
                f"CUDA events around {launches} back-to-back numba launches, per launch (each host dispatch "
                "overlaps the kernel before it)"
            )
        stats = _percentiles(times)
        extra = _extra(
            [
                ("kernel", spec.name),
                ("size", size),
                ("seed", seed),
                ("flops", case.flops),
                ("bytes", case.bytes_moved),
                *case.params.items(),
                ("repeats", repeats),
                ("warmup", warmup),
                ("rounds", len(per_round)),
                ("min_us", stats["min"]),
                ("p25_us", stats["p25"]),
                ("p75_us", stats["p75"]),
                ("max_us", stats["max"]),
                ("timing", timing),
                ("rtol", case.rtol),
                ("atol", case.atol),
                ("max_abs_err", err),
                *run_items,
                *device_items,
                *versions,
            ]
        )
        note = (
            f"measured: {spec.description}; output checked against the NumPy reference "
            f"(np.allclose rtol={case.rtol:g} atol={case.atol:.3g}) before and after the timed runs; "
            f"median of {repeats}, spread in extra"
        )
        if simulated:
            note = "NOT A TIMING: numba CUDA simulator functional check. " + note
        rows.append(
            {
                "source_id": f"simsparse.measure.{device}.{size}",
                "gpu": device_name,
                "stack": stack,
                "kind": spec.kind,
                "dtype": spec.dtype,
                "m": case.m,
                "n": case.n,
                "k": case.k,
                "tokens": case.tokens,
                "batch": case.batch,
                "extra": extra,
                "metric": "latency_us",
                "value": stats["median"],
                "unit": "us",
                "source_repo": "simsparse",
                "source_path_or_url": spec.source_path,
                "source_commit_or_date": date,
                "license": "Apache-2.0",
                "note": note,
            }
        )
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in _INT_COLUMNS:
        df[column] = df[column].astype("Int64")
    df["value"] = df["value"].astype(np.float64)
    return df


def write_measurements(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV to ``path`` atomically: a temporary file in the same directory, flushed and synced,
    then ``os.replace``. The measured-CSV columns come first, in order; other columns follow."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SimulationError(f"write_measurements: the table lacks the column(s) {missing}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ordered = [*COLUMNS, *(c for c in df.columns if c not in COLUMNS)]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            df.loc[:, ordered].to_csv(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target
