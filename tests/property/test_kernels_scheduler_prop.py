"""The numba scheduler agrees exactly with its naive twin; schedules obey the documented rules."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsparse.kernels import pipeline_cycles_closed_form, pipeline_tasks, schedule, schedule_reference


@st.composite
def dags(draw: st.DrawFn, positive: bool = False) -> dict[str, Any]:
    n = draw(st.integers(1, 40))
    n_res = draw(st.integers(1, 4))
    capacity = np.array(draw(st.lists(st.integers(1, 3), min_size=n_res, max_size=n_res)), dtype=np.int32)
    lo = 1 if positive else 0
    # integer-valued durations make ties (the interesting case) frequent
    duration = np.array(draw(st.lists(st.integers(lo, 6), min_size=n, max_size=n)), dtype=np.float64)
    resource = np.array(draw(st.lists(st.integers(-1, n_res - 1), min_size=n, max_size=n)), dtype=np.int32)
    release = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), dtype=np.float64)
    ptr = [0]
    idx: list[int] = []
    for i in range(n):
        preds = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i > 0 else set()
        idx.extend(sorted(preds))
        ptr.append(len(idx))
    return {
        "duration": duration,
        "resource": resource,
        "capacity": capacity,
        "dep_ptr": np.array(ptr, dtype=np.int64),
        "dep_idx": np.array(idx, dtype=np.int64),
        "release": release,
    }


@settings(max_examples=150, deadline=None)
@given(dag=dags())
def test_numba_scheduler_equals_reference(dag: dict[str, Any]) -> None:
    s1, f1, b1 = schedule(**dag)
    s2, f2, b2 = schedule_reference(**dag)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(b1, b2)


@settings(max_examples=100, deadline=None)
@given(dag=dags(positive=True))
def test_schedule_invariants(dag: dict[str, Any]) -> None:
    start, finish, busy = schedule(**dag)
    dur, res, cap = dag["duration"], dag["resource"], dag["capacity"]
    ptr, idx, rel = dag["dep_ptr"], dag["dep_idx"], dag["release"]
    n = dur.shape[0]
    np.testing.assert_array_equal(finish, start + dur)
    ready = rel.copy()
    for i in range(n):
        for p in idx[ptr[i] : ptr[i + 1]]:
            ready[i] = max(ready[i], finish[p])
    assert np.all(start >= ready)
    assert np.all(start[res < 0] == ready[res < 0])  # pure delays never wait
    for r in range(cap.shape[0]):
        on = np.nonzero(res == r)[0]
        assert busy[r] == dur[on].sum()

        def running(t: float, on: np.ndarray = on) -> int:
            return int(np.count_nonzero((start[on] <= t) & (t < finish[on])))

        # capacity is never exceeded (check at every start instant)
        for t in start[on]:
            assert running(t) <= cap[r]
        for i in on:
            # work conserving: while i waits, every server of r is busy
            if start[i] > ready[i]:
                checkpoints = [ready[i], *finish[on][(finish[on] > ready[i]) & (finish[on] < start[i])]]
                for t in checkpoints:
                    assert running(t) == cap[r]
            # FIFO by (ready, index)
            for j in on:
                if (ready[j], j) > (ready[i], i):
                    assert start[j] >= start[i]


@settings(max_examples=150, deadline=None)
@given(
    load=st.integers(0, 20),
    compute=st.integers(0, 20),
    store=st.integers(0, 20),
    n_tiles=st.integers(1, 30),
    n_buffers=st.integers(1, 4),
)
def test_pipeline_closed_form_equals_scheduler(
    load: int, compute: int, store: int, n_tiles: int, n_buffers: int
) -> None:
    t = pipeline_tasks(load, compute, store, n_tiles, n_buffers)
    _, finish, busy = schedule(t["duration"], t["resource"], t["capacity"], t["dep_ptr"], t["dep_idx"])
    assert finish.max() == pipeline_cycles_closed_form(load, compute, store, n_tiles, n_buffers)
    assert busy[1] == compute * n_tiles


@settings(max_examples=60, deadline=None)
@given(
    cycles=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=12),
    n_buffers=st.integers(1, 3),
    shared=st.booleans(),
)
def test_pipeline_nonuniform_numba_equals_reference(
    cycles: list[tuple[int, int, int]], n_buffers: int, shared: bool
) -> None:
    ld, cp, st_ = (np.array(c, dtype=np.float64) for c in zip(*cycles, strict=True))
    t = pipeline_tasks(ld, cp, st_, len(cycles), n_buffers, shared_port=shared)
    args = (t["duration"], t["resource"], t["capacity"], t["dep_ptr"], t["dep_idx"])
    for a, b in zip(schedule(*args), schedule_reference(*args), strict=True):
        np.testing.assert_array_equal(a, b)
