"""Unit tests of block_nnz and expected_max_binomial."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simsparse.kernels import block_nnz, expected_max_binomial


def test_block_nnz_partial_edge_blocks() -> None:
    mask = np.ones((5, 7), dtype=bool)
    np.testing.assert_array_equal(block_nnz(mask, 2, 3), [[6, 6, 2], [6, 6, 2], [3, 3, 1]])


def test_block_nnz_validation() -> None:
    with pytest.raises(ValueError):
        block_nnz(np.ones(4, dtype=bool), 2, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        block_nnz(np.ones((4, 4), dtype=bool), 0, 2)


def test_expected_max_binomial_special_cases() -> None:
    assert expected_max_binomial(10, 0.3, 1) == pytest.approx(3.0, rel=1e-12)
    assert expected_max_binomial(10, 1.0, 7) == 10.0
    assert expected_max_binomial(10, 0.0, 7) == 0.0
    assert expected_max_binomial(0, 0.5, 7) == 0.0
    # max of two fair coins: P(max = 1) = 3/4
    assert expected_max_binomial(1, 0.5, 2) == pytest.approx(0.75, rel=1e-12)


def test_expected_max_binomial_monotone_and_bounded() -> None:
    vals = [expected_max_binomial(64, 0.25, d) for d in (1, 2, 4, 16, 128, 1024)]
    assert all(a < b for a, b in itertools.pairwise(vals))
    assert vals[-1] <= 64


def test_expected_max_binomial_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    draws = rng.binomial(32, 0.3, size=(200_000, 8)).max(axis=1)
    assert expected_max_binomial(32, 0.3, 8) == pytest.approx(draws.mean(), abs=0.02)


def test_expected_max_binomial_validation() -> None:
    for args in ((-1, 0.5, 2), (4, 1.5, 2), (4, 0.5, 0)):
        with pytest.raises(ValueError):
            expected_max_binomial(*args)
