"""A ``host-cpu`` System built from this machine's facts, and the live CPU check of the kernel suite.

:func:`build_host_cpu_system` describes the host as a simsparse device (every field with a source):

* one *core* per usable CPU, at the clock ``host_cpu_facts`` reports;
* the *matrix unit* is the SIMD FMA datapath: ``kind: tensor_core`` with a ``1 x simd lanes`` array (fp32
  lanes of the widest vector ISA along N: the suite's twins broadcast one A value and multiply a row of B,
  so a GEMV keeps every lane busy) and ``n_arrays`` = FMA units per core (2 on AVX-512 server
  cores, an assumption where the machine does not say); fp16/bf16 inputs are converted and multiplied in
  fp32 by the numba twins, so they run at the fp32 rate; 2:4 weights are supported as the suite's
  ``sparse24_gemm`` twin does (kept values only, 2-bit indices);
* the *vector unit* has the same lanes (an FMA counts 2 flops);
* memory levels L1d and L2 (per core) and L3 (shared) with the sysfs sizes, and DRAM whose bandwidth is
  the suite's **measured** STREAM triad on DRAM-sized arrays (the measured figure is the source); L1/L2/L3
  bandwidths are per-cycle assumptions stated in ``sources``. The DRAM level is ``write_allocate``: an
  ordinary x86 store to a line not in cache first reads it (read for ownership), so a copy moves 3 and a
  triad 4 array-sizes of DRAM traffic, not the 2 and 3 STREAM counts (McCalpin, STREAM FAQ, "counting
  bytes"; Intel 64 and IA-32 Architectures Optimization Reference Manual, non-temporal stores);
* ``kernel_launch_s`` is the fixed cost of a numba parallel region (fork/join of the thread pool): the
  measured time of the triad on a ``tiny`` (1000-element, in-L1) vector.

:func:`live_cpu_validation` measures the CPU twins, builds the system from those measurements and
simulates each kernel; the table has :func:`~simsparse.validation.compare.compare`'s columns. The triad
is in-sample (it sets the DRAM bandwidth); the copy is a held-out memory-bound check of the same system.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from simsparse.hw import Core, Device, Energy, MatrixUnit, MemoryLevel, SparsitySupport, System, VectorUnit

from .compare import _Expr, compare_frame
from .datasets import parse_extra, records
from .hostcpu import HostFact, host_cpu_facts
from .suite import FRACTION_FIT_KERNEL, suite_expression

__all__ = [
    "DEFAULT_FMA_UNITS",
    "MEMORY_BOUND_KERNELS",
    "build_host_cpu_system",
    "fit_stream_triad",
    "live_cpu_validation",
]

MEMORY_BOUND_KERNELS = ("stream_copy", "stream_triad", "w4a16_gemv", "csr_spmm")
"""The kernels the live check measures at the ``full`` (DRAM-sized) size set: the ones the issue calls
memory-bound. The others run at the requested size set (``small`` by default)."""

DEFAULT_FMA_UNITS = 2
"""FMA units per core assumed when the machine does not say (2 x 512-bit on Xeon Scalable with AVX-512)."""

FRACTION_FIT_ROUNDS = 3

CSR_MAX_SPEEDUP = 1000.0
"""Cap of the CSR software loop's speedup over dense: none in practice (its work scales with the nonzeros,
``simsparse/validation/kernels/spmm.py``); 1000x covers densities down to 0.1%."""

L1_BYTES_PER_CYCLE = 128.0
"""Assumed L1d load bandwidth per core: two 64-byte loads per cycle (Intel Skylake-SP and later)."""
L2_BYTES_PER_CYCLE = 64.0
"""Assumed L2 -> L1 bandwidth per core: one 64-byte line per cycle."""
L3_BYTES_PER_CYCLE = 32.0
"""Assumed shared-L3 bandwidth per core: half a line per cycle (mesh/ring LLC)."""


def _v(facts: Mapping[str, HostFact], key: str, default: Any = None) -> Any:
    fact = facts.get(key)
    if fact is None or fact["value"] is None:
        return default
    return fact["value"]


def _src(facts: Mapping[str, HostFact], key: str) -> str:
    fact = facts.get(key)
    return fact["source"] if fact is not None else "assumed: not reported by the machine"


def _mem_total_bytes() -> tuple[int, str]:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024, "/proc/meminfo: MemTotal"
    except OSError:
        pass
    return 16 * 2**30, "assumed: 16 GiB (/proc/meminfo not readable)"


def fit_stream_triad(
    triad_elems: int, triad_s: float, tiny_triad_s: float, *, write_allocate: bool = True
) -> tuple[float, float, str]:
    """(DRAM bandwidth GB/s, launch s, how) from the triad on DRAM-sized vectors and on a tiny (in-L1)
    one: the tiny run is the fixed cost of the parallel region; the bandwidth is the DRAM traffic of the
    large run (2 reads + 1 write of fp32, plus the read for ownership of the written array when the
    caches write-allocate) over its time less that fixed cost."""
    arrays = 4 if write_allocate else 3
    traffic = float(arrays * 4 * triad_elems)
    launch = min(max(tiny_triad_s, 0.0), 0.5 * triad_s)
    bw = traffic / (triad_s - launch)
    how = (
        f"measured: kernel suite STREAM triad on {triad_elems} fp32 elements ({traffic / 1e6:.1f} MB of DRAM "
        f"traffic counting {'the read for ownership of the written array' if write_allocate else 'no RFO'}) "
        f"in {triad_s * 1e6:.1f} us, less the {launch * 1e6:.1f} us of the same kernel on a tiny vector"
    )
    return bw / 1e9, launch, how


def build_host_cpu_system(
    facts: Mapping[str, HostFact] | None = None,
    *,
    dram_gb_per_s: float,
    dram_source: str,
    kernel_launch_s: float = 0.0,
    launch_source: str = "assumed: 0",
    matrix_fraction: float | None = None,
    fraction_source: str = "",
) -> System:
    """A one-device System describing this host's CPU (module docstring); every field has a source.

    ``dram_gb_per_s`` must come from a measurement (the suite's STREAM triad), cited in ``dram_source``.
    """
    facts = facts if facts is not None else host_cpu_facts()
    n_cores = int(_v(facts, "n_cpus_usable", _v(facts, "n_cores", os.cpu_count() or 1)))
    mhz = float(_v(facts, "max_mhz", 2000.0))
    freq = mhz / 1000.0
    width = int(_v(facts, "simd_width_bits", 128))
    lanes = max(width // 32, 1)
    fma = DEFAULT_FMA_UNITS if _v(facts, "has_fma", False) or _v(facts, "has_avx512f", False) else 1
    macs = float(lanes * fma)
    l1 = int(_v(facts, "l1d_bytes", 32 * 1024))
    l2 = int(_v(facts, "l2_bytes", 1024 * 1024))
    l3 = int(_v(facts, "l3_bytes", 8 * 2**20))
    dram_bytes, dram_cap_src = _mem_total_bytes()
    model = str(_v(facts, "model_name", "unknown CPU"))
    memory = (
        MemoryLevel(
            name="l1d",
            kind="cache",
            scope="core",
            capacity_bytes=l1,
            read_gb_per_s=L1_BYTES_PER_CYCLE * freq * n_cores,
            write_gb_per_s=L1_BYTES_PER_CYCLE / 2 * freq * n_cores,
            latency_ns=5 / freq,
        ),
        MemoryLevel(
            name="l2",
            kind="cache",
            scope="core",
            capacity_bytes=l2,
            read_gb_per_s=L2_BYTES_PER_CYCLE * freq * n_cores,
            write_gb_per_s=L2_BYTES_PER_CYCLE * freq * n_cores,
            latency_ns=14 / freq,
        ),
        MemoryLevel(
            name="l3",
            kind="cache",
            scope="device",
            capacity_bytes=max(l3, l2 * n_cores),
            read_gb_per_s=L3_BYTES_PER_CYCLE * freq * n_cores,
            write_gb_per_s=L3_BYTES_PER_CYCLE * freq * n_cores,
            latency_ns=60 / freq,
        ),
        MemoryLevel(
            name="dram",
            kind="dram",
            scope="device",
            capacity_bytes=max(dram_bytes, l3),
            read_gb_per_s=dram_gb_per_s,
            write_gb_per_s=dram_gb_per_s,
            latency_ns=100.0,
            sustained_fraction=1.0,
            write_allocate=True,
        ),
    )
    unit = MatrixUnit(
        kind="tensor_core",
        array_rows=1,
        array_cols=lanes,
        n_arrays=fma,
        dataflow="os",
        macs_per_cycle={"fp32": macs, "fp16": macs, "bf16": macs},
        compute_model="unstructured",
        sparsity=(
            SparsitySupport(pattern="2:4", metadata_bits_per_value=2, max_speedup=2.0, metadata_format="nm_index"),
            SparsitySupport(
                pattern="unstructured", metadata_bits_per_value=32, max_speedup=CSR_MAX_SPEEDUP, metadata_format="csr"
            ),
        ),
        zero_handling="skip",
        dequant="vector",
        sustained_fraction={} if matrix_fraction is None else dict.fromkeys(("fp32", "fp16", "bf16"), matrix_fraction),
    )
    # the dequantization and decompression loops run on the same SIMD lanes as the FMAs, in the same
    # numba-generated code, so at the same fitted fraction of the peak
    vec_flops = 2.0 * macs * (1.0 if matrix_fraction is None else matrix_fraction)
    vector = VectorUnit(
        lanes=lanes,
        flops_per_cycle={"fp32": vec_flops, "fp16": vec_flops, "bf16": vec_flops},
        shares_matrix_datapath=True,
    )
    device = Device(
        name=model,
        freq_ghz=freq,
        n_cores=n_cores,
        core=Core(matrix_unit=unit, vector_unit=vector),
        memory=memory,
        energy=Energy(mac_pj={}),
        kernel_launch_s=kernel_launch_s,
    )
    isa = "AVX-512" if width >= 512 else ("AVX2" if width >= 256 else "SSE/NEON")
    sources = {
        "device.freq_ghz": _src(facts, "max_mhz"),
        "device.n_cores": _src(facts, "n_cpus_usable"),
        "device.core.matrix_unit.array_rows": "assumed: a SIMD FMA unit is a 1-D array (1 x lanes, lanes along N)",
        "device.core.matrix_unit.array_cols": f"fp32 SIMD lanes = {width} bits / 32 ({_src(facts, 'simd_width_bits')})",
        "device.core.matrix_unit.n_arrays": (
            f"assumed: {fma} FMA unit(s) per core ({_src(facts, 'has_fma')}: fma/avx512f flags; "
            "2 x 512-bit FMA on Xeon Scalable)"
        ),
        "device.core.matrix_unit.macs_per_cycle": "derived: lanes x FMA units per core; fp16/bf16 converted to fp32 by the numba twins",
        "device.core.matrix_unit.sparsity": "simsparse/validation/kernels/sparse24.py and spmm.py: the CPU twins multiply "
        "the kept values only (2:4 with 2-bit indices; CSR with int32 column indices), so their work scales with "
        "the nonzeros (compute_model unstructured: zero skipping)",
        "device.core.vector_unit": "derived: the same SIMD lanes as the matrix unit (shares_matrix_datapath: dequantization adds to the FMAs), 2 flops per FMA, at the matrix unit's sustained fraction once it is fitted",
        "device.memory[l1d].capacity_bytes": _src(facts, "l1d_bytes"),
        "device.memory[l2].capacity_bytes": _src(facts, "l2_bytes"),
        "device.memory[l3].capacity_bytes": _src(facts, "l3_bytes"),
        "device.memory[l1d].read_gb_per_s": f"assumed: {L1_BYTES_PER_CYCLE:.0f} B/cycle/core (two 64-byte loads per cycle)",
        "device.memory[l2].read_gb_per_s": f"assumed: {L2_BYTES_PER_CYCLE:.0f} B/cycle/core",
        "device.memory[l3].read_gb_per_s": f"assumed: {L3_BYTES_PER_CYCLE:.0f} B/cycle/core",
        "device.memory[l1d].latency_ns": "assumed: 5 cycles",
        "device.memory[l2].latency_ns": "assumed: 14 cycles",
        "device.memory[l3].latency_ns": "assumed: 60 cycles",
        "device.memory[dram].capacity_bytes": dram_cap_src,
        "device.memory[dram].read_gb_per_s": dram_source
        + "; DRAM level write-allocate (ordinary x86 stores read the line for ownership: STREAM FAQ, Intel "
        "optimization manual)",
        "device.memory[dram].write_gb_per_s": dram_source,
        "device.memory[dram].latency_ns": "assumed: 100 ns",
        "device.memory[dram].sustained_fraction": "1.0: the bandwidth is itself a measured sustained figure",
        "device.kernel_launch_s": launch_source,
        "device.energy": "not modeled for the host CPU",
        "device.memory[l1d].write_gb_per_s": f"assumed: {L1_BYTES_PER_CYCLE / 2:.0f} B/cycle/core (one 64-byte store per cycle)",
        "device.memory[l2].write_gb_per_s": "assumed: as read_gb_per_s",
        "device.memory[l3].write_gb_per_s": "assumed: as read_gb_per_s",
        "device.memory[l1d].n_banks": "assumed: banks not modeled",
        "device.memory[l2].n_banks": "assumed: banks not modeled",
        "device.memory[l3].n_banks": "assumed: LLC slices not modeled",
        "device.memory[dram].n_banks": "assumed: DRAM channels not modeled",
        "device.memory[l1d].sustained_fraction": "assumed: 1.0 (no measured cache fraction)",
        "device.memory[l2].sustained_fraction": "assumed: 1.0 (no measured cache fraction)",
        "device.memory[l3].sustained_fraction": "assumed: 1.0 (no measured cache fraction)",
        "device.memory[l1d].read_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[l1d].write_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[l2].read_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[l2].write_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[l3].read_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[l3].write_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[dram].read_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.memory[dram].write_energy_pj_per_byte": "not modeled for the host CPU (0)",
        "device.noc": "assumed: the core-to-LLC mesh is folded into the L3 bandwidth (no separate NoC)",
        "device.sync_s": "not modeled (0)",
        "device.area_mm2": "not modeled (0)",
        "device.tdp_w": "not modeled (0)",
        "interconnect": "not applicable: a single device",
        "n_devices": "the host (one CPU package as one device)",
    }
    if matrix_fraction is not None:
        sources["device.core.matrix_unit.sustained_fraction"] = fraction_source
    return System(
        name="host-cpu",
        description=f"{model}, {n_cores} usable cores at {freq:.2f} GHz, {isa}, L3 {l3 >> 20} MiB, DRAM {dram_gb_per_s:.1f} GB/s measured",
        device=device,
        n_devices=1,
        sources=sources,
    )


def _cpu_expression(row: Mapping[str, Any]) -> tuple[_Expr, str, str] | None:
    """The op of one measured CPU-twin row (``simsparse measure`` output), on ``host-cpu``."""
    return suite_expression(row, "host-cpu", live_cpu=True)


def live_cpu_validation(sizes: str = "small", repeats: int = 10) -> tuple[pd.DataFrame, System]:
    """Measure the CPU twins of the kernel suite, build ``host-cpu`` from this machine's facts and the
    measured STREAM figures, and return (predicted-vs-measured table, system).

    The memory-bound kernels (:data:`MEMORY_BOUND_KERNELS`) run at the ``full`` size set so that they
    stream from DRAM; the others at ``sizes``. The DRAM bandwidth and the parallel-region cost come from
    the triad (:func:`fit_stream_triad`); every other row is a prediction."""
    from simsparse.errors import SimulationError

    from .kernels import kernel_names
    from .measure import measure

    others = [k for k in kernel_names() if k not in MEMORY_BOUND_KERNELS]
    # one interleaved measurement of every case (measure's rounds), so that interference on a shared
    # machine cannot move the in-sample kernels (triad, gemm_fp32) without moving the predicted ones
    plan = [("stream_triad", "tiny"), *((k, "full") for k in MEMORY_BOUND_KERNELS), *((k, sizes) for k in others)]
    every = measure(device="cpu", repeats=repeats, cases=plan)
    tiny, meas = every.iloc[:1], every.iloc[1:].reset_index(drop=True)
    meas.insert(0, "dataset", f"live_cpu_{sizes}")
    meas["line"] = range(2, len(meas) + 2)
    for c in ("m", "n", "k", "tokens", "batch"):
        meas[c] = pd.to_numeric(meas[c]).astype(float)
    by_kernel = {parse_extra(r["extra"]).get("kernel", ""): r for r in records(meas)}
    triad_r = by_kernel.get("stream_triad")
    if triad_r is None or tiny.empty:
        raise SimulationError("live cpu validation: the kernel suite produced no stream_triad measurement")
    elems = int(parse_extra(triad_r["extra"])["n_elems"])
    bw, launch, how = fit_stream_triad(elems, float(triad_r["value"]) * 1e-6, float(tiny["value"].iloc[0]) * 1e-6)
    system = build_host_cpu_system(dram_gb_per_s=bw, dram_source=how, kernel_launch_s=launch, launch_source=how)
    fit_row = meas[[parse_extra(e).get("kernel") == FRACTION_FIT_KERNEL for e in meas["extra"]]]
    if len(fit_row):
        frac, fit_how = 1.0, ""
        for _ in range(FRACTION_FIT_ROUNDS):
            trial = build_host_cpu_system(
                dram_gb_per_s=bw, dram_source=how, kernel_launch_s=launch, launch_source=how, matrix_fraction=frac
            )
            t = compare_frame(
                fit_row, hardware={"host-cpu": trial}, preset_override="host-cpu", expressions=_cpu_expression
            )
            ratio = float(t["predicted"].iloc[0] / t["measured"].iloc[0])
            frac = min(1.0, frac * ratio)
            fit_how = (
                f"fitted: {FRACTION_FIT_KERNEL} (the numba twin's blocked loop) measured "
                f"{float(t['measured'].iloc[0]):.1f} us; {FRACTION_FIT_ROUNDS} rounds of f <- f x predicted/measured "
                f"(last ratio {ratio:.3f}); the other compute kernels are predicted with it"
            )
        system = build_host_cpu_system(
            dram_gb_per_s=bw,
            dram_source=how,
            kernel_launch_s=launch,
            launch_source=how,
            matrix_fraction=frac,
            fraction_source=fit_how,
        )
    table = compare_frame(meas, hardware={"host-cpu": system}, preset_override="host-cpu", expressions=_cpu_expression)
    return table, system
