"""Capacity-aware mapping of a GEMM onto the cores and memory levels of a device.

A GEMM ``C[m,n] = A[m,k] @ B[k,n]`` (``batch`` times) is cut into output tiles ``tile_m x
tile_n``; each tile streams ``tile_k``-deep slices of A and B through the innermost buffer level
(shared memory / SRAM) with double buffering, so a candidate fits when ``2 * tile_k * (tile_m *
a + tile_n * b) + tile_m * tile_n * acc`` bytes fit that level. Tiles run ``n_cores`` at a time
(a *wave*). ``split_k`` splits K when there are fewer tiles than cores (partial sums then cost a
read-modify-write in fp32). Tiles are visited in row-panel groups of ``swizzle`` rows (the
loop order): DRAM traffic of a wave is the A row panels and B column panels it touches that the
previous wave did not leave in the shared level (L2) - reuse follows from the tiling and the L2
capacity, not from a constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simsparse.errors import SimulationError
from simsparse.hw import Device, MemoryLevel
from simsparse.kernels.traffic import wave_panel_counts

__all__ = ["GemmMapping", "Hierarchy", "choose_gemm_mapping", "hierarchy_of", "wave_dram_bytes"]

ACCUMULATOR_BYTES = 4.0
"""Partial sums are accumulated in fp32 (NVIDIA tensor cores and TPU MXUs accumulate in fp32)."""
N_BUFFERS = 2
"""Double buffering: load slice i+1 while computing slice i (DESIGN.md section 3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hierarchy:
    """The roles of a device's memory levels for the mapper."""

    buffer: MemoryLevel
    shared: MemoryLevel | None
    dram: MemoryLevel

    @property
    def names(self) -> tuple[str, ...]:
        out = [self.buffer.name]
        if self.shared is not None:
            out.append(self.shared.name)
        if self.dram.name not in out:
            out.append(self.dram.name)
        return tuple(out)


def hierarchy_of(device: Device) -> Hierarchy:
    """Buffer (innermost non-register level), shared (device-scope on-chip level) and DRAM."""
    levels = [lv for lv in device.memory if lv.kind != "register_file"]
    dram = device.memory[-1]
    on_chip = [lv for lv in levels if lv is not dram]
    if not on_chip:
        return Hierarchy(buffer=dram, shared=None, dram=dram)
    buffer = on_chip[0]
    shared = next((lv for lv in on_chip[1:] if lv.scope == "device"), None)
    if buffer.scope == "device" and shared is None:
        shared = None
    return Hierarchy(buffer=buffer, shared=shared, dram=dram)


@dataclass(frozen=True, slots=True, kw_only=True)
class GemmMapping:
    """A chosen mapping: tile sizes, split of K, loop order (swizzle) and the resulting waves."""

    tile_m: int
    tile_n: int
    tile_k: int
    split_k: int
    swizzle: int
    n_tiles: int
    n_waves: int
    footprint_bytes: float


REGISTER_FILE_BYTES = 256 * 1024
"""Register file per SM when the preset lists no ``register_file`` level: 64K 32-bit registers
(NVIDIA V100/A100/H100 architecture whitepapers)."""
ACCUMULATOR_REGISTER_SHARE = 0.5
"""Share of the register file a tile's fp32 accumulators may take: CUTLASS's largest tensor-core
tiles (256x128 with fp32 accumulation, SM80/SM90 GEMM configurations) use half of the 256 KB."""


def footprint(tile_m: int, tile_n: int, tile_k: int, a: float, b: float, *, acc_in_buffer: bool = True) -> float:
    """Bytes a tile needs in the buffer level: double-buffered A/B slices, plus the fp32
    accumulator unless it lives in registers (tensor cores keep it in the register file)."""
    acc = tile_m * tile_n * ACCUMULATOR_BYTES if acc_in_buffer else 0.0
    return N_BUFFERS * tile_k * (tile_m * a + tile_n * b) + acc


def _tile_options(unit_dim: int, extent: int, limit: int = 256) -> list[int]:
    opts = []
    t = max(unit_dim, 1)
    while t <= max(limit, unit_dim):
        opts.append(t)
        if t >= extent:
            break
        t *= 2
    return opts


def candidate_mappings(
    m: int,
    n: int,
    k: int,
    batch: int,
    n_cores: int,
    row_unit: int,
    col_unit: int,
    a: float,
    b: float,
    capacity: int,
    acc_capacity: float | None = None,
    split_k: bool = True,
) -> list[GemmMapping]:
    """Every candidate tile shape and split that fits ``capacity`` bytes of buffer (no split of K
    when ``split_k`` is false: grouped GEMM kernels).

    With ``acc_capacity`` the fp32 accumulators live in registers and must fit that many bytes;
    otherwise they take buffer space.
    """
    out: list[GemmMapping] = []
    in_buffer = acc_capacity is None
    for tm in _tile_options(row_unit, m):
        for tn in _tile_options(col_unit, n):
            if acc_capacity is not None and tm * tn * ACCUMULATOR_BYTES > acc_capacity:
                continue
            # the deepest K slice that fits (deeper slices only lengthen each load; the double
            # buffer hides them), so K depth is not a separate search axis
            fitting = [
                min(tk, k)
                for tk in (128, 64, 32)
                if footprint(tm, tn, min(tk, k), a, b, acc_in_buffer=in_buffer) <= capacity
            ]
            for tk_eff in fitting[:1]:
                fp = footprint(tm, tn, tk_eff, a, b, acc_in_buffer=in_buffer)
                tiles = math.ceil(m / tm) * math.ceil(n / tn) * batch
                splits = {1}
                if split_k and tiles < n_cores:
                    splits.add(max(1, min(n_cores // tiles, k // max(4 * tk_eff, 1))))
                rows = math.ceil(m / tm)
                for split in sorted(splits):
                    total = tiles * split
                    waves = math.ceil(total / n_cores)
                    for sw in sorted({min(s, rows) for s in (1, 4, 8)}):
                        out.append(
                            GemmMapping(
                                tile_m=tm,
                                tile_n=tn,
                                tile_k=tk_eff,
                                split_k=split,
                                swizzle=sw,
                                n_tiles=total,
                                n_waves=waves,
                                footprint_bytes=fp,
                            )
                        )
    return out


def wave_dram_bytes(
    m: int, n: int, k: int, batch: int, mp: GemmMapping, n_cores: int, a: float, b: float, shared_capacity: float | None
) -> np.ndarray:
    """DRAM read bytes of each wave (A and B panels), given the shared level's capacity.

    With no shared level every tile reads its own panels. If the whole of A and B fits the
    shared level, each byte is read from DRAM once (compulsory traffic). Otherwise a wave reads
    the panels it touches, minus those the previous wave touched when both waves' panels fit.
    """
    rows, cols = math.ceil(m / mp.tile_m), math.ceil(n / mp.tile_n)
    k_split = math.ceil(k / mp.split_k)
    a_panel = mp.tile_m * k_split * a
    b_panel = mp.tile_n * k_split * b
    total_a = m * k * a * batch
    total_b = k * n * b * batch
    n_waves = mp.n_waves
    per_wave_tiles = n_cores
    t = np.arange(mp.n_tiles, dtype=np.int64)
    s = t % mp.split_k
    tt = t // mp.split_k
    per_batch = rows * cols
    bi = tt // per_batch
    r = tt % per_batch
    sw = max(mp.swizzle, 1)
    group = r // (sw * cols)
    within = r % (sw * cols)
    g_rows = np.minimum(sw, rows - group * sw)
    row = group * sw + within % g_rows
    col = within // g_rows
    wave = t // per_wave_tiles
    a_key = (bi * rows + row) * mp.split_k + s
    b_key = (bi * cols + col) * mp.split_k + s
    if shared_capacity is None:
        per_tile = np.full(mp.n_tiles, a_panel + b_panel)
        return np.bincount(wave, weights=per_tile, minlength=n_waves)
    if total_a + total_b <= shared_capacity:
        out = np.zeros(n_waves)
        a_first = np.unique(a_key, return_index=True)[1]
        b_first = np.unique(b_key, return_index=True)[1]
        np.add.at(out, wave[a_first], a_panel)
        np.add.at(out, wave[b_first], b_panel)
        return out
    ua, ub, ha, hb = wave_panel_counts(a_key, b_key, wave, n_waves)
    set_bytes = ua * a_panel + ub * b_panel
    prev_bytes = np.concatenate([[0.0], set_bytes[:-1]])
    fits = set_bytes + prev_bytes <= shared_capacity
    new_a = np.where(fits, ua - ha, ua)
    new_b = np.where(fits, ub - hb, ub)
    out = new_a * a_panel + new_b * b_panel
    return out


def choose_gemm_mapping(
    device: Device,
    m: int,
    n: int,
    k: int,
    batch: int,
    a: float,
    b: float,
    cost: CostFn,
    refine: CostFn | None = None,
    n_refine: int = 4,
    split_k: bool = True,
) -> GemmMapping:
    """The candidate mapping with the least time; deterministic.

    Candidates are ranked by the analytic estimate ``cost(mapping)``; the best ``n_refine`` are
    then re-ranked by ``refine(mapping)`` (e.g. the scheduled time with the exact per-wave DRAM
    traffic) when given. Raises :class:`SimulationError` naming the buffer level when no tile
    fits it.
    """
    h = hierarchy_of(device)
    unit = device.core.matrix_unit
    acc_capacity = None
    if unit.kind == "tensor_core":
        rf = next((lv for lv in device.memory if lv.kind == "register_file"), None)
        acc_capacity = (rf.capacity_bytes if rf is not None else REGISTER_FILE_BYTES) * ACCUMULATOR_REGISTER_SHARE
    cands = candidate_mappings(
        m,
        n,
        k,
        batch,
        device.n_cores,
        unit.array_rows,
        unit.array_cols,
        a,
        b,
        h.buffer.capacity_bytes,
        acc_capacity,
        split_k=split_k,
    )
    if not cands:
        need = footprint(unit.array_rows, unit.array_cols, min(32, k), a, b)
        raise SimulationError(
            f"memory[{h.buffer.name}].capacity_bytes: expected room for the smallest tile "
            f"({unit.array_rows}x{unit.array_cols}x{min(32, k)}, {need:.0f} bytes), got {h.buffer.capacity_bytes}"
        )
    ranked = sorted(cands, key=lambda mp: (cost(mp), mp.tile_m * mp.tile_n, mp.tile_k, mp.swizzle))
    if refine is None:
        return ranked[0]
    top = ranked[:n_refine]
    # make sure every loop order of the best tile shape is among the refined candidates
    best = ranked[0]
    top += [
        c for c in ranked if (c.tile_m, c.tile_n, c.tile_k) == (best.tile_m, best.tile_n, best.tile_k) and c not in top
    ]
    return min(top, key=lambda mp: (refine(mp), top.index(mp)))


from collections.abc import Callable  # noqa: E402

CostFn = Callable[[GemmMapping], float]
