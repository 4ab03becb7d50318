"""Event-driven list scheduler of tile tasks over shared resources (numba), and its naive twin.

Model.  Task ``i`` takes ``duration[i]`` cycles on one server of resource ``resource[i]``
(``-1``: no resource, a pure delay).  Resource ``r`` has ``capacity[r]`` identical servers.  A task
becomes *ready* when all its predecessors (CSR ``dep_ptr``/``dep_idx``; predecessors always have a
lower index) have finished and its ``release`` time is reached::

    ready[i] = max(release[i], max(finish[p] for p in preds(i)))

Tasks waiting for a resource are served first-come-first-served by ready time, ties broken by the
lowest task index; a task takes the server that frees earliest, is never preempted, and a server
never idles while a ready task waits for it (work conserving).  So
``start[i] = max(ready[i], earliest free server of its resource)`` and
``finish[i] = start[i] + duration[i]``.

Algorithm.  A task's ready time is known once all its predecessors are dispatched.  The scheduler
keeps those tasks in a binary heap keyed by ``(ready, index)`` and dispatches the minimum; each
resource keeps its servers' free times in a small min-heap.  This is the event loop of a
FIFO multi-server queueing network: it dispatches tasks in increasing ready time, and a task
dispatched later can never become ready earlier (its ready time is at least the finish of a
predecessor that was dispatched at or after the current time).  The one subtlety is zero-duration
work: a task made ready at time ``t`` by a zero-duration predecessor is ordered after tasks with
ready time ``t`` that were already dispatched, even if its index is lower (ties are broken among
the tasks whose ready time is known).  Cost ``O((n_tasks + n_deps) log n_tasks)``.

This is exact for the model above; how well the model matches hardware depends on the task
graph the engine builds (e.g. a DRAM channel as one server of fixed service time per tile is a
bandwidth-only model without bank conflicts or refresh).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "pipeline_cycles_closed_form",
    "pipeline_tasks",
    "schedule",
    "schedule_reference",
]

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# numba kernel
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _less(ka: float, ia: int, kb: float, ib: int) -> bool:
    return ka < kb or (ka == kb and ia < ib)


@numba.njit(cache=True, nogil=True)
def _heap_push(hk: F64, hi: I64, size: int, key: float, idx: int) -> int:
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 1
        if _less(key, idx, hk[parent], hi[parent]):
            hk[pos] = hk[parent]
            hi[pos] = hi[parent]
            pos = parent
        else:
            break
    hk[pos] = key
    hi[pos] = idx
    return size + 1


@numba.njit(cache=True, nogil=True)
def _heap_pop(hk: F64, hi: I64, size: int) -> int:
    """Remove the root; returns the new size (the caller reads hk[0], hi[0] before)."""
    size -= 1
    if size == 0:
        return 0
    key = hk[size]
    idx = hi[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and _less(hk[child + 1], hi[child + 1], hk[child], hi[child]):
            child += 1
        if _less(hk[child], hi[child], key, idx):
            hk[pos] = hk[child]
            hi[pos] = hi[child]
            pos = child
        else:
            break
    hk[pos] = key
    hi[pos] = idx
    return size


@numba.njit(cache=True, nogil=True)
def _server_replace_top(sf: F64, lo: int, size: int, value: float) -> None:
    """Replace the minimum of the min-heap sf[lo:lo+size] by value and sift down."""
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and sf[lo + child + 1] < sf[lo + child]:
            child += 1
        if sf[lo + child] < value:
            sf[lo + pos] = sf[lo + child]
            pos = child
        else:
            break
    sf[lo + pos] = value


@numba.njit(cache=True, nogil=True)
def _schedule_kernel(
    duration: F64,
    resource: I32,
    capacity: I32,
    dep_ptr: I64,
    dep_idx: I64,
    release: F64,
) -> tuple[F64, F64, F64]:
    n = duration.shape[0]
    n_res = capacity.shape[0]
    # successor CSR from the predecessor CSR
    n_pred = np.empty(n, dtype=np.int64)
    succ_cnt = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        n_pred[i] = dep_ptr[i + 1] - dep_ptr[i]
        for e in range(dep_ptr[i], dep_ptr[i + 1]):
            succ_cnt[dep_idx[e] + 1] += 1
    for i in range(n):
        succ_cnt[i + 1] += succ_cnt[i]
    succ_idx = np.empty(dep_idx.shape[0], dtype=np.int64)
    fill = succ_cnt[:-1].copy()
    for i in range(n):
        for e in range(dep_ptr[i], dep_ptr[i + 1]):
            p = dep_idx[e]
            succ_idx[fill[p]] = i
            fill[p] += 1
    # servers: one min-heap of free times per resource, stored flat
    srv_lo = np.zeros(n_res + 1, dtype=np.int64)
    for r in range(n_res):
        srv_lo[r + 1] = srv_lo[r] + capacity[r]
    srv = np.zeros(srv_lo[n_res], dtype=np.float64)
    busy = np.zeros(n_res, dtype=np.float64)
    ready = release.copy()
    start = np.empty(n, dtype=np.float64)
    finish = np.empty(n, dtype=np.float64)
    hk = np.empty(n, dtype=np.float64)
    hi = np.empty(n, dtype=np.int64)
    size = 0
    for i in range(n):
        if n_pred[i] == 0:
            size = _heap_push(hk, hi, size, ready[i], i)
    while size > 0:
        t = hk[0]
        i = hi[0]
        size = _heap_pop(hk, hi, size)
        r = resource[i]
        if r < 0:
            s = t
        else:
            lo = srv_lo[r]
            s = srv[lo]
            if s < t:
                s = t
            _server_replace_top(srv, lo, srv_lo[r + 1] - lo, s + duration[i])
            busy[r] += duration[i]
        f = s + duration[i]
        start[i] = s
        finish[i] = f
        for e in range(succ_cnt[i], succ_cnt[i + 1]):
            j = succ_idx[e]
            if f > ready[j]:
                ready[j] = f
            n_pred[j] -= 1
            if n_pred[j] == 0:
                size = _heap_push(hk, hi, size, ready[j], j)
    return start, finish, busy


def _as_inputs(
    duration: ArrayLike,
    resource: ArrayLike,
    capacity: ArrayLike,
    dep_ptr: ArrayLike,
    dep_idx: ArrayLike,
    release: ArrayLike | None,
) -> tuple[F64, I32, I32, I64, I64, F64]:
    dur = np.ascontiguousarray(duration, dtype=np.float64)
    res = np.ascontiguousarray(resource, dtype=np.int32)
    cap = np.ascontiguousarray(capacity, dtype=np.int32)
    ptr = np.ascontiguousarray(dep_ptr, dtype=np.int64)
    idx = np.ascontiguousarray(dep_idx, dtype=np.int64)
    n = dur.shape[0]
    rel = np.zeros(n, dtype=np.float64) if release is None else np.ascontiguousarray(release, dtype=np.float64)
    if dur.ndim != 1 or res.shape != (n,) or rel.shape != (n,):
        raise ValueError("duration, resource and release must be 1-D arrays of the same length")
    if ptr.shape != (n + 1,) or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != idx.shape[0]:
        raise ValueError("dep_ptr must be non-decreasing, of length n_tasks+1, from 0 to len(dep_idx)")
    if not (np.all(np.isfinite(dur)) and np.all(dur >= 0)):
        raise ValueError("durations must be finite and >= 0")
    if not np.all(np.isfinite(rel)):
        raise ValueError("release times must be finite")
    if np.any(cap < 1):
        raise ValueError("every resource needs capacity >= 1")
    if np.any(res >= cap.shape[0]) or np.any(res < -1):
        raise ValueError(f"resource ids must be -1 or in [0, {cap.shape[0]})")
    if idx.size:
        owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
        if np.any(idx < 0) or np.any(idx >= owner):
            raise ValueError("every predecessor must have a lower index than its task (topological order)")
    return dur, res, cap, ptr, idx, rel


def schedule(
    duration: ArrayLike,
    resource: ArrayLike,
    capacity: ArrayLike,
    dep_ptr: ArrayLike,
    dep_idx: ArrayLike,
    release: ArrayLike | None = None,
) -> tuple[F64, F64, F64]:
    """Schedule tasks (numba).  Returns ``(start, finish, busy)``; ``busy[r]`` = summed durations on r.

    See the module docstring for the exact semantics.  Inputs are validated and converted to the
    documented dtypes (float64 durations/releases, int32 resources/capacities, int64 CSR).
    """
    dur, res, cap, ptr, idx, rel = _as_inputs(duration, resource, capacity, dep_ptr, dep_idx, release)
    out: tuple[F64, F64, F64] = _schedule_kernel(dur, res, cap, ptr, idx, rel)
    return out


def schedule_reference(
    duration: ArrayLike,
    resource: ArrayLike,
    capacity: ArrayLike,
    dep_ptr: ArrayLike,
    dep_idx: ArrayLike,
    release: ArrayLike | None = None,
) -> tuple[F64, F64, F64]:
    """Naive O(n^2) pure-Python twin of :func:`schedule` (tests only).

    Repeatedly picks, among undispatched tasks whose predecessors are all dispatched, the one with
    the smallest ``(ready, index)`` and gives it the earliest-free server of its resource.
    """
    dur, res, cap, ptr, idx, rel = _as_inputs(duration, resource, capacity, dep_ptr, dep_idx, release)
    n = dur.shape[0]
    servers = [[0.0] * int(c) for c in cap]
    busy = [0.0] * len(servers)
    start = [math.nan] * n
    finish = [math.nan] * n
    done = [False] * n
    preds = [[int(p) for p in idx[ptr[i] : ptr[i + 1]]] for i in range(n)]
    for _ in range(n):
        best = -1
        best_ready = math.inf
        for i in range(n):
            if done[i] or not all(done[p] for p in preds[i]):
                continue
            r_i = float(rel[i])
            for p in preds[i]:
                r_i = max(r_i, finish[p])
            if best < 0 or r_i < best_ready:
                best, best_ready = i, r_i
        i = best
        r = int(res[i])
        s = best_ready
        if r >= 0:
            k = min(range(len(servers[r])), key=lambda q: servers[r][q])
            s = max(s, servers[r][k])
            servers[r][k] = s + float(dur[i])
            busy[r] += float(dur[i])
        start[i] = s
        finish[i] = s + float(dur[i])
        done[i] = True
    return np.array(start), np.array(finish), np.array(busy)


# ---------------------------------------------------------------------------------------------
# Double-buffered tile pipeline
# ---------------------------------------------------------------------------------------------


def pipeline_tasks(
    load_cycles: ArrayLike,
    compute_cycles: ArrayLike,
    store_cycles: ArrayLike,
    n_tiles: int,
    n_buffers: int = 2,
    *,
    shared_port: bool = False,
    read_resource: int = 0,
    array_resource: int = 1,
    write_resource: int = 2,
) -> dict[str, Any]:
    """Task arrays of a double-buffered tile stream on one compute array and one memory port.

    Tile ``i`` has three tasks, in this order: ``load_i`` (memory port, read channel),
    ``compute_i`` (array), ``store_i`` (memory port, write channel).  Per-tile cycles may be
    scalars (uniform tiles) or arrays of length ``n_tiles``.  Dependencies:

    * ``load_i`` after ``compute_{i - n_buffers}``: ``n_buffers`` input tile buffers, one is free
      again when the compute that read it is done (so with ``n_buffers=2`` the load of tile
      ``i+1`` overlaps the compute of tile ``i``);
    * ``compute_i`` after ``load_i``, after ``compute_{i-1}`` (in-order array) and after
      ``store_{i - n_buffers}`` (``n_buffers`` output tile buffers, free once stored);
    * ``store_i`` after ``compute_i``.

    The memory port has independent read and write channels (resources ``read_resource`` and
    ``write_resource``, as in AXI or a DMA engine with separate read/write queues).  With
    ``shared_port=True`` loads and stores share one half-duplex resource (``read_resource``); the
    scheduler handles that, but :func:`pipeline_cycles_closed_form` does not apply to it.

    Returns a dict with ``duration``, ``resource``, ``capacity``, ``dep_ptr``, ``dep_idx`` (the
    arguments of :func:`schedule`) and ``kind`` (0 load, 1 compute, 2 store); task ids are
    ``3*i + kind``.
    """
    if n_tiles < 1:
        raise ValueError(f"n_tiles must be >= 1, got {n_tiles}")
    if n_buffers < 1:
        raise ValueError(f"n_buffers must be >= 1, got {n_buffers}")
    wr = read_resource if shared_port else write_resource
    ids = {read_resource, array_resource, wr}
    if min(ids) < 0 or len(ids) != (2 if shared_port else 3):
        raise ValueError("read_resource, array_resource and write_resource must be distinct ids >= 0")
    ld = np.broadcast_to(np.asarray(load_cycles, dtype=np.float64), (n_tiles,))
    cp = np.broadcast_to(np.asarray(compute_cycles, dtype=np.float64), (n_tiles,))
    st = np.broadcast_to(np.asarray(store_cycles, dtype=np.float64), (n_tiles,))
    n = 3 * n_tiles
    duration = np.empty(n, dtype=np.float64)
    duration[0::3], duration[1::3], duration[2::3] = ld, cp, st
    resource = np.empty(n, dtype=np.int32)
    resource[0::3] = read_resource
    resource[1::3] = array_resource
    resource[2::3] = wr
    capacity = np.ones(max(ids) + 1, dtype=np.int32)
    tiles = np.arange(n_tiles, dtype=np.int64)
    has_prev = tiles >= 1
    has_buf = tiles >= n_buffers
    cnt = np.zeros(n, dtype=np.int64)
    cnt[0::3] = has_buf
    cnt[1::3] = 1 + has_prev + has_buf
    cnt[2::3] = 1
    dep_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt, out=dep_ptr[1:])
    dep_idx = np.empty(int(dep_ptr[-1]), dtype=np.int64)
    b = tiles[has_buf]
    dep_idx[dep_ptr[3 * b]] = 3 * (b - n_buffers) + 1  # load_i <- compute_{i-nb}
    c_lo = dep_ptr[3 * tiles + 1]
    dep_idx[c_lo] = 3 * tiles  # compute_i <- load_i
    pv = tiles[has_prev]
    dep_idx[c_lo[pv] + 1] = 3 * (pv - 1) + 1  # compute_i <- compute_{i-1}
    dep_idx[c_lo[b] + 2] = 3 * (b - n_buffers) + 2  # compute_i <- store_{i-nb}
    dep_idx[dep_ptr[3 * tiles + 2]] = 3 * tiles + 1  # store_i <- compute_i
    # predecessors of each task must be listed in CSR; order inside a row does not matter
    kind = np.tile(np.array([0, 1, 2], dtype=np.int8), n_tiles)
    return {
        "duration": duration,
        "resource": resource,
        "capacity": capacity,
        "dep_ptr": dep_ptr,
        "dep_idx": dep_idx,
        "kind": kind,
    }


def pipeline_cycles_closed_form(
    load_cycles: float, compute_cycles: float, store_cycles: float, n_tiles: int, n_buffers: int = 2
) -> float:
    """Makespan of :func:`pipeline_tasks` (separate read/write channels) for uniform tiles.

    ``L + C + S + (n_tiles - 1) * P`` with the steady-state period ``P = max(L, C, S)`` when
    ``n_buffers >= 2`` (double buffering hides the two smaller stages) and ``P = C + max(L, S)``
    with a single buffer (the load of tile i+1 waits for compute i, compute i+1 waits for store i).
    Exact (equal to :func:`schedule`) for uniform tiles; the first tile fills the pipeline
    (``L + C + S``) and every further tile adds one period.
    """
    if n_tiles < 1 or n_buffers < 1:
        raise ValueError("n_tiles and n_buffers must be >= 1")
    ld, cp, st = float(load_cycles), float(compute_cycles), float(store_cycles)
    period = max(ld, cp, st) if n_buffers >= 2 else cp + max(ld, st)
    return ld + cp + st + (n_tiles - 1) * period
