"""Per-op timing on one device: map -> plan -> schedule -> account.

* **Map**: :func:`simsparse.models.memory.choose_gemm_mapping` picks tile sizes that fit the
  buffer level, the split of K and the loop order, ranked by the analytic estimate
  :func:`_estimate` (the same per-wave costs without contention).
* **Plan**: the op becomes a stream of *steps* (a wave of tiles cut into K chunks): per step
  the cycles each memory level needs to deliver its bytes, the matrix-unit cycles from the
  registered compute model, and the result stores.
* **Schedule**: the numba list scheduler (:mod:`simsparse.kernels.scheduler`) runs the
  double-buffered stream on a memory port and the compute array; its makespan is the op's
  cycles. Streams longer than :data:`MAX_STEPS` uniform steps are extrapolated from the
  simulated steady state (exact for uniform steps; the result says so).
* **Account**: bytes per level, energy, and the stall cycles attributed to their cause.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simsparse.errors import SimulationError
from simsparse.hw import Device, MatrixUnit
from simsparse.kernels.scheduler import pipeline_tasks, schedule
from simsparse.models.compute import ComputeCost, GemmTask, compute_model
from simsparse.models.memory import choose_gemm_mapping, hierarchy_of, operand_bytes, wave_dram_bytes
from simsparse.models.memory.channels import Chunks, burst_bytes, channel_share, moved_bytes
from simsparse.models.memory.mapping import ACCUMULATOR_BYTES, GemmMapping, footprint
from simsparse.models.noc import noc_cost
from simsparse.units import canonical_dtype, dtype_bytes
from simsparse.workload.op import Op

__all__ = ["MAX_STEPS", "OpTiming", "launch_waves", "time_compute_op"]

NOC = "noc"
"""Key of the on-chip network among an op's memory cycles and its stall cause."""

MAX_STEPS = 2048
"""Longest step stream scheduled in full; longer uniform streams are extrapolated."""
K_CHUNKS = 8
"""Slices per wave in the plan (the pipeline granularity of loads vs compute and stores)."""


@dataclass(slots=True, kw_only=True)
class OpTiming:
    """Timing and traffic of one execution of an op on one device."""

    cycles: float
    compute_cycles: float
    stall_cycles: dict[str, float]
    overhead_s: float
    level_read_bytes: dict[str, float]
    level_write_bytes: dict[str, float]
    effective_macs: float = 0.0
    energy_macs: float = 0.0
    vector_flops: float = 0.0
    tile: tuple[int, int, int] = (0, 0, 0)
    n_tiles: int = 0
    extrapolated: bool = False
    link_bytes: float = 0.0
    interconnect_s: float = 0.0
    noc_bytes: float = 0.0
    noc_hops: float = 0.0
    notes: list[str] = field(default_factory=list)


def _gemm_task(op: Op, m: int, n: int, k: int, batch: int) -> GemmTask:
    return GemmTask(
        m=m,
        n=n,
        k=k,
        batch=batch,
        dtype=op.dtype,
        b_pattern=op.b_pattern if op.b_is_weight else "dense",
        b_density=op.b_density if op.b_is_weight else 1.0,
        a_density=op.a_density,
        b_block_nnz=op.b_block_nnz,
        b_block_shape=op.b_block_shape,
    )


def check_dtype(unit: MatrixUnit, op: Op) -> None:
    """Raise a clear error if the matrix unit has no rate for the op's compute dtype."""
    if canonical_dtype(op.dtype) not in unit.macs_per_cycle:
        have = ", ".join(sorted(unit.macs_per_cycle))
        raise SimulationError(
            f"op {op.name!r}: dtype: expected one the matrix unit supports ({have}), got {op.dtype!r}"
        )


