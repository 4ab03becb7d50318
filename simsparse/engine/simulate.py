"""``simulate(hw, workload)``: run every op of a workload on a system and account the totals."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simsparse.errors import DoesNotFitError, SimulationError, closest
from simsparse.hw import Device, System, parse_pattern
from simsparse.kernels.systolic import cycle_reference
from simsparse.models.energy import compute_energy_j, link_energy_j, memory_energy_j, noc_energy_j, static_energy_j
from simsparse.models.interconnect import collective_cost
from simsparse.models.memory import hierarchy_of, operand_bytes
from simsparse.models.noc import noc_cost
from simsparse.results import SimResult
from simsparse.units import canonical_dtype, dtype_bytes
from simsparse.workload.op import Op

from .timing import OpTiming, check_dtype, time_compute_op, vector_rate

__all__ = ["FIDELITIES", "simulate"]

log = logging.getLogger(__name__)

FIDELITIES = ("cycle", "event", "roofline")
CYCLE_FIDELITY_MAX_MACS = 1 << 22
"""Largest per-core GEMM (in MACs) the per-cycle reference is asked to simulate."""


class WorkloadLike(Protocol):
    """What the engine needs of a workload."""

    @property
    def name(self) -> str: ...

    @property
    def ops(self) -> tuple[Op, ...]: ...


@dataclass(slots=True, kw_only=True)
class _Row:
    op: Op
    device: int
    t: OpTiming


def _scenario(workload: Any) -> Any:
    return getattr(workload, "scenario", None)


def _degrees(workload: Any) -> tuple[int, int, int]:
    sc = _scenario(workload)
    if sc is None:
        return 1, 1, 1
    return int(getattr(sc, "tp", 1)), int(getattr(sc, "ep", 1)), int(getattr(sc, "pp", 1))


def _roofline_op(device: Device, op: Op) -> OpTiming:
    """The analytic lower bound: peak compute (with the best sparse speedup) vs compulsory DRAM bytes."""
    f = device.freq_ghz
    h = hierarchy_of(device)
    unit = device.core.matrix_unit
    if op.kind in ("gemm", "grouped_gemm"):
        check_dtype(unit, op)
        speed = 1.0
        if op.b_is_weight and op.b_pattern != "dense":
            try:
                kind, n, m = parse_pattern(op.b_pattern)
            except ValueError:
                kind, n, m = "other", 0, 0
            best = max((s.max_speedup for s in unit.sparsity), default=1.0)
            if kind == "nm" and unit.sparsity:
                speed = min(m / n, best)
            elif unit.sparsity:
                speed = min(1.0 / op.b_density, best)
        if op.a_density < 1.0 and unit.compute_model in ("dual_side", "unstructured"):
            best = max((s.max_speedup for s in unit.sparsity), default=1.0)
            speed = min(speed / op.a_density, best)
        macs = op.flops / 2.0 / speed  # the bound assumes the datapath skips what the speedup saves
        comp = macs / (unit.macs(op.dtype) * device.n_cores)
        ob = operand_bytes(op, unit)
        groups = op.n_groups if op.kind == "grouped_gemm" else op.batch
        touched = sum(1 for t in op.group_tokens if t > 0) if op.kind == "grouped_gemm" else groups
        a = op.m * op.k * ob.a * (1 if op.kind == "grouped_gemm" else op.batch)
        b = op.k * op.n * ob.b * touched
        c = op.m * op.n * ob.c * (1 if op.kind == "grouped_gemm" else op.batch)
        reads, writes = a + b, c
    elif op.kind == "elementwise":
        elems = float(op.m) * op.n * op.batch
        reads = elems * dtype_bytes(op.a_dtype) * op.n_inputs
        writes = elems * dtype_bytes(op.c_dtype)
        comp = op.flops / (vector_rate(device, op.a_dtype) * device.n_cores)
        macs = 0.0
    else:
        reads = float(op.m) * op.n * dtype_bytes(op.b_dtype)
        writes = float(op.m) * op.n * dtype_bytes(op.c_dtype)
        comp, macs = 0.0, 0.0
    if h.dram.write_allocate:
        reads += writes  # every written line is first read for ownership
    mem = reads / (h.dram.read_gb_per_s / f) + writes / (h.dram.write_gb_per_s / f)
    noc = noc_cost(device, device.n_cores)  # every core active: the network's widest
    noc_cycles = max(reads, writes) / noc.bytes_per_cycle  # the two directions are separate links
    cycles = max(comp, mem, noc_cycles)
    cause = "compute" if comp >= max(mem, noc_cycles) else ("noc" if noc_cycles > mem else f"memory:{h.dram.name}")
    return OpTiming(
        cycles=cycles,
        compute_cycles=comp,
        stall_cycles={cause: cycles},
        overhead_s=0.0,
        level_read_bytes={h.dram.name: reads},
        level_write_bytes={h.dram.name: writes},
        effective_macs=macs,
        energy_macs=macs,
    )


def _cycle_op(device: Device, op: Op) -> OpTiming:
    """Cycle fidelity: event timing with the matrix-unit cycles taken from the per-cycle
    reference simulator of one systolic array (memory streaming is shared with ``event``)."""
    t = time_compute_op(device, op)
    unit = device.core.matrix_unit
    if op.kind not in ("gemm", "grouped_gemm"):
        return t
    if unit.kind != "systolic":
        raise SimulationError(
            f"fidelity: expected 'event' or 'roofline' for a {unit.kind} matrix unit "
            "(the per-cycle reference models a systolic array), got 'cycle'"
        )
    groups = [x for x in op.group_tokens if x > 0] if op.kind == "grouped_gemm" else [op.m] * op.batch
    n_core = math.ceil(op.n / device.n_cores)
    sparse_n = sparse_m = 0
    if op.b_is_weight and op.b_pattern not in ("dense",):
        kind, n_, m_ = parse_pattern(op.b_pattern)
        if kind != "nm" or unit.supports(op.b_pattern) is None:
            raise SimulationError(
                f"op {op.name!r}: weight_pattern: expected an N:M pattern the array supports for cycle fidelity, got {op.b_pattern!r}"
            )
        sparse_n, sparse_m = n_, m_
    if any(g * n_core * op.k > CYCLE_FIDELITY_MAX_MACS for g in groups):
        raise SimulationError(
            f"op {op.name!r}: expected a GEMM of at most {CYCLE_FIDELITY_MAX_MACS} MACs per core for cycle fidelity "
            f"(use fidelity='event'), got {max(groups)}x{n_core}x{op.k}"
        )
    pack = max(unit.macs(op.dtype) / (unit.array_rows * unit.array_cols * unit.n_arrays), 1.0)
    n_arr = math.ceil(n_core / unit.n_arrays)
    ref = 0.0
    for g in groups:
        ref += (
            cycle_reference(g, n_arr, op.k, unit.array_rows, unit.array_cols, unit.dataflow, sparse_n, sparse_m) / pack
        )
    ref /= unit.sustained(op.dtype)
    delta = ref - t.compute_cycles
    t.cycles += delta
    t.compute_cycles = ref
    t.stall_cycles["compute"] = t.stall_cycles.get("compute", 0.0) + delta
    return t


def _time_op(system: System, op: Op, fidelity: str) -> OpTiming:
    device = system.device
    if fidelity == "roofline":
        return _roofline_op(device, op)
    if fidelity == "cycle":
        return _cycle_op(device, op)
    return time_compute_op(device, op)


def _collective(system: System, op: Op, fidelity: str) -> OpTiming:
    traffic = (
        np.asarray(op.traffic_bytes, dtype=float).reshape(op.n_devices, op.n_devices) if op.traffic_bytes else None
    )
    kind = op.collective
    if fidelity == "roofline":
        ic = system.interconnect
        if op.n_devices <= 1:
            secs = 0.0
        else:
            inj = ic.link_gb_per_s * ic.n_links_per_device * 1e9
            p = op.n_devices
            vol = {"all_reduce": 2 * (p - 1) / p, "all_gather": (p - 1) / p, "reduce_scatter": (p - 1) / p}.get(
                kind, (p - 1) / p
            )
            if traffic is not None:
                off = traffic.copy()
                np.fill_diagonal(off, 0)
                secs = float(max(off.sum(axis=1).max(), off.sum(axis=0).max())) / inj
            else:
                secs = vol * op.n_bytes / inj if kind != "send_recv" else op.n_bytes / (ic.link_gb_per_s * 1e9)
        cyc = secs * system.device.freq_ghz * 1e9
        return OpTiming(
            cycles=cyc,
            compute_cycles=0.0,
            stall_cycles={"interconnect": cyc},
            overhead_s=0.0,
            level_read_bytes={},
            level_write_bytes={},
            interconnect_s=secs,
        )
    cost = collective_cost(system, kind, float(op.n_bytes), op.n_devices, traffic)
    cyc = cost.time_s * system.device.freq_ghz * 1e9
    return OpTiming(
        cycles=cyc,
        compute_cycles=0.0,
        stall_cycles={"interconnect": cyc},
        overhead_s=system.device.kernel_launch_s if op.n_devices > 1 else 0.0,
        level_read_bytes={},
        level_write_bytes={},
        link_bytes=float(cost.send_bytes.sum()),
        interconnect_s=cost.time_s,
    )


def _check_fit(system: System, workload: Any) -> dict[str, float] | None:
    fn = getattr(workload, "memory_per_device", None)
    if fn is None:
        return None
    mem: dict[str, float] = fn()
    need = float(sum(float(v) for v in mem.values()))
    cap = float(system.device.dram.capacity_bytes)
    if need > cap:
        parts = ", ".join(f"{k} {float(v) / 2**30:.1f} GiB" for k, v in mem.items())
        raise DoesNotFitError(
            f"workload {getattr(workload, 'name', '?')!r} does not fit {system.name}: expected at most "
            f"{cap / 2**30:.1f} GiB per device (device.memory[{system.device.dram.name}].capacity_bytes), "
            f"got {need / 2**30:.1f} GiB ({parts}); use more devices (tp/ep/pp), quantization or a smaller batch"
        )
    return mem


def simulate(hw: System, workload: WorkloadLike, fidelity: str = "event") -> SimResult:
    """Simulate ``workload`` on ``hw`` at ``fidelity`` (``cycle``, ``event`` or ``roofline``).

    Ops run one after another on each device (one kernel each); identical layers are simulated
    once and counted ``repeat`` times. Grouped (MoE) GEMMs run per device under expert
    parallelism and the most loaded device sets the op's time. With ``pp`` pipeline stages the
    ops describe one stage running one micro-batch, and a step of ``M`` micro-batches takes
    ``(M + pp - 1)`` stage times (GPipe schedule: ``pp - 1`` fill/drain bubbles; Huang et al.,
    NeurIPS 2019). The bubble time is reported as ``pipeline_bubble_s``.
    """
    if fidelity not in FIDELITIES:
        raise SimulationError(
            f"fidelity: expected one of {', '.join(FIDELITIES)}{closest(fidelity, FIDELITIES)}, got {fidelity!r}"
        )
    if not isinstance(hw, System):
        raise SimulationError(f"hw: expected a System (use simsparse.load_hardware), got {type(hw).__name__}")
    tp, ep, pp = _degrees(workload)
    need = max(tp * pp, ep * pp)
    if need > hw.n_devices:
        raise SimulationError(
            f"parallelism: expected tp*pp and ep*pp to be at most the {hw.n_devices} device(s) of {hw.name}, "
            f"got tp={tp} ep={ep} pp={pp}"
        )
    memory = _check_fit(hw, workload)
    rows: list[_Row] = []
    notes: list[str] = []
    timing_notes: dict[str, list[str]] = {}
    for op in workload.ops:
        if op.kind == "collective":
            if op.n_devices > hw.n_devices:
                raise SimulationError(
                    f"op {op.name!r}: n_devices: expected at most the {hw.n_devices} device(s) of {hw.name}, got {op.n_devices}"
                )
            rows.append(_Row(op=op, device=-1, t=_collective(hw, op, fidelity)))
        elif op.kind == "grouped_gemm" and op.group_device and len(set(op.group_device)) > 1:
            tokens = np.asarray(op.group_tokens)
            where = np.asarray(op.group_device)
            for d in sorted(set(op.group_device)):
                sub = op.replace(
                    group_tokens=tuple(int(x) for x in np.where(where == d, tokens, 0)),
                    m=int(tokens[where == d].sum()),
                    top_k=0,
                )
                rows.append(_Row(op=sub, device=int(d), t=_time_op(hw, sub, fidelity)))
        else:
            rows.append(_Row(op=op, device=-1, t=_time_op(hw, op, fidelity)))
        if rows[-1].t.extrapolated:
            notes.append(f"{op.name}: long regular tile stream extrapolated from its simulated steady state")
        for note in rows[-1].t.notes:
            timing_notes.setdefault(note, []).append(op.name)
    for note, names in timing_notes.items():
        names = list(dict.fromkeys(names))
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        notes.append(f"{note} ({shown})")
    return _account(hw, workload, rows, fidelity, notes, (tp, ep, pp), memory)


def _latency_s(device: Device, t: OpTiming) -> float:
    if t.interconnect_s and not t.compute_cycles:
        return t.interconnect_s + t.overhead_s
    return t.cycles / (device.freq_ghz * 1e9) + t.overhead_s


def _account(
    hw: System,
    workload: Any,
    rows: Sequence[_Row],
    fidelity: str,
    notes: list[str],
    degrees: tuple[int, int, int],
    memory: dict[str, float] | None,
) -> SimResult:
    device = hw.device
    f = device.freq_ghz
    tp, ep, pp = degrees
    n_active = min(hw.n_devices, max(tp * pp, ep * pp))
    if _scenario(workload) is None:
        # a layer-level workload: the devices its collectives and expert placement span
        n_active = max(
            [1]
            + [r.op.n_devices for r in rows if r.op.kind == "collective"]
            + [len(set(r.op.group_device)) for r in rows if r.op.group_device]
        )
        n_active = min(n_active, hw.n_devices)
    # group per-device rows of the same op: the slowest device sets the op's time
    by_op: dict[int, list[_Row]] = {}
    order: list[int] = []
    for r in rows:
        key = id(r.op) if r.device < 0 else hash((r.op.name, r.op.layer))
        if key not in by_op:
            by_op[key] = []
            order.append(key)
        by_op[key].append(r)
    pending: list[tuple[_Row, float, bool, float]] = []  # op rows, built into records on first access
    cause_s: dict[str, float] = {}
    total_s = 0.0
    energy = 0.0
    level_r: dict[str, float] = {}
    level_w: dict[str, float] = {}
    # per-device sums: ops that run on every active device are added once, per-device rows apart
    shared_time = shared_bytes = 0.0
    dev_time = [0.0] * hw.n_devices
    dev_bytes = [0.0] * hw.n_devices
    link_total = 0.0
    noc_total = 0.0
    experts: list[dict[str, Any]] = []
    for key in order:
        group = by_op[key]
        lat = [(_latency_s(device, r.t), r) for r in group]
        worst_s, worst = max(lat, key=lambda x: x[0])
        mean_s = sum(x[0] for x in lat) / len(lat)
        op = worst.op
        rep = op.repeat
        for s, r in lat:
            dyn = (
                compute_energy_j(device, r.op.dtype, r.t.energy_macs, r.t.vector_flops)
                + memory_energy_j(device, r.t.level_read_bytes, r.t.level_write_bytes)
                + noc_energy_j(device, r.t.noc_bytes, r.t.noc_hops)
            )
            copies = 1 if r.device >= 0 or r.op.kind == "collective" else n_active
            link_e = link_energy_j(hw, r.t.link_bytes)
            energy_op = dyn * copies + link_e
            energy += energy_op * rep
            for lv, b in r.t.level_read_bytes.items():
                level_r[lv] = level_r.get(lv, 0.0) + b * rep * copies
            for lv, b in r.t.level_write_bytes.items():
                level_w[lv] = level_w.get(lv, 0.0) + b * rep * copies
            link_total += r.t.link_bytes * rep
            noc_total += r.t.noc_bytes * rep * copies
            if r.device >= 0:
                dev_time[r.device] += s * rep
                dev_bytes[r.device] += sum(r.t.level_read_bytes.values()) * rep
            else:
                shared_time += s * rep
                shared_bytes += sum(r.t.level_read_bytes.values()) * rep
            pending.append((r, s, len(group) > 1, energy_op))
        total_s += worst_s * rep
        # causes, in seconds, of the slowest device's copy
        cyc_total = sum(worst.t.stall_cycles.values()) or 1.0
        body = worst_s - worst.t.overhead_s
        for cause, c in worst.t.stall_cycles.items():
            cause_s[cause] = cause_s.get(cause, 0.0) + body * c / cyc_total * rep
        cause_s["overhead"] = cause_s.get("overhead", 0.0) + worst.t.overhead_s * rep
        if len(group) > 1:
            cause_s["imbalance"] = cause_s.get("imbalance", 0.0) + (worst_s - mean_s) * rep
            for d_s, r in lat:
                for e, (tok, dv) in enumerate(zip(r.op.group_tokens, r.op.group_device or (), strict=False)):
                    if dv == r.device:
                        experts.append({"op": op.name, "expert": e, "device": dv, "tokens": tok, "latency_s": d_s})
        elif op.kind == "grouped_gemm":
            for e, tok in enumerate(op.group_tokens):
                experts.append({"op": op.name, "expert": e, "device": 0, "tokens": tok, "latency_s": worst_s})
    sc_ = _scenario(workload)
    micro = int(getattr(sc_, "microbatches", 1)) if sc_ is not None else 1
    slots = micro + pp - 1
    # a model step ends with one device-wide synchronization (the host reads the sampled tokens
    # before it schedules the next step); layer-level workloads have none
    sync_s = device.sync_s if sc_ is not None else 0.0
    step_s = total_s * slots + sync_s
    if sync_s:
        cause_s["overhead"] = cause_s.get("overhead", 0.0) + sync_s / slots
    static = static_energy_j(hw, step_s, n_active)
    energy += static
    summary: dict[str, Any] = {
        "hardware": hw.name,
        "workload": getattr(workload, "name", "workload"),
        "fidelity": fidelity,
        "n_devices": n_active,
        "latency_s": step_s,
        "cycles": step_s * f * 1e9,
    }
    comp_cyc = float(
        sum(r.t.compute_cycles * r.op.repeat for r in rows if r.device < 0)
        + max(
            [sum(r.t.compute_cycles * r.op.repeat for r in rows if r.device == d) for d in range(hw.n_devices)] or [0.0]
        )
    )
    summary["compute_cycles"] = comp_cyc
    summary["stall_cycles"] = max(summary["cycles"] - comp_cyc, 0.0)
    summary["energy_j"] = energy
    summary["static_energy_j"] = static
    flops = float(sum(r.op.flops * r.op.repeat for r in rows))
    summary["flops"] = flops
    dtype = _main_dtype(rows)
    peak = device.peak_flops(dtype) * n_active if dtype else 0.0
    executed = float(sum(_executed_flops(r.op, r.t) * r.op.repeat for r in rows))
    summary["utilization"] = executed * pp * micro / (peak * step_s) if peak and step_s else 0.0
    summary["pipeline_bubble_s"] = total_s * (pp - 1)
    summary["sync_s"] = sync_s
    summary["microbatches"] = micro
    if cause_s:
        worst_cause = max(cause_s, key=lambda c: cause_s[c])
        tot = sum(cause_s.values()) or 1.0
        summary["bottleneck"] = worst_cause
        summary["bottleneck_share"] = cause_s[worst_cause] / tot
        summary["time_by_cause_s"] = {c: v * slots for c, v in sorted(cause_s.items())}
    else:
        summary["bottleneck"] = "none"
        summary["bottleneck_share"] = 0.0
    summary["bytes_by_level"] = {
        lv: level_r.get(lv, 0.0) + level_w.get(lv, 0.0) for lv in sorted(set(level_r) | set(level_w))
    }
    summary["link_bytes"] = link_total
    summary["noc_bytes"] = noc_total
    sc = _scenario(workload)
    if sc is not None:
        phase = getattr(sc, "phase", "decode")
        batch = int(getattr(sc, "batch", 1))
        if phase == "prefill":
            tokens = batch * int(getattr(sc, "prompt_len", getattr(sc, "context_len", 1)))
            summary["ttft_s"] = step_s
        else:
            tokens = batch
            summary["tpot_s"] = step_s
        summary["tokens"] = tokens
        summary["tokens_per_s"] = tokens / step_s if step_s else 0.0
        summary["energy_per_token_j"] = energy / tokens if tokens else 0.0
    mem = memory
    if mem is not None:
        summary["peak_memory_bytes"] = float(sum(float(v) for v in mem.values()))
        for k, v in mem.items():
            summary[f"memory_{k}"] = float(v)
    summary["extrapolated"] = any(r.t.extrapolated for r in rows)
    devices = functools.partial(_devices_table, n_active, dev_time, dev_bytes, shared_time, shared_bytes, slots)
    levels = [
        {"level": lv, "read_bytes": level_r.get(lv, 0.0), "write_bytes": level_w.get(lv, 0.0)}
        for lv in sorted(set(level_r) | set(level_w))
    ]
    links = [
        {"op": r.op.name, "collective": r.op.collective, "link_bytes": r.t.link_bytes, "repeat": r.op.repeat}
        for r in rows
        if r.op.kind == "collective"
    ]
    return SimResult(
        hardware=hw.name,
        workload=str(getattr(workload, "name", "workload")),
        fidelity=fidelity,
        totals=summary,
        tables={
            "ops": functools.partial(_op_records, hw, pending),
            "devices": devices,
            "levels": levels,
            "links": links,
            "experts": experts,
        },
        notes=tuple(dict.fromkeys(notes)),
    )


def _devices_table(
    n_active: int,
    dev_time: list[float],
    dev_bytes: list[float],
    shared_time: float,
    shared_bytes: float,
    slots: int,
) -> list[dict[str, Any]]:
    """The devices table rows (built on first access): per-device rows plus the ops every active device runs."""
    return [
        {
            "device": d,
            "latency_s": (t + (shared_time if d < n_active else 0.0)) * slots,
            "read_bytes": b + (shared_bytes if d < n_active else 0.0),
            "active": d < n_active,
        }
        for d, (t, b) in enumerate(zip(dev_time, dev_bytes, strict=True))
    ]


def _op_records(hw: System, pending: list[tuple[_Row, float, bool, float]]) -> list[dict[str, Any]]:
    """The ops table rows (built when ``SimResult.ops`` is first read; a picklable partial)."""
    return [_op_record(hw, r, s, multi, e) for r, s, multi, e in pending]


def _executed_flops(op: Op, t: OpTiming) -> float:
    """FLOPs the hardware executes for ``op``: two per MAC the datapath performs after skipping zeros
    (``effective_macs``), or the op's own count for ops without MACs. ``utilization`` divides these,
    not the dense-equivalent ``flops``, by the peak, so a sparse op's utilization stays a share of the
    datapath (at most 1) while its ``achieved_flops_per_s`` counts dense-equivalent work."""
    return 2.0 * t.effective_macs if t.effective_macs > 0 else op.flops


def _main_dtype(rows: Sequence[_Row]) -> str:
    weights: dict[str, float] = {}
    for r in rows:
        if r.op.kind in ("gemm", "grouped_gemm"):
            weights[r.op.dtype] = weights.get(r.op.dtype, 0.0) + r.op.flops * r.op.repeat
    return max(weights, key=lambda d: weights[d]) if weights else ""


def _op_record(hw: System, r: _Row, latency_s: float, per_device: bool, energy_j: float) -> dict[str, Any]:
    device = hw.device
    op, t = r.op, r.t
    dram = device.dram.name
    dram_bytes = t.level_read_bytes.get(dram, 0.0) + t.level_write_bytes.get(dram, 0.0)
    stalls = t.stall_cycles
    cause = max(stalls, key=lambda c: stalls[c]) if stalls else "none"
    if t.overhead_s > latency_s - t.overhead_s and op.kind != "collective":
        cause = "overhead"
    peak = (
        device.peak_flops(op.dtype)
        if op.kind in ("gemm", "grouped_gemm") and canonical_dtype(op.dtype) in device.core.matrix_unit.macs_per_cycle
        else 0.0
    )
    rec: dict[str, Any] = {
        "op": op.name,
        "kind": op.kind,
        "layer": op.layer,
        "device": r.device,
        "repeat": op.repeat,
        "m": op.m,
        "n": op.n,
        "k": op.k,
        "batch": op.batch,
        "dtype": op.dtype,
        "b_dtype": op.b_dtype,
        "b_pattern": op.b_pattern,
        "cycles": t.cycles,
        "compute_cycles": t.compute_cycles,
        "stall_cycles": max(t.cycles - t.compute_cycles, 0.0),
        "latency_s": latency_s,
        "total_s": latency_s * op.repeat,
        "flops": op.flops,
        "effective_macs": t.effective_macs,
        "arithmetic_intensity": op.flops / dram_bytes if dram_bytes else float("nan"),
        "achieved_flops_per_s": op.flops / latency_s if latency_s else 0.0,
        "utilization": (_executed_flops(op, t) / latency_s / peak) if peak and latency_s else 0.0,
        "bottleneck": cause,
        "energy_j": energy_j,
        "overhead_s": t.overhead_s,
        "interconnect_s": t.interconnect_s,
        "tile_m": t.tile[0],
        "tile_n": t.tile[1],
        "tile_k": t.tile[2],
        "n_tiles": t.n_tiles,
        "link_bytes": t.link_bytes,
        "noc_bytes": t.noc_bytes,
        "extrapolated": t.extrapolated,
    }
    for lv in device.memory:
        rec[f"bytes_{lv.name}"] = t.level_read_bytes.get(lv.name, 0.0) + t.level_write_bytes.get(lv.name, 0.0)
    cyc_total = sum(stalls.values()) or 1.0
    body = latency_s - t.overhead_s
    for c in ("compute", "latency", "imbalance", "interconnect", "noc"):
        rec[f"time_{c}_s"] = body * stalls.get(c, 0.0) / cyc_total
    rec["time_memory_s"] = body * sum(v for c, v in stalls.items() if c.startswith("memory:")) / cyc_total
    return rec
