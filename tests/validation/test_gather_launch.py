"""The launch shapes of ATen's gather kernels (``simsparse.validation.compare``), from their sources, and which
one a measured row gets: by the kernel it names, else Vidur's ``index_select``."""

from __future__ import annotations

import pytest

from simsparse.validation.compare import (
    _aten_gather_elementwise_launch,
    _aten_index_select_launch,
    _aten_vectorized_gather_launch,
    compare_frame,
)
from simsparse.validation.datasets import load_measurements

A100_SMS = 108


def test_vidur_large_index_kernel_has_two_dram_rounds_per_iteration_with_cold_ids() -> None:
    # 4096 ids x 4096 wide: grid min(131072, 8 x 108) = 864 blocks of 128 -> 110592 threads, 152 iterations
    cold = _aten_index_select_launch(4096, 4096, A100_SMS)
    assert cold == {
        "launch_ctas": 864,
        "launch_threads_per_cta": 128,
        "launch_dram_rounds": 2 * 152,
        "launch_cache_rounds": 0,
    }
    warm = _aten_index_select_launch(4096, 4096, A100_SMS, ids_cold=False)
    assert (warm["launch_dram_rounds"], warm["launch_cache_rounds"]) == (152, 152)


def test_small_index_kernel_loads_its_first_id_from_dram() -> None:
    # 8 ids: every thread loops over the 8 ids and its share of the 4096-wide row (32 blocks x 128: one each)
    cold = _aten_index_select_launch(8, 4096, A100_SMS)
    assert cold == {"launch_ctas": 32, "launch_threads_per_cta": 128, "launch_dram_rounds": 9, "launch_cache_rounds": 7}
    warm = _aten_index_select_launch(8, 4096, A100_SMS, ids_cold=False)
    assert (warm["launch_dram_rounds"], warm["launch_cache_rounds"]) == (8, 8)


def test_vectorized_gather_is_a_block_per_id_and_4_kib_of_row() -> None:
    # 8 KiB rows: 512 16-byte vectors over 2 blocks of 256 threads, one vector each
    assert _aten_vectorized_gather_launch(4096, 8192) == {
        "launch_ctas": 8192,
        "launch_threads_per_cta": 256,
        "launch_dram_rounds": 2,
        "launch_cache_rounds": 0,
    }
    assert _aten_vectorized_gather_launch(4096, 8192, ids_cold=False)["launch_cache_rounds"] == 1
    # 1 KiB rows: 64 vectors, one block of 64 threads
    assert _aten_vectorized_gather_launch(10, 1024)["launch_threads_per_cta"] == 64


def test_elementwise_gather_serializes_its_eight_elements() -> None:
    assert _aten_gather_elementwise_launch(64, 4096) == {
        "launch_ctas": 256,
        "launch_threads_per_cta": 128,
        "launch_dram_rounds": 9,
        "launch_cache_rounds": 7,
    }
    assert _aten_gather_elementwise_launch(64, 4096, ids_cold=False)["launch_dram_rounds"] == 8


def test_a_row_is_timed_as_the_kernel_it_names() -> None:
    """The H200 rows name the kernel they timed and the name picks the launch shape; a row that names none
    (Vidur's) gets the ``index_select`` kernels of Vidur's PyTorch."""
    rows = load_measurements("simsparse_ops_h200")
    one = rows[rows["extra"].str.contains("op=emb;") & rows["extra"].str.contains("vectorized_gather_kernel")]
    one = one[one["tokens"] == 4096].iloc[[0]].reset_index(drop=True)

    def predicted(kernels: str) -> float:
        row = one.assign(extra=one["extra"].str.replace(r"kernels=[^;]*", kernels, regex=True))
        res = compare_frame(row)
        assert bool(res["expressible"].iloc[0])
        return float(res["predicted"].iloc[0])

    named = {
        k: predicted("kernels=" + k)
        for k in (
            "vectorized_gather_kernel<16, long>",
            "_scatter_gather_elementwise_kernel<128, 8>",
            "indexSelectLargeIndex",
        )
    }
    assert len(set(named.values())) == 3
    assert predicted("kernels=") == pytest.approx(named["indexSelectLargeIndex"], rel=1e-12)
