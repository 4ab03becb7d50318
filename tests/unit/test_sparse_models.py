"""Dual-side (DSTC) and flexible N:M (VEGETA) compute models: the mechanism, checked directly."""

from __future__ import annotations

import dataclasses
import math
from itertools import product

import pytest

import simsparse as ss
from simsparse.errors import ConfigError
from simsparse.hw import SparsitySupport
from simsparse.models.compute import GemmTask, compute_model
from simsparse.models.compute.models import _expected_groups, _outer_product_work


def _brute_expected_groups(length: int, density: float, width: int) -> float:
    """Enumerate every mask of ``length`` positions (small lengths only)."""
    total = 0.0
    for mask in product((0, 1), repeat=length):
        x = sum(mask)
        total += density**x * (1 - density) ** (length - x) * math.ceil(x / width)
    return total


@pytest.mark.parametrize(("length", "width"), [(8, 2), (10, 4), (12, 3)])
@pytest.mark.parametrize("density", [0.1, 0.5, 0.9])
def test_expected_groups_is_exact(length: int, width: int, density: float) -> None:
    assert _expected_groups(length, density, width) == pytest.approx(_brute_expected_groups(length, density, width))


def test_expected_groups_limits() -> None:
    assert _expected_groups(32, 1.0, 8) == 4.0
    assert _expected_groups(32, 0.0, 8) == 0.0


def _dstc_unit() -> ss.hw.MatrixUnit:
    return ss.load_hardware("dstc").device.core.matrix_unit


def test_dstc_preset_condenses_32_long_segments_on_an_8x16_grid() -> None:
    unit = _dstc_unit()
    support = unit.supports("dual_side")
    assert support is not None and support.skip_block_length == 32
    assert (unit.array_rows, unit.array_cols) == (8, 16)
    assert unit.array_rows * unit.array_cols * unit.n_arrays == unit.macs("fp16")


def _ratio(unit: ss.hw.MatrixUnit, d_a: float, d_b: float) -> float:
    model = compute_model("dual_side")
    dense = model.cost(unit, GemmTask(m=4096, n=4096, k=4096, dtype="fp16")).cycles
    pattern = "unstructured" if d_b < 1 else "dense"
    task = GemmTask(m=4096, n=4096, k=4096, dtype="fp16", a_density=d_a, b_density=d_b, b_pattern=pattern)
    return model.cost(unit, task).cycles / dense


# Wang et al. ISCA 2021 Fig. 21 (Sparseloop MICRO 2022 artifact fig13_dstc_setup/scripts/ground_truth.yaml)
@pytest.mark.parametrize(
    ("d_a", "d_b", "published"),
    [(1.0, 0.4, 2500 / 4600), (0.5, 1.0, 2690 / 4600), (0.5, 0.4, 1480 / 4600), (0.3, 0.4, 1100 / 4600)],
)
def test_dstc_datapath_ratio_matches_published(d_a: float, d_b: float, published: float) -> None:
    assert _ratio(_dstc_unit(), d_a, d_b) == pytest.approx(published, rel=0.10)


def test_dual_side_work_is_the_product_of_the_operand_group_counts() -> None:
    unit = _dstc_unit()
    work, useful = _outer_product_work(unit, 32, 0.5, 0.4)
    expected = _expected_groups(32, 0.5, 8) * _expected_groups(32, 0.4, 16) / (4 * 2)
    assert work == pytest.approx(expected)
    assert useful == pytest.approx(0.2)
    assert work >= useful  # partly filled groups only ever cost extra
    assert _ratio(unit, 0.5, 0.4) == pytest.approx(expected)


def test_dual_side_lower_density_never_slower() -> None:
    unit = _dstc_unit()
    densities = [0.05, 0.2, 0.4, 0.6, 0.8, 1.0]
    for d_b in densities:
        ratios = [_ratio(unit, d_a, d_b) for d_a in densities]
        assert ratios == sorted(ratios)


def test_dual_side_density_one_is_dense_and_cap_applies() -> None:
    unit = _dstc_unit()
    assert _ratio(unit, 1.0, 1.0) == 1.0
    support = unit.supports("dual_side")
    assert support is not None
    assert _ratio(unit, 0.01, 0.01) == pytest.approx(1.0 / support.max_speedup)


def test_dual_side_without_skip_block_keeps_lane_imbalance_model() -> None:
    unit = _dstc_unit()
    plain = tuple(dataclasses.replace(s, skip_block_length=0) for s in unit.sparsity)
    old = dataclasses.replace(unit, sparsity=plain)
    assert _ratio(old, 0.5, 0.4) != pytest.approx(_ratio(unit, 0.5, 0.4))
    assert 0.2 <= _ratio(old, 0.5, 0.4) <= 1.0


def test_dual_side_gating_saves_no_cycles() -> None:
    unit = dataclasses.replace(_dstc_unit(), zero_handling="gate")
    assert _ratio(unit, 0.5, 0.4) == 1.0


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_skip_block_length_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError):
        SparsitySupport(pattern="dual_side", metadata_bits_per_value=1, max_speedup=2.0, skip_block_length=bad)  # type: ignore[arg-type]


def test_skip_block_length_defaults_to_zero() -> None:
    assert SparsitySupport(pattern="2:4", metadata_bits_per_value=2, max_speedup=2.0).skip_block_length == 0


@pytest.mark.parametrize(("pattern", "speedup"), [("4:4", 1.0), ("2:4", 2.0), ("1:4", 4.0)])
def test_vegeta_consumes_k_at_n_over_m(pattern: str, speedup: float) -> None:
    unit = ss.load_hardware("vegeta").device.core.matrix_unit
    model = compute_model("flexible_nm")
    n, m = (int(x) for x in pattern.split(":"))
    dense = model.cost(unit, GemmTask(m=4096, n=4096, k=4096, dtype="bf16")).cycles
    sparse = model.cost(unit, GemmTask(m=4096, n=4096, k=4096, dtype="bf16", b_pattern=pattern, b_density=n / m))
    assert dense / sparse.cycles == pytest.approx(speedup, rel=1e-3)
