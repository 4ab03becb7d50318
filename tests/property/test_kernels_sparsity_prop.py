"""block_nnz (numba) agrees with its naive twin; expected_max_binomial properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simsparse.kernels import block_nnz, block_nnz_reference, expected_max_binomial


@settings(max_examples=100, deadline=None)
@given(
    mask=arrays(np.bool_, st.tuples(st.integers(0, 30), st.integers(0, 30))),
    br=st.integers(1, 8),
    bc=st.integers(1, 8),
)
def test_block_nnz_equals_reference(mask: np.ndarray, br: int, bc: int) -> None:
    got = block_nnz(mask, br, bc)
    np.testing.assert_array_equal(got, block_nnz_reference(mask, br, bc))
    assert got.sum() == mask.sum()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), p=st.floats(0.0, 1.0), d=st.integers(1, 500))
def test_expected_max_binomial_properties(n: int, p: float, d: int) -> None:
    e1 = expected_max_binomial(n, p, 1)
    ed = expected_max_binomial(n, p, d)
    ed2 = expected_max_binomial(n, p, d + 1)
    assert abs(e1 - n * p) <= 1e-9 * max(1.0, n)
    assert e1 - 1e-9 * n <= ed <= ed2 + 1e-9 * n
    assert ed2 <= n + 1e-9 * n
