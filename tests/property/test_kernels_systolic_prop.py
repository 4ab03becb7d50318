"""The per-cycle systolic reference agrees exactly with the closed form (and the product is right)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsparse.kernels import closed_form_cycles, closed_form_cycles_array, compressed_k, cycle_reference

NM = st.sampled_from([(0, 0), (1, 4), (2, 4), (4, 4), (1, 2), (3, 8)])


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 20),
    n=st.integers(1, 20),
    k=st.integers(1, 24),
    rows=st.integers(1, 8),
    cols=st.integers(1, 8),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    nm=NM,
    seed=st.integers(0, 2**16),
)
def test_cycle_reference_equals_closed_form(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, nm: tuple[int, int], seed: int
) -> None:
    # cycle_reference raises if the values that left the array do not form A @ B_pruned
    ref = cycle_reference(m, n, k, rows, cols, dataflow, *nm, seed=seed)
    assert ref == closed_form_cycles(m, n, k, rows, cols, dataflow, *nm)


@settings(max_examples=8, deadline=None)
@given(
    m=st.integers(30, 64),
    n=st.integers(30, 64),
    k=st.integers(30, 64),
    size=st.sampled_from([(16, 16), (16, 8), (12, 16)]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    nm=st.sampled_from([(0, 0), (2, 4), (1, 4)]),
)
def test_cycle_reference_larger_shapes(
    m: int, n: int, k: int, size: tuple[int, int], dataflow: str, nm: tuple[int, int]
) -> None:
    assert cycle_reference(m, n, k, *size, dataflow, *nm) == closed_form_cycles(m, n, k, *size, dataflow, *nm)


@settings(max_examples=50, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(
            st.integers(1, 5000),
            st.integers(1, 5000),
            st.integers(1, 5000),
            st.integers(1, 256),
            st.integers(1, 256),
            st.sampled_from(["os", "ws", "is"]),
            NM,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorized_closed_form_matches_scalar(
    shapes: list[tuple[int, int, int, int, int, str, tuple[int, int]]],
) -> None:
    cols = list(zip(*shapes, strict=True))
    nm = np.array(cols[6])
    got = closed_form_cycles_array(*(np.array(c) for c in cols[:6]), nm[:, 0], nm[:, 1])
    want = [closed_form_cycles(m, n, k, r, c, df, *p) for m, n, k, r, c, df, p in shapes]
    np.testing.assert_array_equal(got, want)


@given(k=st.integers(1, 10_000), nm=st.sampled_from([(1, 4), (2, 4), (4, 4), (1, 2), (3, 8)]))
def test_compressed_k_counts_kept_indices(k: int, nm: tuple[int, int]) -> None:
    kept = int(np.count_nonzero(np.arange(k) % nm[1] < nm[0]))
    assert compressed_k(k, *nm) == kept