def _run_stream(
    load: np.ndarray, compute: np.ndarray, store: np.ndarray, *, shared_port: bool = False
) -> tuple[float, bool]:
    """Makespan of a double-buffered step stream; extrapolates long uniform streams.

    ``shared_port``: loads and stores use one DRAM bus (reads and writes share its bandwidth).
    """
    n = len(load)
    uniform = n > MAX_STEPS and np.ptp(load) == 0 and np.ptp(compute) == 0 and np.ptp(store) == 0
    if n > MAX_STEPS and not uniform:
        # Stride-sample in blocks that keep the pattern, then scale by the block count.
        reps = math.ceil(n / MAX_STEPS)
        load = np.add.reduceat(load, np.arange(0, n, reps))
        compute = np.add.reduceat(compute, np.arange(0, n, reps))
        store = np.add.reduceat(store, np.arange(0, n, reps))
        span, _ = _run_stream(load, compute, store, shared_port=shared_port)
        return span, True
    if uniform:
        head = MAX_STEPS // 2
        t1 = _makespan(load[:head], compute[:head], store[:head], shared_port)
        t2 = _makespan(load[: 2 * head], compute[: 2 * head], store[: 2 * head], shared_port)
        per = (t2 - t1) / head
        return t2 + per * (n - 2 * head), True
    return _makespan(load, compute, store, shared_port), False


def _makespan(load: np.ndarray, compute: np.ndarray, store: np.ndarray, shared_port: bool) -> float:
    tasks = pipeline_tasks(load, compute, store, len(load), 2, shared_port=shared_port)
    _, finish, _ = schedule(tasks["duration"], tasks["resource"], tasks["capacity"], tasks["dep_ptr"], tasks["dep_idx"])
    return float(finish.max()) if len(finish) else 0.0


def _bytes_per_cycle(gb_per_s: float, freq_ghz: float) -> float:
    return gb_per_s / freq_ghz


def dram_rates(device: Device) -> tuple[float, float]:
    """Sustained DRAM (read, write) bytes per cycle of the device."""
    dram = device.dram
    f = device.freq_ghz
    return (
        _bytes_per_cycle(dram.read_gb_per_s * dram.sustained_fraction, f),
        _bytes_per_cycle(dram.write_gb_per_s * dram.sustained_fraction, f),
    )


def vector_rate(device: Device, dtype: str) -> float:
    """Vector-unit FLOPs per cycle of ONE core for ``dtype`` (fp32 where the dtype has no rate)."""
    vu = device.core.vector_unit
    return float(vu.flops_per_cycle.get(canonical_dtype(dtype), vu.flops_per_cycle["fp32"]))


def _account(
    device: Device,
    span: float,
    compute_busy: float,
    mem_cycles: dict[str, float],
    latency_cycles: float,
    imbalance_cycles: float,
) -> dict[str, float]:
    """Split ``span - compute`` into causes: the memory level that bound most, latency, imbalance."""
    stall = max(span - compute_busy, 0.0)
    out: dict[str, float] = {"compute": compute_busy - imbalance_cycles, "imbalance": imbalance_cycles}
    if stall > 0 and mem_cycles:
        worst = max(mem_cycles, key=lambda k: mem_cycles[k])
        out["noc" if worst == NOC else f"memory:{worst}"] = stall
    elif stall > 0:
        out["latency"] = stall
    out["latency"] = out.get("latency", 0.0) + latency_cycles
    return out


