"""Pipeline parallelism (issue 6): a step of M micro-batches takes (M + pp - 1) stage times."""

from __future__ import annotations

import pytest

import simsparse as ss

HW = ss.load_hardware("dgx-h100")


def _summary(pp: int, micro: int) -> dict[str, float]:
    wl = ss.load_workload("llama-3.1-70b", phase="prefill", batch=8, prompt_len=512, tp=2, pp=pp, microbatches=micro)
    return dict(ss.simulate(HW, wl).summary())


def test_gpipe_step_and_bubble() -> None:
    s = _summary(4, 4)
    stage = s["pipeline_bubble_s"] / 3
    assert s["latency_s"] - s["sync_s"] == pytest.approx(stage * (4 + 4 - 1))
    assert s["microbatches"] == 4


def test_more_micro_batches_shrink_the_bubble_share() -> None:
    shares = []
    for micro in (1, 2, 4, 8):
        s = _summary(4, micro)
        shares.append(s["pipeline_bubble_s"] / (s["latency_s"] - s["sync_s"]))
    assert shares == sorted(shares, reverse=True)
    assert shares[0] == pytest.approx(3 / 4)


def test_pipeline_of_one_stage_has_no_bubble() -> None:
    assert _summary(1, 1)["pipeline_bubble_s"] == 0.0


def test_micro_batches_must_divide_the_batch() -> None:
    with pytest.raises(ss.WorkloadError, match=r"microbatches: expected a divisor of batch \(8\), got 3"):
        ss.load_workload("llama-3.1-8b", phase="decode", batch=8, context_len=128, microbatches=3)


def test_a_model_step_ends_with_one_device_sync_and_a_layer_has_none() -> None:
    s = _summary(1, 1)
    assert s["sync_s"] == HW.device.sync_s > 0
    assert s["time_by_cause_s"]["overhead"] >= s["sync_s"]
    layer = ss.simulate(HW, ss.gemm(m=8, n=4096, k=4096, dtype="bf16")).summary()
    assert layer["sync_s"] == 0.0
