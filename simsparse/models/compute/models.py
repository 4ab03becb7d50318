"""The registered compute models.

Each model answers: how many cycles does one core's matrix unit take for a GEMM task, given the
weight and activation sparsity and the patterns the datapath accelerates (``MatrixUnit.sparsity``).
Where the datapath cannot exploit a pattern it falls back to the dense path: compressed weights
are decompressed on the vector unit (counted as ``vector_flops``), MACs run dense.
"""

from __future__ import annotations

import math

from simsparse.hw import MatrixUnit
from simsparse.kernels.sparsity import expected_max_binomial

from .base import ComputeCost, GemmTask, check_pattern, dense_core_cycles, register_compute_model

__all__ = ["DenseModel", "DualSideModel", "FlexibleNMModel", "StructuredNMModel", "UnstructuredModel"]


def _dense(unit: MatrixUnit, t: GemmTask) -> float:
    return dense_core_cycles(unit, t.m, t.n, t.k, t.batch, t.dtype)


def _macs(t: GemmTask) -> float:
    return float(t.m) * t.n * t.k * t.batch


def _fallback(unit: MatrixUnit, t: GemmTask) -> ComputeCost:
    """Dense execution; compressed sparse weights are expanded on the vector unit first."""
    dense = _dense(unit, t)
    # a "sparse" pattern at density 1.0 stores every value: nothing to expand
    decompress = 0.0 if t.b_pattern == "dense" or t.b_density >= 1.0 else float(t.k) * t.n * t.batch
    return ComputeCost(
        cycles=dense, dense_cycles=dense, effective_macs=_macs(t), energy_macs=_macs(t), vector_flops=decompress
    )


@register_compute_model("dense")
class DenseModel:
    """A dense datapath: every MAC is executed; sparse weights fall back to decompression."""

    name = "dense"

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        return _fallback(unit, task)


def _floor_cap(unit: MatrixUnit, dense: float, cap: float) -> float:
    """The fastest the datapath may run: ``dense / max_speedup``. Systolic arrays count whole
    cycles with SCALE-Sim's last-cycle-index convention (``folds * per_fold - 1``), so there the
    bound is rounded down to a whole cycle."""
    bound = dense / cap
    return float(math.floor(bound)) if unit.kind == "systolic" else bound


def _nm_cycles(unit: MatrixUnit, t: GemmTask, n: int, m: int) -> float:
    if unit.kind == "systolic":
        return dense_core_cycles(unit, t.m, t.n, t.k, t.batch, t.dtype, sparse_n=n, sparse_m=m)
    return dense_core_cycles(unit, t.m, t.n, t.k, t.batch, t.dtype, sparse_n=n, sparse_m=m)


@register_compute_model("structured_nm")
class StructuredNMModel:
    """NVIDIA-style sparse tensor core (Mishra et al., arXiv:2104.08378; A100 whitepaper).

    Weights stored as N of every M values plus index metadata; the datapath consumes K at
    ``N/M`` of the dense rate for a supported pattern. A pattern sparser than a supported one
    (1:4 on a 2:4 datapath) runs as the supported one (it is a special case of it: zeros are
    kept as values). Anything else runs dense after decompression.
    """

    name = "structured_nm"

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        kind, n, m = check_pattern(task.b_pattern)
        if kind != "nm" or n == m:
            return _fallback(unit, task)
        best: tuple[int, int] | None = None
        for s in unit.sparsity:
            sk, sn, sm = check_pattern(s.pattern)
            if sk == "nm" and sm == m and sn >= n and (best is None or sn < best[0]):
                best = (sn, sm)
        if best is None:
            return _fallback(unit, task)
        dense = _dense(unit, task)
        support = unit.supports(f"{best[0]}:{best[1]}")
        cap = support.max_speedup if support is not None else 1.0
        cyc = max(_nm_cycles(unit, task, best[0], best[1]), _floor_cap(unit, dense, cap))
        if unit.zero_handling == "gate":
            cyc = dense  # gating saves MAC energy, not cycles
        kept = _macs(task) * best[0] / best[1]
        return ComputeCost(cycles=cyc, dense_cycles=dense, effective_macs=kept, energy_macs=kept)