def _gpu_gemm(device: Device, op: Op) -> OpTiming:
    unit = device.core.matrix_unit
    h = hierarchy_of(device)
    ob = operand_bytes(op, unit)
    model = compute_model(unit.compute_model)
    f = device.freq_ghz
    shared_cap = float(h.shared.capacity_bytes) if h.shared is not None else None
    if op.kind == "grouped_gemm":
        active = [t for t in op.group_tokens if t > 0]
        if not active:
            return OpTiming(
                cycles=0,
                compute_cycles=0,
                stall_cycles={},
                overhead_s=device.kernel_launch_s,
                level_read_bytes={},
                level_write_bytes={},
            )
        m_eff = max(1, round(sum(active) / len(active)))
        batch = len(active)
    else:
        m_eff, batch, active = op.m, op.batch, []
    n, k = op.n, op.k
    dram_bw, dram_wbw = dram_rates(device)
    dram = h.dram

    def burst_factor(chunk_bytes: float) -> float:
        """DRAM bytes moved per byte used for contiguous chunks of ``chunk_bytes`` (whole bursts)."""
        return burst_bytes(dram, chunk_bytes) / chunk_bytes if chunk_bytes > 0 else 1.0

    def dram_bytes_per_element(k_slice: int) -> tuple[float, float]:
        """DRAM bytes per element of A and B when rows of ``k_slice`` values are read as contiguous chunks:
        the values in whole bursts; scales and metadata (separate, denser arrays) as exact bytes."""
        a_vals, b_vals = ob.a_values, ob.b_values
        return (
            ob.a + a_vals * (burst_factor(k_slice * a_vals) - 1.0),
            ob.b + b_vals * (burst_factor(k_slice * b_vals) - 1.0),
        )

    a_full, b_full = dram_bytes_per_element(k)  # compulsory traffic: whole rows of K
    shared_bw = _bytes_per_cycle(h.shared.read_gb_per_s, f) if h.shared is not None else dram_bw
    fill_bw_core = _bytes_per_cycle(h.buffer.write_gb_per_s, f) / (device.n_cores if h.buffer.scope == "core" else 1)
    cache: dict[tuple[int, int, int], ComputeCost] = {}

    def tile_cost(mp: GemmMapping) -> ComputeCost:
        key = (mp.tile_m, mp.tile_n, mp.split_k)
        if key not in cache:
            cache[key] = model.cost(unit, _gemm_task(op, mp.tile_m, mp.tile_n, math.ceil(k / mp.split_k), 1))
        return cache[key]

    def n_tiles_of(mp: GemmMapping) -> int:
        if active:
            return sum(math.ceil(t / mp.tile_m) for t in active) * math.ceil(n / mp.tile_n) * mp.split_k
        return mp.n_tiles

    @functools.cache
    def noc_bw_for(active_cores: int) -> float:
        return noc_cost(device, active_cores).bytes_per_cycle

    deq = dequant_flops_per_value(device, op)
    # dequantized values are produced in the compute dtype (packed half2 math where the vector unit has it)
    vec_rate = vector_rate(device, op.dtype)
    shared_lanes = device.core.vector_unit.shares_matrix_datapath

    def tile_compute(mp: GemmMapping) -> tuple[float, float]:
        """(cycles of one tile on the core, vector FLOPs of the tile). The vector work of a tile
        (decompression / dequantization of its B slice) runs on the SM's CUDA cores, a separate pipe
        from the tensor cores: the two overlap across the K slices of the tile (mixed-input GEMM
        kernels interleave them), so the busier pipe sets the time. Where the vector unit is the
        matrix unit's own lanes (``VectorUnit.shares_matrix_datapath``, a CPU's SIMD FMA units) the
        two add."""
        cost = tile_cost(mp)
        vec_tile = cost.vector_flops + mp.tile_n * math.ceil(k / mp.split_k) * op.b_density * deq
        vec_cycles = vec_tile / vec_rate
        return (cost.cycles + vec_cycles if shared_lanes else max(cost.cycles, vec_cycles)), vec_tile

    def estimate(mp: GemmMapping) -> float:
        tiles = n_tiles_of(mp)
        waves = math.ceil(tiles / device.n_cores)
        comp = tile_compute(mp)[0] * waves
        k_s = math.ceil(k / mp.split_k)
        panel = k_s * (mp.tile_m * ob.a + mp.tile_n * ob.b)
        fill = tiles * panel / shared_bw
        per_core = min(tiles, device.n_cores)
        fill_core = waves * panel / fill_bw_core if per_core else 0.0
        compulsory = (op.m * k * a_full + k * n * b_full * batch) / dram_bw
        fill_noc = tiles * panel / noc_bw_for(per_core) if device.noc.topology != "none" else 0.0
        return max(comp, fill, fill_core, compulsory, fill_noc)

    def plan(mp: GemmMapping) -> dict[str, Any]:
        tiles = n_tiles_of(mp)
        waves = math.ceil(tiles / device.n_cores)
        cost = tile_cost(mp)
        k_s = math.ceil(k / mp.split_k)
        panel = k_s * (mp.tile_m * ob.a + mp.tile_n * ob.b)
        # a tile reads tile_m rows of A and tile_n rows of the (n x k) weight, k_s elements each, as
        # contiguous chunks; DRAM moves them in whole bursts and a wave's chunks cover its channels. The
        # split-K slices of one output tile run in the same wave (consecutive tiles), so together they
        # read one contiguous run of each row and share the bursts at their boundaries (through L2)
        a_dram, b_dram = dram_bytes_per_element(min(k, k_s * min(mp.split_k, device.n_cores)))
        if active:
            w_bytes = np.full(waves, (op.m * k * a_dram + k * n * b_dram * batch) / waves)
        else:
            w_bytes = wave_dram_bytes(m_eff, n, k, batch, mp, device.n_cores, a_dram, b_dram, shared_cap)
        tiles_in_wave = np.full(waves, device.n_cores, dtype=float)
        tiles_in_wave[-1] = tiles - device.n_cores * (waves - 1)

        def wave_share(t: float) -> float:
            return channel_share(dram, [(k_s * a_dram, t * mp.tile_m), (k_s * b_dram, t * mp.tile_n)])

        share = np.full(waves, wave_share(tiles_in_wave[0]))
        share[-1] = wave_share(tiles_in_wave[-1])  # only the last wave may be partial
        fill_bytes = tiles_in_wave * panel
        c_rows: Chunks = (mp.tile_n * ob.c, float(op.m) * math.ceil(n / mp.tile_n))  # a tile's output rows
        out_bytes = op.m * n * ob.c * (1 if active else op.batch) * burst_factor(c_rows[0])
        rmw_bytes = 0.0
        if mp.split_k > 1:
            rmw_bytes = (
                op.m * n * op.batch * ACCUMULATOR_BYTES * mp.split_k * burst_factor(mp.tile_n * ACCUMULATOR_BYTES)
            )
        store_share = channel_share(dram, [c_rows])
        store_wave = (out_bytes + 2 * rmw_bytes) / waves / store_share
        rfo_wave = out_bytes / waves if h.dram.write_allocate else 0.0  # read for ownership of C's lines
        chunks = K_CHUNKS
        dram_c = (w_bytes + rfo_wave) / (dram_bw * share)
        shared_c = fill_bytes / shared_bw
        core_c = panel / fill_bw_core * np.ones(waves)
        # every panel a core loads and every result it stores crosses the on-chip network
        noc_bw = np.full(waves, noc_bw_for(device.n_cores))
        noc_bw[-1] = noc_bw_for(int(tiles_in_wave[-1]))  # only the last wave is partial
        noc_c = fill_bytes / noc_bw
        load_c = np.maximum(np.maximum(np.maximum(dram_c, shared_c), core_c), noc_c)
        tile_cycles, vec_tile = tile_compute(mp)
        comp_c = np.full(waves, tile_cycles)
        load = np.repeat(load_c / chunks, chunks)
        comp = np.repeat(comp_c / chunks, chunks)
        # results stream out as the tiles finish their K slices (epilogue overlapped per slice)
        store = np.full(waves * chunks, store_wave / chunks / min(dram_wbw, float(noc_bw[0])))
        span, extrap = _run_stream(load, comp, store)  # loads include L2 fills; C drains through L2
        return dict(
            tiles=tiles,
            waves=waves,
            cost=cost,
            w_bytes=w_bytes,
            fill_bytes=fill_bytes,
            out_bytes=out_bytes,
            rmw_bytes=rmw_bytes,
            dram_c=dram_c,
            shared_c=shared_c,
            core_c=core_c,
            comp=comp,
            store=store,
            noc_c=noc_c,
            span=span,
            extrap=extrap,
            vec_tile=vec_tile,
        )

    plans: dict[GemmMapping, dict[str, Any]] = {}

    def refine(mp: GemmMapping) -> float:
        plans[mp] = plan(mp)
        return float(plans[mp]["span"])

    # MoE grouped GEMMs do not split K: the grouped kernels schedule whole output tiles over the experts'
    # problems (TensorRT-LLM moe_gemm_kernels_template.h: cutlass GemmGrouped with no split-K argument;
    # FasterTransformer's MoeGemm raises "Grouped gemm does not support split-k")
    mp = choose_gemm_mapping(device, m_eff, n, k, batch, ob.a, ob.b, estimate, refine, split_k=not active)
    p = plans[mp]
    tiles, waves, cost = p["tiles"], p["waves"], p["cost"]
    w_bytes, fill_bytes, out_bytes, rmw_bytes = p["w_bytes"], p["fill_bytes"], p["out_bytes"], p["rmw_bytes"]
    dram_c, shared_c, core_c, comp, store = p["dram_c"], p["shared_c"], p["core_c"], p["comp"], p["store"]
    span, extrap = p["span"], p["extrap"]
    noc = noc_cost(device, min(tiles, device.n_cores))
    latency = h.dram.latency_ns * f + noc.latency_cycles
    mem_cycles = {h.dram.name: float(dram_c.sum() + store.sum())}
    if h.shared is not None:
        mem_cycles[h.shared.name] = float(shared_c.sum())
    mem_cycles[h.buffer.name] = float(core_c.sum())
    if np.isfinite(p["noc_c"]).all():
        mem_cycles[NOC] = float(p["noc_c"].sum())
    compute_busy = float(comp.sum())
    imb = cost.imbalance_cycles * waves
    stalls = _account(device, span, compute_busy, mem_cycles, latency, imb)
    reads = {h.dram.name: float(w_bytes.sum() + rmw_bytes + (out_bytes if h.dram.write_allocate else 0.0))}
    writes = {h.dram.name: float(out_bytes + rmw_bytes)}
    if h.shared is not None:
        reads[h.shared.name] = float(fill_bytes.sum())
        writes[h.shared.name] = float(w_bytes.sum() + out_bytes)
    reads[h.buffer.name] = reads.get(h.buffer.name, 0.0) + float(fill_bytes.sum())
    writes[h.buffer.name] = writes.get(h.buffer.name, 0.0) + float(fill_bytes.sum())
    return OpTiming(
        cycles=span + latency,
        compute_cycles=compute_busy,
        stall_cycles=stalls,
        overhead_s=device.kernel_launch_s,
        level_read_bytes=reads,
        level_write_bytes=writes,
        effective_macs=cost.effective_macs * tiles,
        energy_macs=cost.energy_macs * tiles,
        vector_flops=float(p["vec_tile"]) * tiles,
        tile=(mp.tile_m, mp.tile_n, mp.tile_k),
        n_tiles=tiles,
        extrapolated=extrap,
        noc_bytes=_noc_bytes(device, float(fill_bytes.sum()) + out_bytes + 2 * rmw_bytes),
        noc_hops=noc.mean_hops,
    )


