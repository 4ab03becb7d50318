"""Unit tests of the systolic closed form and the per-cycle reference."""

from __future__ import annotations

import numpy as np
import pytest

from simsparse.kernels import closed_form_cycles, closed_form_cycles_array, compressed_k, cycle_reference
from simsparse.kernels.systolic import simulate_array


@pytest.mark.parametrize(
    ("m", "n", "k", "size", "df", "want"),
    [  # SCALE-Sim v3.0.0 numbers from the peers README table
        (128, 128, 128, 32, "os", 3039),
        (128, 128, 128, 32, "ws", 3551),
        (256, 512, 256, 32, "os", 40703),
        (8, 1024, 1024, 32, "ws", 104447),
        (512, 512, 512, 128, "os", 12255),
        (512, 512, 512, 128, "ws", 14303),
        (8, 1024, 1024, 128, "os", 10223),
    ],
)
def test_known_scalesim_numbers(m: int, n: int, k: int, size: int, df: str, want: int) -> None:
    assert closed_form_cycles(m, n, k, size, size, df) == want


def test_layerwise_nm_sparsity_numbers() -> None:
    # 256^3 on 32x32 ws: dense 22 399, 2:4 11 199, 1:4 5 599 (SCALE-Sim v3.0.0)
    assert closed_form_cycles(256, 256, 256, 32, 32, "ws") == 22399
    assert closed_form_cycles(256, 256, 256, 32, 32, "ws", 2, 4) == 11199
    assert closed_form_cycles(256, 256, 256, 32, 32, "ws", 1, 4) == 5599
    assert closed_form_cycles(256, 256, 256, 32, 32, "ws", 4, 4) == 22399


def test_compressed_k_tail_block() -> None:
    assert compressed_k(66, 2, 4) == 34  # 16 full blocks + min(2, 2)
    assert compressed_k(65, 2, 4) == 33
    assert compressed_k(7, 1, 4) == 2
    assert compressed_k(7) == 7


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_simulate_array_computes_the_product(df: str) -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(-5, 6, size=(9, 7))
    b = rng.integers(-5, 6, size=(7, 11))
    cycles, c = simulate_array(a, b, 4, 3, df)
    np.testing.assert_array_equal(c, a @ b)
    assert cycles == closed_form_cycles(9, 11, 7, 4, 3, df)


def test_single_pe_single_mac() -> None:
    # os: T + R + C - 2 = 1 cycle per fold, last write in cycle 0
    assert cycle_reference(1, 1, 1, 1, 1, "os") == 0
    # ws: 1 preload cycle, then the MAC: last output in cycle 1
    assert cycle_reference(1, 1, 1, 1, 1, "ws") == 1


def test_vectorized_integer_dataflow_codes() -> None:
    got = closed_form_cycles_array(128, 128, 128, 32, 32, np.array([0, 1, 2]))
    np.testing.assert_array_equal(got, [3039, 3551, 3551])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dataflow": "xs"},
        {"m": 0},
        {"sparse_n": 3, "sparse_m": 2},
        {"sparse_n": 0, "sparse_m": 4},
    ],
)
def test_invalid_arguments(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"m": 4, "n": 4, "k": 4, "rows": 2, "cols": 2, "dataflow": "os"}
    args.update(kwargs)
    with pytest.raises(ValueError):
        closed_form_cycles(**args)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        closed_form_cycles_array(**args)  # type: ignore[arg-type]
