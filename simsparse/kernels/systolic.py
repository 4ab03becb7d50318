"""Cycle counts of one systolic array running a GEMM: a per-cycle reference and a closed form.

GEMM convention (SCALE-Sim's ``Layer, M, N, K`` topology row): ``C[m, n] = A[m, k] @ B[k, n]``
with the *ifmap* (input / activation) ``A`` of shape ``M x K``, the *filter* (weight) ``B`` of
shape ``K x N`` and the *ofmap* (output) ``C`` of shape ``M x N``.  The PE grid has ``rows x cols``
processing elements.

How SCALE-Sim v3.0.0 maps a GEMM onto the array (``scalesim/compute/systolic_compute_{os,ws,is}.py``),
with ``Sr`` the operand dimension spread over the array rows, ``Sc`` the one spread over the
columns and ``T`` the one streamed through time:

========  =============  ============  ==========  ======================================
dataflow  Sr (rows)      Sc (cols)     T (time)    cycles per fold
========  =============  ============  ==========  ======================================
``os``    M (ofmap rows) N (filters)   K           ``T + rows + cols - 2``
``ws``    K              N (filters)   M           ``2*rows + cols + T - 2``
``is``    K              M             N           ``2*rows + cols + T - 2``
========  =============  ============  ==========  ======================================

* **Folds.** ``ceil(Sr / rows) * ceil(Sc / cols)`` folds run one after the other with no overlap
  (SCALE-Sim lets the outputs of a fold drain before the next fold starts).  An under-filled
  fold (at the edge of the operand) is padded with null operands, so it costs the same cycles
  as a full fold.  In ``ws``/``is`` the K folds produce partial sums that are written out and
  added outside the array (SCALE-Sim counts them as ofmap writes).
* **Per fold.** ``os``: operands enter skewed from the left and top edges; PE ``(i, j)`` does its
  last MAC in cycle ``T - 1 + i + j`` and the last PE finishes in cycle ``T + rows + cols - 3``.
  ``ws``/``is``: ``rows`` cycles to shift the stationary operand in from the top edge, then the
  streamed operand enters skewed from the left, partial sums flow down and leave at the bottom
  edge; the last output leaves in cycle ``2*rows + T + cols - 3`` of the fold.
* **Total.** SCALE-Sim's *compute cycles* ("Total Cycles" in ``COMPUTE_REPORT.csv``, CALC /
  stall-free bandwidth mode) is the 0-based index of the cycle in which the last output is
  written, i.e. ``folds * cycles_per_fold - 1`` (one less than the number of elapsed cycles).
  It does not depend on the SRAM sizes in CALC mode (no stalls).
* **Layer-wise N:M sparsity** (``SparsitySupport: true``, ``OptimizedMapping: false``, topology
  column ``N:M``): SCALE-Sim multiplies the filter by a fixed pattern that keeps the *first* N of
  every M consecutive K indices (``k % M < N``), compresses the filter along K and drops the
  matching ifmap columns.  The compressed reduction length is
  ``K' = (K // M) * N + min(K % M, N)`` (a tail block keeps at most ``min(K % M, N)`` rows;
  all-zero trailing rows are stripped).  The compression happens on the operand matrices, so it
  applies to **all three dataflows** (K is ``Sr`` in ``ws``/``is`` and ``T`` in ``os``); this was
  checked by running SCALE-Sim 3.0.0 with ``os`` and ``is`` under 2:4 and 1:4 (golden rows in
  ``tests/golden/scalesim_cycles.csv``).  simsparse does the same: ``K`` is replaced by ``K'``
  for every dataflow.  SCALE-Sim's row-wise (``OptimizedMapping: true``, random N per column)
  mode is not modelled here.

Approximations (inherited from SCALE-Sim, deliberately, since these are the numbers we are
tested against): no overlap between folds (a real array can preload the next stationary tile
while draining), full-array cost for under-filled folds, and no memory stalls (ideal DRAM).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

DATAFLOWS: Final = ("os", "ws", "is")
_DF_CODE: Final = {"os": 0, "ws": 1, "is": 2}

__all__ = [
    "DATAFLOWS",
    "closed_form_cycles",
    "closed_form_cycles_array",
    "compressed_k",
    "cycle_reference",
    "simulate_array",
]


def _check_nm(sparse_n: int, sparse_m: int) -> None:
    if sparse_n == 0 and sparse_m == 0:
        return
    if not (1 <= sparse_n <= sparse_m):
        raise ValueError(f"N:M sparsity needs 1 <= N <= M (or N = M = 0 for dense), got {sparse_n}:{sparse_m}")


def _check_shape(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> None:
    if dataflow not in _DF_CODE:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    for name, v in (("m", m), ("n", n), ("k", k), ("rows", rows), ("cols", cols)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")


def compressed_k(k: int, sparse_n: int = 0, sparse_m: int = 0) -> int:
    """Reduction length after SCALE-Sim's layer-wise N:M compression along K.

    Keeps K indices with ``k % M < N``: ``(K // M) * N + min(K % M, N)``.  Dense when
    ``sparse_n == sparse_m == 0``.
    """
    _check_nm(sparse_n, sparse_m)
    if sparse_m == 0:
        return int(k)
    return (int(k) // sparse_m) * sparse_n + min(int(k) % sparse_m, sparse_n)


def _mapping(m: int, n: int, k_eff: int, dataflow: str) -> tuple[int, int, int]:
    """(Sr, Sc, T) of SCALE-Sim's mapping; see the module docstring."""
    if dataflow == "os":
        return m, n, k_eff
    if dataflow == "ws":
        return k_eff, n, m
    return k_eff, m, n


def closed_form_cycles(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, sparse_n: int = 0, sparse_m: int = 0
) -> int:
    """SCALE-Sim v3.0.0 compute cycles of ``C[m,n] = A[m,k] @ B[k,n]`` on a ``rows x cols`` array.

    Exact (equal to SCALE-Sim's "Total Cycles" in CALC mode, see ``tests/golden``) for dense GEMMs
    on all three dataflows and for layer-wise N:M sparsity (K compressed to
    :func:`compressed_k`).  ``folds * per_fold - 1`` with the mapping of the module docstring.
    """
    _check_shape(m, n, k, rows, cols, dataflow)
    k_eff = compressed_k(k, sparse_n, sparse_m)
    sr, sc, t = _mapping(m, n, k_eff, dataflow)
    folds = math.ceil(sr / rows) * math.ceil(sc / cols)
    per_fold = t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2
    return folds * per_fold - 1


def closed_form_cycles_array(
    m: ArrayLike,
    n: ArrayLike,
    k: ArrayLike,
    rows: ArrayLike,
    cols: ArrayLike,
    dataflow: ArrayLike,
    sparse_n: ArrayLike = 0,
    sparse_m: ArrayLike = 0,
) -> NDArray[np.int64]:
    """Vectorized :func:`closed_form_cycles`; all arguments broadcast (dataflow: str or array of str)."""
    df = np.asarray(dataflow)
    if df.dtype.kind in "US":
        unknown = set(np.unique(df).tolist()) - set(DATAFLOWS)
        if unknown:
            raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {sorted(unknown)}")
        code = np.select([df == "os", df == "ws"], [0, 1], 2).astype(np.int64)
    else:
        code = df.astype(np.int64)
        if np.any((code < 0) | (code > 2)):
            raise ValueError("integer dataflow codes must be 0 (os), 1 (ws) or 2 (is)")
    m_, n_, k_, r_, c_, code, sn, sm = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.int64) for x in (m, n, k, rows, cols)),
        code,
        np.asarray(sparse_n, dtype=np.int64),
        np.asarray(sparse_m, dtype=np.int64),
    )
    if np.any((m_ < 1) | (n_ < 1) | (k_ < 1) | (r_ < 1) | (c_ < 1)):
        raise ValueError("m, n, k, rows, cols must all be >= 1")
    dense = (sn == 0) & (sm == 0)
    if np.any(~dense & ~((sn >= 1) & (sn <= sm))):
        raise ValueError("N:M sparsity needs 1 <= N <= M (or N = M = 0 for dense)")
    sm_safe = np.where(dense, 1, sm)
    k_eff = np.where(dense, k_, (k_ // sm_safe) * sn + np.minimum(k_ % sm_safe, sn))
    sr = np.where(code == 0, m_, k_eff)
    sc = np.where(code == 2, m_, n_)
    t = np.select([code == 0, code == 1], [k_eff, m_], n_)
    folds = (-(-sr // r_)) * (-(-sc // c_))
    per_fold = np.where(code == 0, t + r_ + c_ - 2, 2 * r_ + c_ + t - 2)
    out: NDArray[np.int64] = (folds * per_fold - 1).astype(np.int64)
    return out


# ---------------------------------------------------------------------------------------------
# Per-cycle reference
# ---------------------------------------------------------------------------------------------


def _fold_output_stationary(x: NDArray[np.int64], y: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
    """One OS fold: ``x`` (rows x T) enters from the left edge, ``y`` (T x cols) from the top.

    Every cycle the A registers shift one PE right, the B registers one PE down and each PE
    multiplies the pair it holds into its accumulator.  Every operand carries a tag (its K
    index and a valid bit) so the PE checks it pairs matching K indices.  A PE that has done its
    T-th MAC writes its accumulator on its column's output bus in that same cycle (at most one
    writer per column per cycle is asserted).  Returns (0-based cycle of the last write, outputs).
    """
    rows, t_len = x.shape
    cols = y.shape[1]
    a_val = np.zeros((rows, cols), dtype=np.int64)
    b_val = np.zeros((rows, cols), dtype=np.int64)
    a_tag = np.full((rows, cols), -1, dtype=np.int64)
    b_tag = np.full((rows, cols), -1, dtype=np.int64)
    acc = np.zeros((rows, cols), dtype=np.int64)
    n_mac = np.zeros((rows, cols), dtype=np.int64)
    out = np.zeros((rows, cols), dtype=np.int64)
    written = np.zeros((rows, cols), dtype=bool)
    ii = np.arange(rows)
    jj = np.arange(cols)
    last_write = -1
    cycle = 0
    while not written.all():
        # shift: A right, B down (values and tags travel together)
        a_val[:, 1:] = a_val[:, :-1].copy()
        a_tag[:, 1:] = a_tag[:, :-1].copy()
        b_val[1:, :] = b_val[:-1, :].copy()
        b_tag[1:, :] = b_tag[:-1, :].copy()
        # skewed injection: row i gets x[i, cycle - i], column j gets y[cycle - j, j]
        ka = cycle - ii
        ok = (ka >= 0) & (ka < t_len)
        a_val[:, 0] = np.where(ok, x[ii, np.clip(ka, 0, t_len - 1)], 0)
        a_tag[:, 0] = np.where(ok, ka, -1)
        kb = cycle - jj
        ok = (kb >= 0) & (kb < t_len)
        b_val[0, :] = np.where(ok, y[np.clip(kb, 0, t_len - 1), jj], 0)
        b_tag[0, :] = np.where(ok, kb, -1)
        live = a_tag >= 0
        if not np.array_equal(live, b_tag >= 0) or not np.array_equal(a_tag[live], b_tag[live]):
            raise RuntimeError("OS reference: operands with different K indices met in a PE")
        acc += np.where(live, a_val * b_val, 0)
        n_mac += live
        done = (n_mac == t_len) & ~written
        if done.any():
            if (done.sum(axis=0) > 1).any():
                raise RuntimeError("OS reference: two PEs of one column wrote in the same cycle")
            out[done] = acc[done]
            written |= done
            last_write = cycle
        cycle += 1
    return last_write, out


def _fold_stationary(x: NDArray[np.int64], s: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
    """One WS/IS fold: ``s`` (rows x cols) is stationary, ``x`` (T x rows) is streamed.

    Cycles ``0 .. rows-1``: the stationary tile is shifted in from the top edge, one row per
    cycle (bottom row first).  From cycle ``rows`` on, row ``i`` of the array receives
    ``x[t, i]`` in cycle ``rows + t + i`` (skew); the streamed registers shift one PE right per
    cycle and the partial-sum registers one PE down, each PE adding its product.  The bottom PE
    of column ``j`` emits output ``t`` (``sum_i x[t, i] * s[i, j]``) in cycle
    ``rows + t + rows - 1 + j``, which is when it leaves the array.  Returns (0-based cycle of
    the last output, outputs of shape T x cols).
    """
    t_len, rows = x.shape
    cols = s.shape[1]
    w = np.zeros((rows, cols), dtype=np.int64)
    cycle = 0
    for c in range(rows):  # weight preload: shift down, inject row rows-1-c at the top
        w[1:, :] = w[:-1, :].copy()
        w[0, :] = s[rows - 1 - c, :]
        cycle += 1
    if not np.array_equal(w, s):
        raise RuntimeError("stationary preload did not place the tile")
    x_val = np.zeros((rows, cols), dtype=np.int64)
    x_tag = np.full((rows, cols), -1, dtype=np.int64)
    p_val = np.zeros((rows, cols), dtype=np.int64)
    p_tag = np.full((rows, cols), -1, dtype=np.int64)
    out = np.zeros((t_len, cols), dtype=np.int64)
    got = np.zeros((t_len, cols), dtype=bool)
    ii = np.arange(rows)
    last_out = -1
    s_rel = 0
    while not got.all():
        x_val[:, 1:] = x_val[:, :-1].copy()
        x_tag[:, 1:] = x_tag[:, :-1].copy()
        tt = s_rel - ii
        ok = (tt >= 0) & (tt < t_len)
        x_val[:, 0] = np.where(ok, x[np.clip(tt, 0, t_len - 1), ii], 0)
        x_tag[:, 0] = np.where(ok, tt, -1)
        # partial sums: PE (i, j) adds its product to the sum arriving from PE (i-1, j)
        prev_val = np.vstack([np.zeros((1, cols), dtype=np.int64), p_val[:-1, :]])
        prev_tag = np.vstack([x_tag[:1, :], p_tag[:-1, :]])  # row 0 starts a new sum
        live = x_tag >= 0
        if not np.array_equal(live, prev_tag >= 0) or not np.array_equal(x_tag[live], prev_tag[live]):
            raise RuntimeError("stationary reference: a partial sum met the wrong input")
        p_val = np.where(live, prev_val + x_val * w, 0)
        p_tag = np.where(live, x_tag, -1)
        bottom = p_tag[rows - 1, :] >= 0
        if bottom.any():
            jj = np.nonzero(bottom)[0]
            tix = p_tag[rows - 1, jj]
            out[tix, jj] = p_val[rows - 1, jj]
            got[tix, jj] = True
            last_out = cycle
        cycle += 1
        s_rel += 1
    return last_out, out


def _nm_keep(k: int, sparse_n: int, sparse_m: int) -> NDArray[np.intp]:
    kk = np.arange(k)
    if sparse_m == 0:
        return kk
    return kk[(kk % sparse_m) < sparse_n]


def simulate_array(
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    rows: int,
    cols: int,
    dataflow: str,
    sparse_n: int = 0,
    sparse_m: int = 0,
) -> tuple[int, NDArray[np.int64]]:
    """Run ``a @ b`` through a per-cycle model of one ``rows x cols`` systolic array.

    Returns ``(cycles, c)``: ``cycles`` in SCALE-Sim's convention (0-based cycle index of the last
    output write, folds run back to back) and the product assembled from the values that left
    the array.  Under N:M the filter ``b`` is pruned with SCALE-Sim's fixed pattern (keep K indices
    with ``k % M < N``) and both operands are compressed along K, so ``c == a @ b_pruned``.
    Small shapes only (pure Python/NumPy, one NumPy step per cycle).
    """
    _check_shape(a.shape[0], b.shape[1], a.shape[1], rows, cols, dataflow)
    _check_nm(sparse_n, sparse_m)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    keep = _nm_keep(a.shape[1], sparse_n, sparse_m)
    ac = np.ascontiguousarray(a[:, keep], dtype=np.int64)
    bc = np.ascontiguousarray(b[keep, :], dtype=np.int64)
    m, k_eff = ac.shape
    n = bc.shape[1]
    c = np.zeros((m, n), dtype=np.int64)
    clock = 0  # global cycle at which the current fold starts
    last = -1
    if dataflow == "os":
        for c0 in range(0, n, cols):
            for r0 in range(0, m, rows):
                x = np.zeros((rows, k_eff), dtype=np.int64)
                y = np.zeros((k_eff, cols), dtype=np.int64)
                x[: min(rows, m - r0), :] = ac[r0 : r0 + rows, :]
                y[:, : min(cols, n - c0)] = bc[:, c0 : c0 + cols]
                rel, out = _fold_output_stationary(x, y)
                c[r0 : r0 + rows, c0 : c0 + cols] = out[: min(rows, m - r0), : min(cols, n - c0)]
                last = clock + rel
                clock = last + 1
        return last, c
    # ws: stationary filter tile (K x N), streamed ifmap rows (M); is: stationary ifmap^T tile
    # (K x M), streamed filter columns (N).  Outer loop over the column folds, as in SCALE-Sim.
    stat = bc if dataflow == "ws" else np.ascontiguousarray(ac.T)  # K' x Sc
    strm = ac if dataflow == "ws" else np.ascontiguousarray(bc.T)  # T x K'
    sc = stat.shape[1]
    acc = np.zeros((strm.shape[0], sc), dtype=np.int64)
    for c0 in range(0, sc, cols):
        for k0 in range(0, k_eff, rows):
            s_tile = np.zeros((rows, cols), dtype=np.int64)
            kr = min(rows, k_eff - k0)
            cc = min(cols, sc - c0)
            s_tile[:kr, :cc] = stat[k0 : k0 + kr, c0 : c0 + cc]
            x = np.zeros((strm.shape[0], rows), dtype=np.int64)
            x[:, :kr] = strm[:, k0 : k0 + kr]
            rel, out = _fold_stationary(x, s_tile)
            acc[:, c0 : c0 + cc] += out[:, :cc]  # partial sums of K folds added outside the array
            last = clock + rel
            clock = last + 1
    c[:, :] = acc if dataflow == "ws" else acc.T
    return last, c


def cycle_reference(
    m: int,
    n: int,
    k: int,
    rows: int,
    cols: int,
    dataflow: str,
    sparse_n: int = 0,
    sparse_m: int = 0,
    *,
    seed: int = 0,
    verify: bool = True,
) -> int:
    """Per-cycle simulated cycle count of one GEMM on one array (SCALE-Sim conventions).

    Draws random small integer operands (``seed``), moves them through the PE grid cycle by cycle
    with :func:`simulate_array` and, if ``verify``, checks that the values that left the array
    form ``A @ B`` (with ``B`` N:M-pruned); raises ``RuntimeError`` otherwise.  For small shapes
    (e.g. m, n, k <= 64 and arrays <= 16 x 16); equals :func:`closed_form_cycles`.
    """
    _check_shape(m, n, k, rows, cols, dataflow)
    _check_nm(sparse_n, sparse_m)
    rng = np.random.default_rng(seed)
    a = rng.integers(-8, 9, size=(m, k), dtype=np.int64)
    b = rng.integers(-8, 9, size=(k, n), dtype=np.int64)
    cycles, c = simulate_array(a, b, rows, cols, dataflow, sparse_n, sparse_m)
    if verify:
        b_pruned = np.zeros_like(b)
        keep = _nm_keep(k, sparse_n, sparse_m)
        b_pruned[keep, :] = b[keep, :]
        if not np.array_equal(c, a @ b_pruned):
            raise RuntimeError("per-cycle reference produced a wrong product")
    return cycles