def _noc_bytes(device: Device, moved: float) -> float:
    """Bytes an op moves over the on-chip network (0 when the network is folded into the levels)."""
    return 0.0 if device.noc.topology == "none" else moved


def _systolic_blocking(
    device: Device, h: Any, groups: list[int], n_core: int, k: int, a: float, b: float
) -> tuple[float, float]:
    """How many times A and B stream from DRAM on a systolic core (output-block blocking).

    The largest on-chip level (the shared level, else the buffer, summed over cores if per-core)
    holds a ``block x block`` tile of fp32 partial sums plus double-buffered ``array_rows``-deep
    slices of A and B; A is then re-read once per block of columns and B once per block of rows
    (the classic blocked GEMM traffic, e.g. Goto and van de Geijn, TOMS 2008). If A, B and C fit
    entirely, every byte is read once.
    """
    level = h.shared if h.shared is not None else h.buffer
    cap = float(level.capacity_bytes) * (device.n_cores if level.scope == "core" else 1)
    m = max(groups) if groups else 1
    total = sum(groups) * k * a + k * n_core * b + sum(groups) * n_core * ACCUMULATOR_BYTES
    if total <= cap:
        return 1.0, 1.0
    unit = device.core.matrix_unit
    kb = unit.array_rows
    blk = max(unit.array_rows, unit.array_cols)
    while True:
        nxt = blk * 2
        if nxt * nxt * ACCUMULATOR_BYTES + 2 * kb * nxt * (a + b) > cap or nxt >= max(m, n_core):
            break
        blk = nxt
    return float(math.ceil(n_core / blk)), float(math.ceil(m / blk))


