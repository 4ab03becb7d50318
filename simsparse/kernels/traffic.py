"""Per-wave panel reuse of a tiled GEMM (numba), and its naive twin.

Tiles run in waves; tile ``t`` of wave ``wave[t]`` needs A panel ``a_key[t]`` and B panel
``b_key[t]`` (dense integer keys). For each wave this counts the distinct A and B panels it
touches and how many of them the previous wave also touched, so the caller can charge DRAM only
for panels the shared level (L2) does not still hold. O(n_tiles) with "last wave seen" stamps.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["wave_panel_counts", "wave_panel_counts_reference"]

I64 = NDArray[np.int64]


@numba.njit(cache=True, nogil=True)
def _counts(a_key: I64, b_key: I64, wave: I64, n_waves: int, n_a: int, n_b: int) -> tuple[I64, I64, I64, I64]:
    stamp_a = np.full(n_a, -2, dtype=np.int64)
    stamp_b = np.full(n_b, -2, dtype=np.int64)
    ua = np.zeros(n_waves, dtype=np.int64)
    ub = np.zeros(n_waves, dtype=np.int64)
    ha = np.zeros(n_waves, dtype=np.int64)
    hb = np.zeros(n_waves, dtype=np.int64)
    for t in range(a_key.shape[0]):
        w = wave[t]
        ka = a_key[t]
        if stamp_a[ka] != w:
            ua[w] += 1
            if stamp_a[ka] == w - 1:
                ha[w] += 1
            stamp_a[ka] = w
        kb = b_key[t]
        if stamp_b[kb] != w:
            ub[w] += 1
            if stamp_b[kb] == w - 1:
                hb[w] += 1
            stamp_b[kb] = w
    return ua, ub, ha, hb


def wave_panel_counts(a_key: I64, b_key: I64, wave: I64, n_waves: int) -> tuple[I64, I64, I64, I64]:
    """``(unique_a, unique_b, shared_a, shared_b)`` per wave; ``wave`` must be non-decreasing."""
    a = np.ascontiguousarray(a_key, dtype=np.int64)
    b = np.ascontiguousarray(b_key, dtype=np.int64)
    w = np.ascontiguousarray(wave, dtype=np.int64)
    n_a = int(a.max()) + 1 if a.size else 1
    n_b = int(b.max()) + 1 if b.size else 1
    out: tuple[I64, I64, I64, I64] = _counts(a, b, w, int(n_waves), n_a, n_b)
    return out


def wave_panel_counts_reference(a_key: I64, b_key: I64, wave: I64, n_waves: int) -> tuple[I64, I64, I64, I64]:
    """Naive twin of :func:`wave_panel_counts` with Python sets (tests only)."""
    sets_a: list[set[int]] = [set() for _ in range(n_waves)]
    sets_b: list[set[int]] = [set() for _ in range(n_waves)]
    for ka, kb, w in zip(a_key.tolist(), b_key.tolist(), wave.tolist(), strict=True):
        sets_a[w].add(ka)
        sets_b[w].add(kb)
    ua = np.array([len(s) for s in sets_a], dtype=np.int64)
    ub = np.array([len(s) for s in sets_b], dtype=np.int64)
    ha = np.array([len(sets_a[w] & sets_a[w - 1]) if w else 0 for w in range(n_waves)], dtype=np.int64)
    hb = np.array([len(sets_b[w] & sets_b[w - 1]) if w else 0 for w in range(n_waves)], dtype=np.int64)
    return ua, ub, ha, hb
