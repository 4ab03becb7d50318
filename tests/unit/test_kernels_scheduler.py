"""Unit tests of the list scheduler and the tile-pipeline builder."""

from __future__ import annotations

import numpy as np
import pytest

from simsparse.kernels import pipeline_cycles_closed_form, pipeline_tasks, schedule


def test_chain_and_parallel_servers() -> None:
    # tasks 0..3 on resource 0 with 2 servers, task 4 waits for all of them
    dur = [3.0, 3.0, 3.0, 1.0, 2.0]
    res = [0, 0, 0, 0, -1]
    ptr = [0, 0, 0, 0, 0, 4]
    idx = [0, 1, 2, 3]
    start, finish, busy = schedule(dur, res, [2], ptr, idx)
    np.testing.assert_array_equal(start, [0, 0, 3, 3, 6])
    np.testing.assert_array_equal(finish, [3, 3, 6, 4, 8])
    np.testing.assert_array_equal(busy, [10.0])


def test_fifo_by_ready_time_then_index() -> None:
    # task 2 is ready at 1 (release), task 1 at 2 (after task 0): 2 goes first
    dur = [2.0, 5.0, 5.0, 1.0]
    res = [-1, 0, 0, 0]
    ptr = [0, 0, 1, 1, 1]
    idx = [0]
    rel = [0.0, 0.0, 1.0, 1.0]
    start, _, _ = schedule(dur, res, [1], ptr, idx, rel)
    # tasks 2 and 3 both ready at 1 -> index 2 first; task 1 ready at 2 -> after 3
    np.testing.assert_array_equal(start, [0, 7, 1, 6])


def test_pipeline_double_buffering_overlaps_load_and_compute() -> None:
    t = pipeline_tasks(4, 10, 3, 5)
    start, finish, _ = schedule(t["duration"], t["resource"], t["capacity"], t["dep_ptr"], t["dep_idx"])
    assert start[3] == 4  # load of tile 1 runs during compute of tile 0
    assert finish.max() == 4 + 10 + 3 + 4 * 10 == pipeline_cycles_closed_form(4, 10, 3, 5)
    # single buffer: load i+1 waits for compute i
    assert pipeline_cycles_closed_form(4, 10, 3, 5, n_buffers=1) == 17 + 4 * 14


def test_pipeline_shared_port_is_no_faster() -> None:
    sep = pipeline_tasks(6, 5, 6, 20)
    sh = pipeline_tasks(6, 5, 6, 20, shared_port=True)
    f_sep = schedule(sep["duration"], sep["resource"], sep["capacity"], sep["dep_ptr"], sep["dep_idx"])[1].max()
    f_sh = schedule(sh["duration"], sh["resource"], sh["capacity"], sh["dep_ptr"], sh["dep_idx"])[1].max()
    assert f_sh >= 20 * 12  # port does L + S per tile
    assert f_sh > f_sep


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (([1.0], [0], [1], [0, 0], [], None), None),
        (([1.0, 1.0], [0, 0], [1], [0, 0, 1], [1], None), "lower index"),
        (([-1.0], [0], [1], [0, 0], [], None), ">= 0"),
        (([1.0], [3], [1], [0, 0], [], None), "resource ids"),
        (([1.0], [0], [0], [0, 0], [], None), "capacity"),
        (([1.0], [0], [1], [0, 1], [], None), "dep_ptr"),
    ],
)
def test_input_validation(args: tuple[object, ...], msg: str | None) -> None:
    if msg is None:
        schedule(*args)  # type: ignore[arg-type]
        return
    with pytest.raises(ValueError, match=msg):
        schedule(*args)  # type: ignore[arg-type]


def test_empty_schedule() -> None:
    start, finish, busy = schedule(np.zeros(0), np.zeros(0, dtype=np.int32), [1], [0], [])
    assert start.shape == finish.shape == (0,)
    np.testing.assert_array_equal(busy, [0.0])