def _systolic_gemm(device: Device, op: Op) -> OpTiming:
    """A GEMM on systolic cores: ``n`` split over the cores, each core's GEMM timed by the exact
    closed form (through the compute model); memory streams the folds with double buffering."""
    unit = device.core.matrix_unit
    h = hierarchy_of(device)
    ob = operand_bytes(op, unit)
    model = compute_model(unit.compute_model)
    f = device.freq_ghz
    need = footprint(unit.array_rows, unit.array_cols, min(unit.array_rows, op.k), ob.a, ob.b)
    if need > h.buffer.capacity_bytes:
        raise SimulationError(
            f"memory[{h.buffer.name}].capacity_bytes: expected room for the smallest tile (one double-buffered "
            f"{unit.array_rows}x{unit.array_cols} fold, {need:.0f} bytes), got {h.buffer.capacity_bytes}"
        )
    groups = [t for t in op.group_tokens if t > 0] if op.kind == "grouped_gemm" else [op.m] * op.batch
    n_core = math.ceil(op.n / device.n_cores)
    cores_used = math.ceil(op.n / n_core)  # cores with a slice of n (ceil(n / n_core) <= n_cores)
    comp_total = 0.0
    eff = emac = vec = imb = 0.0
    folds = 0
    for mg in sorted(set(groups)):
        count = groups.count(mg)
        c = model.cost(unit, _gemm_task(op, mg, n_core, op.k, 1))
        comp_total += c.cycles * count
        eff += c.effective_macs * count * cores_used
        emac += c.energy_macs * count * cores_used
        vec += c.vector_flops * count * cores_used
        imb += c.imbalance_cycles * count
        folds += count * math.ceil(mg / unit.array_rows) * math.ceil(n_core / unit.array_cols)
    # vector-unit work per core (decompression, dequantization of the core's weight slice) is
    # serial with the array in this model
    n_mats = len(groups) if op.kind == "grouped_gemm" else 1
    deq_core = dequant_flops_per_value(device, op) * op.k * n_core * op.b_density * n_mats
    vec += deq_core * cores_used
    comp_total += (vec / max(cores_used, 1)) / vector_rate(device, op.dtype)
    a_bytes = sum(groups) * op.k * ob.a
    b_mats = len(groups) if (op.kind == "grouped_gemm" or not op.b_is_weight) else 1
    b_bytes = op.k * op.n * ob.b * b_mats
    a_reads, b_reads = _systolic_blocking(device, h, groups, n_core, op.k, ob.a, ob.b)
    # DRAM streams: rows of A (k elements) to every core, rows of the (n x k) weight, and each core's
    # n_core-wide slice of every output row, in whole bursts over the channels they cover
    read_streams: list[Chunks] = [
        (op.k * ob.a, sum(groups) * cores_used * a_reads),
        (op.k * ob.b, op.n * b_mats * b_reads),
    ]
    # every core but the last writes n_core columns of each row, the last one the remainder
    last_cols = op.n - n_core * (cores_used - 1)
    write_streams: list[Chunks] = [
        (n_core * ob.c, sum(groups) * (cores_used - 1)),
        (last_cols * ob.c, float(sum(groups))),
    ]
    dram_read = moved_bytes(h.dram, read_streams)
    c_bytes = moved_bytes(h.dram, write_streams)
    dram_bw, dram_wbw = dram_rates(device)
    dram_bw *= channel_share(h.dram, read_streams)
    dram_wbw *= channel_share(h.dram, write_streams)
    steps = max(1, folds)
    load = np.full(steps, dram_read / steps / dram_bw)
    comp = np.full(steps, comp_total / steps)
    store = np.full(steps, c_bytes / steps / dram_wbw)
    span, extrap = _run_stream(load, comp, store, shared_port=True)
    mem = {h.dram.name: float(load.sum() + store.sum())}
    noc = noc_cost(device, cores_used)  # the cores' operands and results cross the on-chip network
    span = _noc_span(span, mem, max(float(dram_read), float(c_bytes)), noc.bytes_per_cycle)
    stall = span - comp_total
    # transfers below half a cycle are hidden in the array's skewed operand injection
    stall_int = float(round(stall))
    latency = h.dram.latency_ns * f + noc.latency_cycles
    stalls = _account(device, comp_total + stall_int, comp_total, mem, latency, imb)
    reads = {h.dram.name: float(dram_read), h.buffer.name: float(a_bytes * cores_used + b_bytes)}
    writes = {h.dram.name: float(c_bytes), h.buffer.name: float(dram_read)}
    return OpTiming(
        cycles=comp_total + stall_int + latency,
        compute_cycles=comp_total,
        stall_cycles=stalls,
        overhead_s=device.kernel_launch_s,
        level_read_bytes=reads,
        level_write_bytes=writes,
        effective_macs=eff,
        energy_macs=emac,
        vector_flops=vec,
        tile=(unit.array_rows, unit.array_cols, op.k),
        n_tiles=steps,
        extrapolated=extrap,
        noc_bytes=_noc_bytes(device, float(dram_read + c_bytes)),
        noc_hops=noc.mean_hops,
    )