@register_compute_model("flexible_nm")
class FlexibleNMModel:
    """VEGETA-style flexible N:M (Jeong et al., HPCA 2023): 1:M, 2:M, ..., M:M and row-wise mixes.

    Every pattern in ``MatrixUnit.sparsity`` is native; ``row_wise`` support means each row
    block may use its own N (the op's average ``b_density`` then sets the K consumed, rounded up
    to whole values of M). Patterns with an unsupported M run dense.
    """

    name = "flexible_nm"

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        kind, n, m = check_pattern(task.b_pattern)
        parsed = [(check_pattern(s.pattern), s.max_speedup) for s in unit.sparsity]
        row_cap = max((cap for (pk, _, _), cap in parsed if pk == "row_wise"), default=0.0)
        # (N, M, cap) the tile may run as: a sparser tile can always run as a denser supported pattern
        options: list[tuple[int, int, float]] = []
        if kind == "nm":
            options = [(pn, pm, cap) for (pk, pn, pm), cap in parsed if pk == "nm" and pm == m and pn >= n]
        elif kind in ("unstructured", "block") and row_cap:
            ms = [pm for (pk, _, pm), _ in parsed if pk == "nm"] or [4]
            sm = max(ms)
            need = max(1, math.ceil(task.b_density * sm))
            options = [(pn, sm, row_cap) for pn in range(need, sm + 1)]
        if not options:
            return _fallback(unit, task)
        dense = _dense(unit, task)

        def cycles(pn: int, pm: int, cap: float) -> float:
            return max(_nm_cycles(unit, task, pn, pm), _floor_cap(unit, dense, cap)) if pn < pm else dense

        sn, sm, _ = min(options, key=lambda o: (cycles(*o), o[0]))
        cyc = min(cycles(*o) for o in options)
        if unit.zero_handling == "gate":
            cyc = dense  # gating saves MAC energy, not cycles
        kept = _macs(task) * sn / sm
        return ComputeCost(cycles=cyc, dense_cycles=dense, effective_macs=kept, energy_macs=kept)


def _imbalance_fraction(task: GemmTask, lanes: int, depth: int, density: float) -> tuple[float, float]:
    """(work fraction with imbalance, mean work fraction) of a skipping datapath.

    The weight tile of ``depth`` values per lane is split over ``lanes`` PEs; with skipping, a
    tile takes as long as its busiest lane. From a real mask (``b_block_nnz``) the busiest block
    of each tile sets the time; from a density alone the expected maximum of ``lanes``
    Binomial(depth, density) draws does (exact, from the CDF).
    """
    if task.b_block_nnz and len(task.b_block_shape) == 2:
        br, bc = task.b_block_shape
        counts = task.b_block_nnz
        size = br * bc
        mean = sum(counts) / (len(counts) * size)
        worst = max(counts) / size
        return max(worst, mean), mean
    if density >= 1.0:
        return 1.0, 1.0
    emax = expected_max_binomial(depth, density, lanes)
    return emax / depth, density


@register_compute_model("unstructured")
class UnstructuredModel:
    """Unstructured sparsity with bitmap/CSR metadata and zero skipping (SIGMA-like, HPCA 2020).

    Nonzero weights (and, if the preset lists ``dual_side``/unstructured activations, nonzero
    activations) are packed onto the PE array; cycles scale with the nonzeros of the busiest
    lane (load imbalance, see :func:`_imbalance_fraction`) with ``max_speedup`` as a cap.
    ``zero_handling: gate`` keeps dense cycles and saves only MAC energy.
    """

    name = "unstructured"

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        dense = _dense(unit, task)
        support = unit.supports("unstructured")
        kind, n, m = check_pattern(task.b_pattern)
        density = task.b_density if kind != "dense" else 1.0
        if kind == "nm":
            density = n / m
        if density >= 1.0 and task.a_density >= 1.0:
            return ComputeCost(cycles=dense, dense_cycles=dense, effective_macs=_macs(task), energy_macs=_macs(task))
        if support is None:
            return _fallback(unit, task)
        lanes = unit.array_cols if unit.kind == "systolic" else max(unit.array_cols, 1)
        depth = max(min(task.k, unit.array_rows), 1)
        if kind == "nm":  # exactly n of every m values: every lane holds the same count, no imbalance
            worst = mean = density
        else:
            worst, mean = _imbalance_fraction(task, lanes, depth, density)
        frac_a = task.a_density
        work = max(worst * frac_a, 1.0 / support.max_speedup)
        eff = _macs(task) * mean * frac_a
        if unit.zero_handling == "gate":
            return ComputeCost(cycles=dense, dense_cycles=dense, effective_macs=_macs(task), energy_macs=eff)
        cyc = dense * work
        imb = dense * max(worst - mean, 0.0) * frac_a
        return ComputeCost(cycles=cyc, dense_cycles=dense, effective_macs=eff, energy_macs=eff, imbalance_cycles=imb)


