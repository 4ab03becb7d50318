"""Published sparse-accelerator results (issue 4), reproduced with their stated tolerance.

DSTC (Wang et al., ISCA 2021, Fig. 21, as re-modelled in Sparseloop, MICRO 2022, Fig. 13):
4096^3 GEMM latency normalized to dense, for (A density, B density). VEGETA (Jeong et al.,
HPCA 2023): speedup of its sparse engine over its dense engine per N:M pattern.
Where the current model misses the target the test is a strict xfail carrying the measured
number: the bound itself is never loosened.
"""

from __future__ import annotations

import pytest

import simsparse as ss
from simsparse.workload.op import Op


class _W:
    def __init__(self, op: Op) -> None:
        self.ops = (op,)
        self.name = "gemm"


def _latency(preset: str, dtype: str, **kw: object) -> float:
    op = Op(
        name="g", kind="gemm", m=4096, n=4096, k=4096, dtype=dtype, a_dtype=dtype, b_dtype=dtype, c_dtype=dtype, **kw
    )  # type: ignore[arg-type]
    return float(ss.simulate(ss.load_hardware(preset), _W(op)).summary()["latency_s"])


DSTC = [((1.0, 0.4), 0.543), ((0.5, 1.0), 0.585), ((0.5, 0.4), 0.322), ((0.3, 0.4), 0.239)]


def _dstc_ratio(da: float, db: float) -> float:
    dense = _latency("dstc", "fp16")
    sparse = _latency("dstc", "fp16", a_density=da, b_density=db, b_pattern="unstructured" if db < 1 else "dense")
    return sparse / dense


@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-11-28: DSTC ratios 0.639/0.893/0.636/0.635 vs 0.543/0.585/0.322/0.239 "
    "(the dual-side model's per-lane binomial imbalance and the L2-bound memory stream dominate; issue 4)",
)
def test_dstc_normalized_latency_within_10_percent() -> None:
    errors = {pair: _dstc_ratio(*pair) / target - 1 for pair, target in DSTC}
    assert all(abs(e) <= 0.10 for e in errors.values()), errors


VEGETA = [("4:4", 1.09), ("2:4", 2.20), ("1:4", 3.74)]


@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-11-28: VEGETA speedups 1.00/1.00/1.01 vs 1.09/2.20/3.74: the vegeta preset's DRAM "
    "stream bounds a 4096^3 GEMM, hiding the N:M compute saving (issue 4)",
)
def test_vegeta_speedups_within_10_percent() -> None:
    dense = _latency("vegeta", "bf16")
    errors = {}
    for pattern, target in VEGETA:
        n, m = (int(x) for x in pattern.split(":"))
        speed = dense / _latency("vegeta", "bf16", b_pattern=pattern, b_density=n / m)
        errors[pattern] = speed / target - 1
    assert all(abs(e) <= 0.10 for e in errors.values()), errors