def _noc_span(span: float, mem: dict[str, float], busiest_direction_bytes: float, noc_bw: float) -> float:
    """The span of a load/store stream once the on-chip network carries it: at least the bytes of its
    busier direction at the network's bandwidth. Records the network's cycles in ``mem``."""
    if not np.isfinite(noc_bw):
        return span
    mem[NOC] = busiest_direction_bytes / noc_bw
    return max(span, mem[NOC])


def launch_waves(device: Device, op: Op) -> int:
    """Waves of thread blocks of an op with a launch shape on a SIMT device: ``launch_ctas`` over
    ``n_cores`` x the blocks one core holds at once (its resident-thread and resident-block limits;
    register and shared-memory limits are not modeled). 0 when the shape or the SIMT model is absent."""
    simt = device.simt
    if simt is None or op.launch_ctas == 0:
        return 0
    if op.launch_threads_per_cta > simt.max_threads_per_core:
        raise SimulationError(
            f"op {op.name!r}: launch_threads_per_cta: expected at most {simt.max_threads_per_core} "
            f"(device.simt.max_threads_per_core), got {op.launch_threads_per_cta}"
        )
    resident = min(simt.max_threads_per_core // op.launch_threads_per_cta, simt.max_ctas_per_core)
    return math.ceil(op.launch_ctas / (device.n_cores * resident))


def _streaming(device: Device, op: Op, reads: list[Chunks], writes: list[Chunks], flops: float) -> OpTiming:
    """A memory-streaming op (elementwise, embedding) on the vector units of every core.

    ``reads`` and ``writes`` lay out its DRAM streams as contiguous chunks: the level moves them in
    whole bursts at the share of its bandwidth that their channels give (``models.memory.channels``).

    Without a launch shape: the bytes at the sustained DRAM bandwidth, one DRAM latency and
    ``kernel_launch_s``. With one (``Op.launch_*``, on a device with ``simt``): the bytes at the peak
    DRAM bandwidth plus the dependent memory rounds of each wave of blocks, plus
    ``simt.kernel_floor_s``. Adding the rounds to the bandwidth time is the closed form of a
    queue whose latency grows as ``latency / (1 - utilization)`` (M/M/1): a kernel with few bytes in
    flight per round is latency-bound, one with many reaches the peak; the sustained fraction, which
    folds latency into a bandwidth for kernels without a shape, is not applied again. Approximate:
    waves run back to back (no overlap of one wave's tail with the next one's head), every round of
    a wave costs one full round trip, and the issue time of the arithmetic in a round is not modeled.
    """
    h = hierarchy_of(device)
    f = device.freq_ghz
    read_bytes, write_bytes = moved_bytes(h.dram, reads), moved_bytes(h.dram, writes)
    read_share, write_share = channel_share(h.dram, reads), channel_share(h.dram, writes)
    rate = vector_rate(device, op.a_dtype) * device.n_cores
    steps = max(1, min(64, math.ceil((read_bytes + write_bytes) / (device.n_cores * 32 * 1024))))
    waves = launch_waves(device, op)
    if waves and device.simt is not None:
        dram_bw, dram_wbw = h.dram.read_gb_per_s / f, h.dram.write_gb_per_s / f
        on_chip = h.shared if h.shared is not None else h.buffer
        round_ns = op.launch_dram_rounds * device.simt.dram_round_ns + op.launch_cache_rounds * on_chip.latency_ns
        latency = waves * round_ns * f
        overhead = device.simt.kernel_floor_s
    else:
        dram_bw, dram_wbw = dram_rates(device)
        latency = h.dram.latency_ns * f
        overhead = device.kernel_launch_s
    read_bytes += write_bytes if h.dram.write_allocate else 0.0  # read for ownership of the written lines
    load = np.full(steps, read_bytes / steps / (dram_bw * read_share))
    comp = np.full(steps, flops / rate / steps)
    store = np.full(steps, write_bytes / steps / (dram_wbw * write_share))
    span, extrap = _run_stream(load, comp, store, shared_port=True)
    mem = {h.dram.name: float(load.sum() + store.sum())}
    # the bytes cross the on-chip network between the cores and DRAM, reads and writes in opposite directions
    noc = noc_cost(device, min(op.launch_ctas, device.n_cores) if waves else device.n_cores)
    latency += noc.latency_cycles
    span = _noc_span(span, mem, max(read_bytes, write_bytes), noc.bytes_per_cycle)
    stalls = _account(device, span, float(comp.sum()), mem, latency, 0.0)
    t = OpTiming(
        cycles=span + latency,
        compute_cycles=float(comp.sum()),
        stall_cycles=stalls,
        overhead_s=overhead,
        level_read_bytes={h.dram.name: read_bytes},
        level_write_bytes={h.dram.name: write_bytes},
        vector_flops=flops,
        n_tiles=steps,
        extrapolated=extrap,
        noc_bytes=_noc_bytes(device, read_bytes + write_bytes),
        noc_hops=noc.mean_hops,
    )
    if waves:
        t.notes.append(
            f"launch shape: {waves} wave(s) of {op.launch_dram_rounds} DRAM + {op.launch_cache_rounds} on-chip "
            "dependent rounds"
        )
    elif op.launch_ctas:
        t.notes.append("launch shape ignored: the device has no SIMT model (device.simt)")
    return t


def time_compute_op(device: Device, op: Op) -> OpTiming:
    """Event-fidelity timing of a non-collective op on one device."""
    if op.kind in ("gemm", "grouped_gemm"):
        check_dtype(device.core.matrix_unit, op)
        t = _systolic_gemm(device, op) if device.core.matrix_unit.kind == "systolic" else _gpu_gemm(device, op)
        if t.vector_flops:
            t.notes.append(
                "vector-unit work (decompression of a non-native pattern or dequantization) in the tile pipeline"
            )
        return t
    if op.kind == "elementwise":
        # each input and the output one contiguous array
        elems = float(op.m) * op.n * op.batch
        reads: list[Chunks] = [(elems * dtype_bytes(op.a_dtype), float(op.n_inputs))]
        return _streaming(device, op, reads, [(elems * dtype_bytes(op.c_dtype), 1.0)], op.flops)
    if op.kind == "embedding":
        # a gather: the table rows the ids address (at random addresses), the int32 token ids, one output array
        rows = float(op.m)
        row_bytes = op.n * dtype_bytes(op.b_dtype)
        shared = hierarchy_of(device).shared
        cache = float(shared.capacity_bytes) if shared is not None else 0.0
        gather: list[Chunks] = [(row_bytes, gathered_dram_rows(op.m, op.k, row_bytes, cache)), (rows * 4, 1.0)]
        return _streaming(device, op, gather, [(rows * op.n * dtype_bytes(op.c_dtype), 1.0)], 0.0)
    raise SimulationError(f"op {op.name!r}: kind: expected a compute op, got {op.kind!r}")


def gathered_dram_rows(m: int, k: int, row_bytes: float, cache_bytes: float) -> float:
    """Expected table rows that a gather of ``m`` ids from a ``k``-row table reads from DRAM.

    Approximate: the ids are drawn uniformly at random and independently (as the Vidur profiler and our
    H200 runs draw them; real token ids repeat more often). The distinct rows, ``k (1 - (1 - 1/k)^m)``,
    are read once; a repeat of a row reads it again unless the device-scope cache (``cache_bytes``, the
    L2) still holds it, which it does with probability ``min(1, cache_bytes / (k row_bytes))``, the
    fraction of the table it can hold (uniform reuse; the output stream's share of the cache is not
    counted)."""
    if m <= 0 or k <= 0:
        return float(max(m, 0))
    distinct = 1.0 if k == 1 else -k * math.expm1(m * math.log1p(-1.0 / k))
    distinct = min(distinct, float(m))
    held = min(1.0, cache_bytes / (k * row_bytes)) if row_bytes > 0 else 1.0
    return distinct + (m - distinct) * (1.0 - held)


DEQUANT_FLOPS_PER_VALUE = 2.0
"""Dequantizing a weight value costs a multiply by its scale and a subtract of its zero point
(group-wise affine dequantization, e.g. GPTQ/AWQ W4A16 kernels)."""


def dequant_flops_per_value(device: Device, op: Op) -> float:
    """Vector-unit FLOPs per stored weight value for weight-only quantization (values narrower
    than the compute dtype): :data:`DEQUANT_FLOPS_PER_VALUE` on the vector unit, 0 when the
    matrix pipeline dequantizes (``dequant: fused``)."""
    if not op.b_is_weight or dtype_bytes(op.b_dtype) >= dtype_bytes(op.dtype):
        return 0.0
    return 0.0 if device.core.matrix_unit.dequant == "fused" else DEQUANT_FLOPS_PER_VALUE
