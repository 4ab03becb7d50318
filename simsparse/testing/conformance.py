"""Conformance checks a compute model must pass (built-in and third-party alike).

A compute model (see :mod:`simsparse.models.compute`) answers "how many cycles does this GEMM take on one
core's matrix unit". Whatever the datapath, some answers are always wrong; these checks catch them:

* ``cycles`` and ``dense_cycles`` are finite and > 0; the MAC counts lie in ``[0, m*n*k*batch]`` and
  ``imbalance_cycles`` in ``[0, cycles]``;
* ``cycles`` is never below ``dense_cycles / max_speedup``, the largest ``max_speedup`` the unit declares
  (1 for a dense unit): a datapath is never faster than its own cap;
* density 1.0 is dense: dense weights (or ``unstructured`` weights at ``b_density=1``) with dense
  activations take exactly ``dense_cycles``;
* on a skipping unit (``zero_handling: skip``) cycles never fall as density rises: in ``b_density`` of
  unstructured weights, in ``a_density``, and in ``N`` of an ``N:M`` pattern at fixed ``M``;
* on a gating unit (``zero_handling: gate``) unstructured zeros (weights or activations) save energy,
  not cycles: such tasks take exactly ``dense_cycles``.

A case the model declines with :class:`~simsparse.errors.SimulationError` ("cannot run there", as the
protocol allows) is skipped, but the dense task must always run. Use it from a test::

    from simsparse.models.compute import compute_model
    from simsparse.testing.conformance import check_compute_model

    def test_my_model_conforms():
        check_compute_model(compute_model("my_model"))

Every check raises ``AssertionError`` with the unit, the task and the cost that broke it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

from simsparse.errors import SimulationError
from simsparse.hw import MatrixUnit, SparsitySupport
from simsparse.models.compute import ComputeCost, ComputeModel, GemmTask

__all__ = [
    "DENSITIES",
    "NM_PATTERNS",
    "check_compute_cost",
    "check_compute_model",
    "max_speedup",
    "reference_shapes",
    "reference_units",
]

#: Densities swept for unstructured weights and for activations.
DENSITIES: tuple[float, ...] = (0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
#: N:M weight patterns tried on every unit (grouped by M for the monotonicity check).
NM_PATTERNS: tuple[str, ...] = ("1:4", "2:4", "3:4", "4:4", "1:8", "2:8", "4:8", "8:8")

_REL = 1e-9


def max_speedup(unit: MatrixUnit) -> float:
    """The largest compute speedup over dense the unit declares (1.0 for a dense unit)."""
    return max((s.max_speedup for s in unit.sparsity), default=1.0)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL, abs_tol=0.0)


def _ctx(model: ComputeModel, unit: MatrixUnit, task: GemmTask, cost: ComputeCost | None = None) -> str:
    text = f"compute model {getattr(model, 'name', type(model).__name__)!r}\n  unit: {unit}\n  task: {task}"
    return text + (f"\n  cost: {cost}" if cost is not None else "")


def _cost(model: ComputeModel, unit: MatrixUnit, task: GemmTask) -> ComputeCost | None:
    """The model's cost, or None where it declines the case with SimulationError."""
    try:
        cost = model.cost(unit, task)
    except SimulationError:
        return None
    assert isinstance(cost, ComputeCost), _ctx(model, unit, task) + f"\n  returned {cost!r}, expected a ComputeCost"
    return cost


def _unstructured_only(task: GemmTask) -> bool:
    """True if the task's sparsity is only unstructured zeros (no N:M, block or dual-side format)."""
    return task.b_pattern in ("dense", "unstructured")


