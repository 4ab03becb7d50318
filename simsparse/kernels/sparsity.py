"""Sparse-mask statistics: nonzeros per block (numba) and the expected maximum of binomials.

``block_nnz`` counts the nonzeros of each ``block_rows x block_cols`` block of a boolean mask (the
last block row/column may be partial).  ``expected_max_binomial`` gives the exact expected load of
the busiest of ``n_draws`` independent lanes that each see ``Binomial(n_trials, p)`` nonzeros; the
compute models use it for PE load imbalance under unstructured sparsity (the approximation there
is the independence of lanes, not this formula).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["block_nnz", "block_nnz_reference", "expected_max_binomial"]


@numba.njit(cache=True, nogil=True)
def _block_nnz_kernel(mask: NDArray[np.bool_], block_rows: int, block_cols: int) -> NDArray[np.int64]:
    n_r, n_c = mask.shape
    out = np.zeros(((n_r + block_rows - 1) // block_rows, (n_c + block_cols - 1) // block_cols), dtype=np.int64)
    for i in range(n_r):
        bi = i // block_rows
        for j in range(n_c):
            if mask[i, j]:
                out[bi, j // block_cols] += 1
    return out


def _check(mask: NDArray[np.bool_], block_rows: int, block_cols: int) -> NDArray[np.bool_]:
    m = np.ascontiguousarray(mask, dtype=np.bool_)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {m.shape}")
    if block_rows < 1 or block_cols < 1:
        raise ValueError(f"block sizes must be >= 1, got {block_rows}x{block_cols}")
    return m


def block_nnz(mask: NDArray[np.bool_], block_rows: int, block_cols: int) -> NDArray[np.int64]:
    """Nonzeros per ``block_rows x block_cols`` block of a 2-D boolean mask (numba).

    Output shape ``(ceil(R / block_rows), ceil(C / block_cols))``; edge blocks may be partial.
    """
    m = _check(mask, block_rows, block_cols)
    out: NDArray[np.int64] = _block_nnz_kernel(m, int(block_rows), int(block_cols))
    return out


def block_nnz_reference(mask: NDArray[np.bool_], block_rows: int, block_cols: int) -> NDArray[np.int64]:
    """Naive NumPy twin of :func:`block_nnz` (tests only): sums each block slice."""
    m = _check(mask, block_rows, block_cols)
    n_r, n_c = m.shape
    out = np.zeros((-(-n_r // block_rows), -(-n_c // block_cols)), dtype=np.int64)
    for bi in range(out.shape[0]):
        for bj in range(out.shape[1]):
            blk = m[bi * block_rows : (bi + 1) * block_rows, bj * block_cols : (bj + 1) * block_cols]
            out[bi, bj] = int(blk.sum())
    return out


def expected_max_binomial(n_trials: int, p: float, n_draws: int) -> float:
    """Exact ``E[max]`` of ``n_draws`` iid ``Binomial(n_trials, p)`` variables.

    ``E[max] = sum_{x=0}^{n_trials-1} (1 - F(x)^n_draws)`` with ``F`` the binomial CDF (the tail
    sum of a non-negative integer variable); exact up to floating point (pmf from the ratio
    recurrence in log space, upper tail summed directly, no scipy needed).
    """
    if n_trials < 0 or n_draws < 1:
        raise ValueError(f"need n_trials >= 0 and n_draws >= 1, got {n_trials}, {n_draws}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if n_trials == 0 or p == 0.0:
        return 0.0
    if p == 1.0:
        return float(n_trials)
    # log pmf by the ratio recurrence pmf(x+1)/pmf(x) = (n-x)/(x+1) * p/(1-p), then the survival
    # function S(x) = P(X > x) as a reverse cumulative sum (accurate in the upper tail)
    x = np.arange(n_trials, dtype=np.float64)
    steps = np.log((n_trials - x) / (x + 1.0)) + (np.log(p) - np.log1p(-p))
    log_pmf = np.empty(n_trials + 1, dtype=np.float64)
    log_pmf[0] = n_trials * np.log1p(-p)
    np.cumsum(steps, out=log_pmf[1:])
    log_pmf[1:] += log_pmf[0]
    pmf = np.exp(log_pmf - log_pmf.max())
    pmf /= pmf.sum()
    surv = np.cumsum(pmf[::-1])[::-1][1:]  # S(x) for x = 0 .. n_trials-1
    surv = np.clip(surv, 0.0, 1.0)
    # 1 - F(x)^d = 1 - (1 - S)^d = -expm1(d * log1p(-S))
    with np.errstate(divide="ignore"):
        tail = -np.expm1(n_draws * np.log1p(-surv))
    return float(np.sum(tail))
