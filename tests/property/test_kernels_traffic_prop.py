"""The numba per-wave panel counter agrees with its naive twin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsparse.kernels import wave_panel_counts, wave_panel_counts_reference


@settings(max_examples=60, deadline=None)
@given(
    n_tiles=st.integers(1, 300),
    per_wave=st.integers(1, 40),
    n_a=st.integers(1, 20),
    n_b=st.integers(1, 20),
    seed=st.integers(0, 2**31),
)
def test_numba_equals_reference(n_tiles: int, per_wave: int, n_a: int, n_b: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_a, n_tiles)
    b = rng.integers(0, n_b, n_tiles)
    wave = np.arange(n_tiles) // per_wave
    n_waves = int(wave[-1]) + 1
    got = wave_panel_counts(a, b, wave, n_waves)
    want = wave_panel_counts_reference(a, b, wave, n_waves)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