def check_compute_cost(model: ComputeModel, unit: MatrixUnit, task: GemmTask) -> ComputeCost | None:
    """Run ``model`` on one (unit, task) and check the single-call invariants; the cost (None if declined)."""
    cost = _cost(model, unit, task)
    if cost is None:
        return None
    where = _ctx(model, unit, task, cost)
    total = float(task.m) * task.n * task.k * task.batch
    assert math.isfinite(cost.cycles) and cost.cycles > 0, f"cycles must be finite and > 0\n{where}"
    assert math.isfinite(cost.dense_cycles) and cost.dense_cycles > 0, f"dense_cycles must be finite and > 0\n{where}"
    bound = cost.dense_cycles / max_speedup(unit)
    if unit.kind == "systolic":
        # systolic arrays count whole cycles with SCALE-Sim's last-cycle index (folds * per_fold - 1)
        bound = math.floor(bound)
    assert cost.cycles >= bound * (1 - _REL), (
        f"cycles {cost.cycles} below dense_cycles / max_speedup = {bound} (max_speedup {max_speedup(unit)})\n{where}"
    )
    for name in ("effective_macs", "energy_macs"):
        value = getattr(cost, name)
        assert 0 <= value <= total * (1 + _REL), f"{name} {value} outside [0, m*n*k*batch = {total}]\n{where}"
    assert 0 <= cost.imbalance_cycles <= cost.cycles * (1 + _REL), f"imbalance_cycles outside [0, cycles]\n{where}"
    assert cost.vector_flops >= 0, f"vector_flops must be >= 0\n{where}"
    if _unstructured_only(task) and task.b_density >= 1.0 and task.a_density >= 1.0:
        assert _close(cost.cycles, cost.dense_cycles), f"density 1.0 must take exactly dense_cycles\n{where}"
    if unit.zero_handling == "gate" and _unstructured_only(task):
        assert _close(cost.cycles, cost.dense_cycles), (
            f"a gating unit (zero_handling: gate) must keep dense cycles for unstructured zeros\n{where}"
        )
    return cost


def _check_monotone(
    model: ComputeModel, unit: MatrixUnit, tasks: Sequence[GemmTask], costs: Sequence[ComputeCost | None], what: str
) -> None:
    """Cycles never fall along ``tasks`` (ordered by rising density); declined cases are skipped."""
    prev: tuple[GemmTask, ComputeCost] | None = None
    for task, cost in zip(tasks, costs, strict=True):
        if cost is None:
            continue
        if prev is not None:
            assert cost.cycles >= prev[1].cycles * (1 - _REL), (
                f"on a skipping unit cycles must not fall as {what} rises: {prev[1].cycles} at\n"
                f"  {prev[0]}\nthen {cost.cycles} at\n{_ctx(model, unit, task, cost)}"
            )
        prev = (task, cost)


def _nm_groups() -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for pattern in NM_PATTERNS:
        m = int(pattern.split(":")[1])
        groups.setdefault(m, []).append(pattern)
    for m, patterns in groups.items():
        patterns.sort(key=lambda p: int(p.split(":")[0]))
        groups[m] = patterns
    return groups


def _check_unit_shape(model: ComputeModel, unit: MatrixUnit, base: GemmTask) -> None:
    dense = check_compute_cost(model, unit, base)
    assert dense is not None, _ctx(model, unit, base) + "\n  the dense task must run (SimulationError raised)"

    b_tasks = [dataclasses.replace(base, b_pattern="unstructured", b_density=d) for d in DENSITIES]
    a_tasks = [dataclasses.replace(base, a_density=d) for d in DENSITIES]
    b_costs = [check_compute_cost(model, unit, t) for t in b_tasks]
    a_costs = [check_compute_cost(model, unit, t) for t in a_tasks]
    nm: list[tuple[list[GemmTask], list[ComputeCost | None]]] = []
    for patterns in _nm_groups().values():
        tasks = [dataclasses.replace(base, b_pattern=p, b_density=_nm_density(p)) for p in patterns]
        nm.append((tasks, [check_compute_cost(model, unit, t) for t in tasks]))

    if unit.zero_handling == "skip":
        _check_monotone(model, unit, b_tasks, b_costs, "b_density (unstructured weights)")
        _check_monotone(model, unit, a_tasks, a_costs, "a_density")
        for tasks, costs in nm:
            _check_monotone(model, unit, tasks, costs, "N of an N:M pattern")


