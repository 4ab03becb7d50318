"""Pareto fronts and sampling: properties over random tables and specs (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from simsparse.sweep import pareto, plan, sweep_from_dict

values = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=40)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a <= b).all() and (a < b).any())


@given(values, st.integers(0, 2))
@settings(max_examples=100, deadline=None)
def test_front_is_exactly_the_non_dominated_rows(rows: list[tuple[int, int, int]], n_max: int) -> None:
    df = pd.DataFrame(rows, columns=["a", "b", "c"]).astype("float64")
    minimize = ["a", "b", "c"][: 3 - n_max] if n_max < 3 else ["a"]
    maximize = ["a", "b", "c"][3 - n_max :]
    front = pareto(df, minimize=minimize, maximize=maximize)
    obj = np.column_stack([df[c] for c in minimize] + [-df[c] for c in maximize])
    on = set(front.index)
    for i in range(len(df)):
        dominated = any(dominates(obj[j], obj[i]) for j in range(len(df)))
        assert (i in on) == (not dominated)
    assert list(front.index) == sorted(front.index)


@given(st.integers(1, 30), st.integers(0, 2**31 - 1), st.sampled_from(["random", "latin_hypercube"]))
@settings(max_examples=20, deadline=None)
def test_sampled_points_stay_in_range_and_are_seeded(n: int, seed: int, method: str) -> None:
    data = {
        "name": "p",
        "hardware": "systolic-32x32",
        "fidelity": "roofline",
        "seed": seed,
        "workloads": [{"builder": "gemm", "args": {"m": 64, "n": 64, "k": 64}}],
        "axes": [
            {"path": "device.freq_ghz", "low": 0.5, "high": 2.0},
            {"path": "device.core.matrix_unit.array_rows", "low": 4, "high": 64, "log": True},
            {"path": "workload.weight_pattern", "values": ["dense", "2:4"]},
        ],
        "sampling": {"method": method, "n": n},
    }
    a = plan(sweep_from_dict(data))
    assert a.points == plan(sweep_from_dict(data)).points
    assert [p.index for p in a.points] == list(range(n))
    for p in a.points:
        f, rows, pat = p.values
        assert 0.5 <= f <= 2.0 and isinstance(rows, int) and 4 <= rows <= 64 and pat in ("dense", "2:4")
