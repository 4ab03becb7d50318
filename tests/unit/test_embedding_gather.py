"""The embedding gather's DRAM rows (``simsparse.engine.timing.gathered_dram_rows``): the distinct rows of
ids drawn uniformly at random, plus the repeats the L2 no longer holds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsparse as ss
from simsparse.engine.timing import gathered_dram_rows, time_compute_op
from simsparse.workload.op import Op

H100 = ss.load_hardware("h100-sxm")


def test_small_cases_exactly() -> None:
    # one row: read once if the cache holds it, every time if there is no cache
    assert gathered_dram_rows(5, 1, 64.0, cache_bytes=1e6) == 1.0
    assert gathered_dram_rows(5, 1, 64.0, cache_bytes=0.0) == 5.0
    # two ids over two rows: 2 (1 - 1/4) = 1.5 distinct rows expected
    assert gathered_dram_rows(2, 2, 64.0, cache_bytes=1e6) == pytest.approx(1.5, rel=1e-12)
    assert gathered_dram_rows(2, 2, 64.0, cache_bytes=0.0) == pytest.approx(2.0, rel=1e-12)
    # the cache holds half the table: half of the 0.5 expected repeats read again
    assert gathered_dram_rows(2, 2, 64.0, cache_bytes=64.0) == pytest.approx(1.75, rel=1e-12)
    assert gathered_dram_rows(0, 10, 64.0, cache_bytes=0.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 10_000),
    k=st.integers(1, 300_000),
    row=st.sampled_from([2.0, 64.0, 8192.0]),
    cache=st.floats(0, 1e9),
)
def test_between_the_distinct_rows_and_one_per_id_and_never_more_with_more_cache(
    m: int, k: int, row: float, cache: float
) -> None:
    distinct = 1.0 if k == 1 else k * (1 - math.exp(m * math.log1p(-1 / k)))
    rows = gathered_dram_rows(m, k, row, cache)
    assert distinct * (1 - 1e-9) <= rows <= m * (1 + 1e-12)
    assert gathered_dram_rows(m, k, row, cache * 2 + 1) <= rows * (1 + 1e-12)
    assert gathered_dram_rows(m + 1, k, row, cache) >= rows * (1 - 1e-12)


def test_a_gather_from_a_table_the_l2_holds_reads_less_and_is_never_slower() -> None:
    """4096 ids over 500 rows of 8 KiB (4 MB, held by the 50 MB L2) read about 500 rows; over 256000 rows
    (2 GB) nearly one per id."""

    def emb(k: int) -> Op:
        return Op(name="emb", kind="embedding", m=4096, n=4096, k=k, dtype="fp16", b_dtype="fp16", c_dtype="fp16")

    small, big = time_compute_op(H100.device, emb(500)), time_compute_op(H100.device, emb(256_000))
    row = 4096 * 2
    assert small.level_read_bytes["hbm"] < 510 * row + 4096 * 4 + 1024
    assert big.level_read_bytes["hbm"] > 4000 * row
    assert small.cycles <= big.cycles