def _nm_density(pattern: str) -> float:
    n, m = (int(x) for x in pattern.split(":"))
    return n / m


def reference_units() -> tuple[MatrixUnit, ...]:
    """Representative matrix units: dense, structured 2:4, flexible N:M, unstructured (skip and gate), dual-side."""

    def sp(pattern: str, speedup: float) -> SparsitySupport:
        return SparsitySupport(pattern=pattern, metadata_bits_per_value=2.0, max_speedup=speedup)

    def bitmap(pattern: str, speedup: float) -> SparsitySupport:
        return SparsitySupport(
            pattern=pattern, metadata_bits_per_value=1.0, max_speedup=speedup, metadata_format="bitmap"
        )

    tc = {"bf16": 1024.0, "fp16": 1024.0, "fp8_e4m3": 2048.0, "int8": 2048.0}
    sa = {"bf16": 1024.0, "int8": 1024.0}
    return (
        MatrixUnit(kind="systolic", array_rows=32, array_cols=32, dataflow="ws", macs_per_cycle=sa),
        MatrixUnit(kind="systolic", array_rows=16, array_cols=8, n_arrays=2, dataflow="os", macs_per_cycle=sa),
        MatrixUnit(
            kind="tensor_core",
            array_rows=16,
            array_cols=8,
            n_arrays=4,
            macs_per_cycle=tc,
            compute_model="structured_nm",
            sparsity=(sp("2:4", 2.0),),
            sustained_fraction={"bf16": 0.8},
        ),
        MatrixUnit(
            kind="systolic",
            array_rows=16,
            array_cols=32,
            dataflow="os",
            macs_per_cycle={"bf16": 512.0},
            compute_model="flexible_nm",
            sparsity=(sp("1:4", 4.0), sp("2:4", 2.0), sp("row_wise", 4.0)),
        ),
        MatrixUnit(
            kind="systolic",
            array_rows=32,
            array_cols=32,
            dataflow="is",
            macs_per_cycle=sa,
            compute_model="unstructured",
            sparsity=(bitmap("unstructured", 10.0),),
        ),
        MatrixUnit(
            kind="systolic",
            array_rows=32,
            array_cols=32,
            macs_per_cycle=sa,
            compute_model="unstructured",
            sparsity=(bitmap("unstructured", 10.0),),
            zero_handling="gate",
        ),
        MatrixUnit(
            kind="tensor_core",
            array_rows=16,
            array_cols=16,
            n_arrays=4,
            macs_per_cycle=tc,
            compute_model="dual_side",
            sparsity=(bitmap("dual_side", 10.0),),
        ),
    )


def reference_shapes() -> tuple[GemmTask, ...]:
    """Dense base tasks (shape, batch, dtype bf16) the sparsity variants are derived from."""
    return (
        GemmTask(m=1, n=64, k=64),
        GemmTask(m=7, n=33, k=130),
        GemmTask(m=128, n=128, k=256, batch=2),
        GemmTask(m=512, n=1024, k=4096),
    )


def check_compute_model(
    model: ComputeModel, units: Iterable[MatrixUnit] | None = None, shapes: Iterable[GemmTask] | None = None
) -> None:
    """Assert the compute-model invariants (module docstring) on every unit x shape.

    ``units`` default to :func:`reference_units`, ``shapes`` to :func:`reference_shapes`; each shape is a
    dense base task whose ``dtype`` the units must support (bf16 in the defaults) and from which the
    unstructured, activation and N:M variants are derived.
    """
    for unit in reference_units() if units is None else units:
        for base in reference_shapes() if shapes is None else shapes:
            _check_unit_shape(model, unit, base)