def _expected_groups(length: int, density: float, width: int) -> float:
    """``E[ceil(X / width)]`` for ``X ~ Binomial(length, density)``: the cycles a condensed
    segment of ``length`` positions takes when its nonzeros enter ``width`` lanes at a time
    (a partly filled group still costs a whole cycle). Exact, summed over the pmf."""
    if density >= 1.0:
        return float(math.ceil(length / width))
    if density <= 0.0:
        return 0.0
    total = 0.0
    for x in range(1, length + 1):
        pmf = math.comb(length, x) * density**x * (1.0 - density) ** (length - x)
        total += pmf * math.ceil(x / width)
    return total


def _outer_product_work(unit: MatrixUnit, length: int, d_a: float, d_b: float) -> tuple[float, float]:
    """(work fraction of dense, mean useful fraction) of a condensed outer-product datapath.

    Per K step the warp-level outer product takes a ``length``-long segment of A's column (along
    M) and of B's row (along N), drops their zeros (bitmap) and multiplies the condensed vectors
    on an ``array_rows x array_cols`` MAC grid: ``ceil(nnz_A / rows) * ceil(nnz_B / cols)``
    cycles instead of ``ceil(length / rows) * ceil(length / cols)``. A and B are independent, so
    the expectation factors.
    """
    rows, cols = max(unit.array_rows, 1), max(unit.array_cols, 1)
    dense = math.ceil(length / rows) * math.ceil(length / cols)
    work = _expected_groups(length, d_a, rows) * _expected_groups(length, d_b, cols) / dense
    return work, d_a * d_b


@register_compute_model("dual_side")
class DualSideModel:
    """Dual-side sparse tensor core (Wang et al., DSTC, ISCA 2021): outer-product with both
    operands bitmap-compressed.

    With ``skip_block_length`` set (the condensing segment of the preset's ``dual_side``
    support), the mechanism of DSTC's outer-product tensor core as re-modelled in Sparseloop
    (Wu et al., MICRO 2022, Fig. 13; artifact ``fig13_dstc_setup``: a 32x32 output tile per warp,
    the 32-long A and B vectors of each K step bitmap-condensed and multiplied on an 8x16 MAC
    grid): cycles are ``dense x E[ceil(nnz_A/rows)] E[ceil(nnz_B/cols)] / (L/rows * L/cols)``, see
    :func:`_outer_product_work`. The accumulation of the partial products into the output tile
    is pipelined with the multiplies (one accumulator per MAC), so it adds no cycles.

    Without it, the busiest PE lane (binomial expected maximum over the array's lanes, per
    operand) sets the time. Either way ``max_speedup`` caps the speedup.
    """

    name = "dual_side"

    def cost(self, unit: MatrixUnit, task: GemmTask) -> ComputeCost:
        dense = _dense(unit, task)
        support = unit.supports("dual_side")
        kind, n, m = check_pattern(task.b_pattern)
        d_b = task.b_density if kind != "nm" else n / m
        d_a = task.a_density
        if d_a >= 1.0 and d_b >= 1.0:
            return ComputeCost(cycles=dense, dense_cycles=dense, effective_macs=_macs(task), energy_macs=_macs(task))
        if support is None:
            return _fallback(unit, task)
        if support.skip_block_length > 0:
            raw, useful = _outer_product_work(unit, support.skip_block_length, d_a, min(d_b, 1.0))
            mean_b = min(d_b, 1.0)
        else:
            lanes_b = max(unit.array_cols, 1)
            lanes_a = max(unit.array_rows, 1)
            depth = max(min(task.k, 32), 1)
            worst_b, mean_b = _imbalance_fraction(task, lanes_b, depth, d_b)
            worst_a = expected_max_binomial(depth, d_a, lanes_a) / depth if d_a < 1.0 else 1.0
            raw, useful = worst_a * worst_b, d_a * mean_b
        work = max(raw, 1.0 / support.max_speedup)
        eff = _macs(task) * d_a * mean_b
        if unit.zero_handling == "gate":
            return ComputeCost(cycles=dense, dense_cycles=dense, effective_macs=_macs(task), energy_macs=eff)
        return ComputeCost(
            cycles=dense * work,
            dense_cycles=dense,
            effective_macs=eff,
            energy_macs=eff,
            imbalance_cycles=dense * max(work - useful, 0.0),
        )
