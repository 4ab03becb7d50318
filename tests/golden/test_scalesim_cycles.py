"""closed_form_cycles reproduces SCALE-Sim v3.0.0 compute cycles exactly (see README.md here)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from simsparse.kernels import closed_form_cycles, closed_form_cycles_array

GOLDEN = Path(__file__).with_name("scalesim_cycles.csv")


def _rows() -> list[dict[str, str]]:
    with GOLDEN.open(newline="") as f:
        return list(csv.DictReader(f))


def _nm(s: str) -> tuple[int, int]:
    if s == "dense":
        return 0, 0
    n, m = s.split(":")
    return int(n), int(m)


ROWS = _rows()


def test_golden_file_covers_the_required_cases() -> None:
    assert len(ROWS) >= 60
    assert {r["scalesim_version"] for r in ROWS} == {"3.0.0"}
    assert {(r["rows"], r["cols"]) for r in ROWS} == {("32", "32"), ("128", "128")}
    assert {r["dataflow"] for r in ROWS} == {"os", "ws", "is"}
    sparse_ws = {r["sparsity"] for r in ROWS if r["dataflow"] == "ws"}
    assert {"dense", "2:4", "1:4"} <= sparse_ws


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['m']}x{r['n']}x{r['k']}-{r['rows']}-{r['dataflow']}-{r['sparsity']}" for r in ROWS]
)
def test_closed_form_equals_scalesim(row: dict[str, str]) -> None:
    n_, m_ = _nm(row["sparsity"])
    got = closed_form_cycles(
        int(row["m"]), int(row["n"]), int(row["k"]), int(row["rows"]), int(row["cols"]), row["dataflow"], n_, m_
    )
    assert got == int(row["compute_cycles"])


def test_vectorized_closed_form_equals_scalesim() -> None:
    nm = np.array([_nm(r["sparsity"]) for r in ROWS])
    col = {k: np.array([int(r[k]) for r in ROWS]) for k in ("m", "n", "k", "rows", "cols", "compute_cycles")}
    got = closed_form_cycles_array(
        col["m"],
        col["n"],
        col["k"],
        col["rows"],
        col["cols"],
        np.array([r["dataflow"] for r in ROWS]),
        nm[:, 0],
        nm[:, 1],
    )
    np.testing.assert_array_equal(got, col["compute_cycles"])
