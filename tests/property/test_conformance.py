"""Every registered compute model passes the conformance checks of ``simsparse.testing.conformance``.

Once on the reference units and shapes, then on hypothesis-drawn matrix units (any valid unit: any
patterns, ``max_speedup`` caps, skip or gate) and GEMM shapes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simsparse.hw import MatrixUnit, SparsitySupport
from simsparse.models.compute import GemmTask, compute_model, registered_compute_models
from simsparse.testing.conformance import check_compute_model
from simsparse.testing.strategies import matrix_units

MODELS = registered_compute_models()


def test_the_built_in_models_are_registered() -> None:
    assert {"dense", "structured_nm", "flexible_nm", "unstructured", "dual_side"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_model_conforms_on_reference_units(name: str) -> None:
    check_compute_model(compute_model(name))


@st.composite
def unit_and_shape(draw: st.DrawFn) -> tuple[MatrixUnit, GemmTask]:
    unit = draw(matrix_units())
    shape = GemmTask(
        m=draw(st.integers(min_value=1, max_value=300)),
        n=draw(st.integers(min_value=1, max_value=300)),
        k=draw(st.integers(min_value=1, max_value=600)),
        batch=draw(st.integers(min_value=1, max_value=3)),
        dtype=draw(st.sampled_from(sorted(unit.macs_per_cycle))),
    )
    return unit, shape


# Cases hypothesis found, kept as explicit examples so they run first, every time.
# A one-MAC GEMM on a 1x1 output-stationary array: SCALE-Sim's cycle count is the index of the last
# cycle (0 here), not a duration, so a model that uses it as a duration answers 0 cycles.
_ONE_MAC = (
    MatrixUnit(kind="systolic", array_rows=1, array_cols=1, dataflow="os", macs_per_cycle={"fp32": 1.0}),
    GemmTask(m=1, n=1, k=1, dtype="fp32"),
)
# A 2:4 datapath whose declared cap is 1.5x (say, metadata decode limits it): 2:4 weights must not run 2x.
_CAPPED_24 = (
    MatrixUnit(
        kind="tensor_core",
        array_rows=16,
        array_cols=8,
        macs_per_cycle={"bf16": 1024.0},
        compute_model="structured_nm",
        sparsity=(SparsitySupport(pattern="2:4", metadata_bits_per_value=2.0, max_speedup=1.5),),
    ),
    GemmTask(m=128, n=128, k=256),
)


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=unit_and_shape())
@example(case=_ONE_MAC)
@example(case=_CAPPED_24)
def test_model_conforms_on_any_unit(name: str, case: tuple[MatrixUnit, GemmTask]) -> None:
    unit, shape = case
    check_compute_model(compute_model(name), units=[unit], shapes=[shape])


def test_a_broken_model_fails_the_checks() -> None:
    # The checks bite: a model that ignores the unit's max_speedup cap is caught.
    class TooFast:
        name = "too_fast"

        def cost(self, unit: MatrixUnit, task: GemmTask):  # type: ignore[no-untyped-def]
            dense = compute_model("dense").cost(unit, task)
            cycles = dense.cycles * (task.b_density if task.b_pattern == "unstructured" else 1.0) / 100
            return type(dense)(
                cycles=cycles,
                dense_cycles=dense.dense_cycles,
                effective_macs=dense.effective_macs,
                energy_macs=dense.energy_macs,
            )

    with pytest.raises(AssertionError, match="below dense_cycles / max_speedup"):
        check_compute_model(TooFast())
