"""Measured-vs-predicted accuracy targets of issues 5, 6 and 7 against the shipped public datasets.

Each test prints (in its assertion message and in the log) the MAPE per group. The bounds are the
issues' targets. Where the current engine misses a target the test is a strict xfail whose reason
carries the number measured when it was written (2026-11-28, engine at commit f4f86e6): the bound is
never loosened, and a strict xfail turns into a failure as soon as the target is met, so that the
marker gets removed. Runtime: one compare() of all 2,178 rows (~17 s on 2 cores), shared by the tests.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from simsparse.validation.report import moe_ratio_table, target_groups

log = logging.getLogger(__name__)


def table(df: pd.DataFrame, by: list[str]) -> str:
    """MAPE, median and worst absolute relative error per group, as text (also logged)."""
    g = df.assign(ape=df["rel_error"].abs()).groupby(by)["ape"]
    out = pd.DataFrame({"n": g.size(), "mape": g.mean(), "median": g.median(), "worst": g.max()})
    text = out.to_string(float_format=lambda x: f"{x:.3f}")
    log.info("\n%s", text)
    return text


def _groups(comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return target_groups(comparison)


def _mape(df: pd.DataFrame) -> float:
    return float(df["rel_error"].abs().mean())


@pytest.mark.xfail(
    strict=True,
    reason="measured GEMM MAPE 10.07% (A100 bf16 5.0%; int4_wo 21.0% and int8_wo 16.2%: single-shot TensorRT "
    "per-layer-profiler times (all 126 trt_plugin rows are whole multiples of 1.024 us, and predictions are rounded "
    "to that resolution), slower than the model by 5-12 us at N=K=4096/8192 and small M, and run as fp16 GEMMs "
    "whose A100 fp16 sustained fraction (fitted on Vidur's PyTorch rows) is 9-15% slow at M >= 2048; "
    "w8a8_sq 13.2%; "
    "LLMCompass host-timed bf16 7.0% with the 23.3 us host dispatch; H100 bf16 4.2%, fp8 6.2%, fp8_block 6.2%) "
    "vs target 10%; see issue 7",
)
def test_gemm_a100_h100_all_dtypes_mape_within_10_percent(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["gemm"]
    text = table(g, ["gpu", "dtype"])
    assert len(g) == 314
    assert _mape(g) <= 0.10, f"GEMM MAPE {_mape(g):.1%} > 10%\n{text}"


def test_vidur_per_op_mape_within_12_percent(comparison: pd.DataFrame) -> None:
    """Issue 5's per-op target. Predictions are rounded to the source's 1 us resolution; the single-kernel ops
    are timed from their kernels' launch shapes with ``device.simt`` fitted on the Llama-2-7B rows (the
    embedding's cold id loads are DRAM rounds: ``simsparse.validation.compare._aten_index_select_launch``)."""
    g = _groups(comparison)["vidur"]
    text = table(g, ["gpu", "dtype"])
    assert len(g) == 720
    assert _mape(g) <= 0.12, f"Vidur MAPE {_mape(g):.1%} > 12%\n{text}"


def test_moe_layer_mape_within_15_percent(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["moe"]
    text = table(g, ["gpu", "dtype"])
    assert len(g) == 162
    assert _mape(g) <= 0.15, f"MoE MAPE {_mape(g):.1%} > 15%\n{text}"


@pytest.mark.xfail(
    strict=True,
    reason="measured power-law/balanced ratio worst error 33.0% vs target 10%, with AIConfigurator's clamped "
    "power law (rank 0 holds all T tokens in most EP8 draws) and grouped GEMMs without split-K: TP1EP8 4096 tokens "
    "within 10%, 16384 -4..-22% (measured ratio 4.0-4.7 exceeds the 4x token ratio), 1024 -30..+13% (fp8_block "
    "-26..-30%) and 128 -10..-33% (measured grouped-GEMM time grows with rows below the weight-streaming floor); "
    "TP1EP1 and TP8EP1 within 13%; see issue 6",
)
def test_moe_power_law_over_balanced_ratio_within_10_percent(comparison: pd.DataFrame) -> None:
    r = moe_ratio_table(comparison)
    text = table(r, ["dtype", "config", "distribution"])
    assert len(r) == 108
    worst = float(r["rel_error"].abs().max())
    assert worst <= 0.10, f"worst ratio error {worst:.1%} > 10%\n{text}"


def _assert_speedups_within_0_15x(g: pd.DataFrame, label: str) -> None:
    """The 2:4 target: every predicted speedup within 0.15x of the measured one (the rows listed on failure)."""
    diff = (g["predicted"] - g["measured"]).abs()
    text = g.assign(abs_error=diff)[[label, "m", "n", "k", "measured", "predicted", "abs_error"]].to_string()
    assert float(diff.max()) <= 0.15, f"worst speedup error {float(diff.max()):.2f}x > 0.15x\n{text}"


def test_collectives_mape_within_15_percent(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["collectives"]
    text = table(g, ["gpu", "kind"])
    assert len(g) == 164
    assert _mape(g) <= 0.15, f"collectives MAPE {_mape(g):.1%} > 15%\n{text}"


@pytest.mark.xfail(
    strict=True,
    reason="measured 2:4 speedups: worst |pred - meas| 1.50x (early CUTLASS kernels slower than dense, 0.49-0.86x "
    "measured vs 1.3-2.0x predicted; cuSPARSELt 1.6x vs 2.0x) vs target 0.15x; the rows of one shape spread 0.62x "
    "(0.35x between its two cuSPARSELt rows), more than the 0.30x one prediction can cover "
    "(test_the_2of4_rows_disagree_beyond_the_target_on_one_shape); see issue 7",
)
def test_2of4_speedups_within_0_15x(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["speedup_2of4"]
    assert len(g) == 24
    _assert_speedups_within_0_15x(g, "source_id")


def test_the_2of4_rows_disagree_beyond_the_target_on_one_shape(comparison: pd.DataFrame) -> None:
    """Why the 0.15x target cannot be met on these rows by any model of the hardware: on one GEMM shape
    (768 x 3072 -> 768 at 3072 tokens, A100) the shipped rows measure 0.86x (2023-03-21 CUTLASS kernel,
    before its bias was fused), 1.09x (CUTLASS, 2023-04-07), 1.13x (cuSPARSELt 0.4.0, PR 96147) and
    1.48x (cuSPARSELt, PR 90119). A prediction within 0.15x of every row of a shape needs the rows'
    spread to be at most 0.30x; here it is 0.62x, and 0.35x between the two cuSPARSELt rows alone."""
    g = _groups(comparison)["speedup_2of4"]
    shape = g[(g["m"] == 3072) & (g["n"] == 768) & (g["k"] == 3072)]
    impl = shape["extra"].str.extract(r"impl=(\w+)")[0]
    assert sorted(impl) == ["cusparselt", "cusparselt", "cutlass", "cutlass_early"]
    assert float(shape["measured"].max() - shape["measured"].min()) > 2 * 0.15
    cusparselt = shape[impl == "cusparselt"]["measured"]
    assert float(cusparselt.max() - cusparselt.min()) > 2 * 0.15


@pytest.mark.xfail(
    strict=True,
    reason="measured H200 GEMM MAPE 12.2% predicted with the H100-fitted constants of h200-sxm, nothing fitted on "
    "H200 (bf16 9.9%, fp16 12.6%, fp8 13.9%; memory-bound rows 9.1%, compute-bound 14.9%; the model is slower than "
    "the GPU by a median 9.7%: m = 256-2048 by 18-19% (tile and wave choices), m >= 4096 by 7% (cuBLAS 13 "
    "nvjet kernels beyond the H100 TensorRT rows' sustained fractions)) vs the GEMM target 10%; see issue 7",
)
def test_h200_gemm_leave_one_gpu_out_within_10_percent(comparison: pd.DataFrame) -> None:
    """Our own H200 run (scripts/gpu/torch_gemm.py: cuBLAS bf16/fp16 and fp8 _scaled_mm, CUPTI kernel
    times, L2 cleared by a read) predicted by h200-sxm, whose every fitted constant comes from H100 rows:
    the leave-one-GPU-out check of the GEMM target."""
    g = _groups(comparison)["h200_gemm"]
    text = table(g, ["dtype", "regime"])
    assert len(g) == 176
    assert _mape(g) <= 0.10, f"H200 GEMM MAPE {_mape(g):.1%} > 10%\n{text}"


@pytest.mark.xfail(
    strict=True,
    reason="measured H200 2:4 speedups (torch to_sparse_semi_structured on cuSPARSELt 0.8, CUPTI kernel times): "
    "worst |pred - meas| 1.31x, 12 of 56 within 0.15x; every 2:4 kernel that torch's cuSPARSELt path ran has a "
    "128-row tile (sm90_xmma_sparse_gemm_..._tilesize128x..., names in extra), and at m = 16-64 it takes 1.5-3.7x the "
    "dense cuBLAS time (measured 0.27-0.69x; m = 256: 0.54-1.40x) where the engine picks the best tile and "
    "predicts the saving of half the weight bytes (1.35-1.6x); at m >= 1024 worst 1.07x; see issue 7",
)
def test_h200_2of4_speedups_within_0_15x(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["h200_speedup_2of4"]
    assert len(g) == 56
    _assert_speedups_within_0_15x(g, "dtype")


def test_h200_suite_rows_are_stream_or_listed_with_a_reason(comparison: pd.DataFrame) -> None:
    """The numba suite's H200 rows: the two full-size STREAM rows are simulated (the SIMT model with the
    kernel's launch shape); every other row is listed with why it is not expressible."""
    rows = comparison[comparison["dataset"] == "simsparse_suite_h200"]
    assert len(rows) == 18
    simulated = rows[rows["expressible"].astype(bool)]
    assert sorted(simulated["extra"].str.extract(r"kernel=(\w+)")[0]) == ["stream_copy", "stream_triad"]
    listed = rows[~rows["expressible"].astype(bool)]
    assert listed["reason"].str.len().min() > 20
    assert listed["reason"].str.contains("dispatch-bound").sum() == 9  # the small size set
    assert listed["reason"].str.contains("CUDA cores").sum() == 7  # the full-size GEMM family


def test_h200_suite_stream_rows_within_25_percent(comparison: pd.DataFrame) -> None:
    """The suite's CUDA STREAM copy and triad on the H200 (128 MiB), predicted by h200-sxm's SIMT model
    with the kernel's launch shape (constants fitted on H100 rows): the issue's 25 % bound for the
    memory-bound suite kernels. Measured 2026-11-28: +1.1 % and -0.9 % (with the SIMT constants refitted after
    the embedding's cold id loads became DRAM rounds; +3.3 % and +0.7 % before)."""
    rows = _groups(comparison)["h200_suite"]
    text = table(rows, ["kind"])
    assert len(rows) == 2
    assert float(rows["rel_error"].abs().max()) <= 0.25, text


@pytest.mark.xfail(
    strict=True,
    reason="measured H200 ATen op MAPE 16.9% with the H100-fitted device.simt (residual add 10.7%: -8..-16% at "
    "1-256 tokens, +13% at 4096; PyTorch 2.11's gathers: index_select's small-index kernel up to 16 ids 18.7% "
    "(-10..-33%), the vectorized 16-byte gather from 64 ids 19.3% (-9..-16% at 64-256 tokens, +16..+39% at 4096, "
    "where 8 waves' dependent rounds are added to a bandwidth-bound 4.0 TB/s copy whose latency the waves "
    "overlap), the elementwise gather on unaligned rows 10.2%) vs the per-op bound 12%; see issue 7",
)
def test_h200_ops_leave_one_gpu_out_within_the_vidur_bound(comparison: pd.DataFrame) -> None:
    """Our own H200 run of the Vidur profiles' two ATen kernels (scripts/gpu/torch_ops.py: the embedding gather
    and the residual add, cold L2, ids drawn at random) predicted by h200-sxm's SIMT model with the
    H100-fitted ``device.simt``: the leave-one-GPU-out check of the per-op target's 12 % bound. The rows
    with an L2 left warm or other id patterns are listed, not simulated."""
    g = _groups(comparison)["h200_ops"]
    text = table(g.assign(op=g["extra"].str.extract(r"op=(\w+)")[0]), ["op", "size"])
    assert len(g) == 71
    listed = comparison[(comparison["dataset"] == "simsparse_ops_h200") & ~comparison["expressible"].astype(bool)]
    assert len(listed) == 30 and listed["reason"].str.contains("L2|ids=").all()
    assert _mape(g) <= 0.12, f"H200 op MAPE {_mape(g):.1%} > 12%\n{text}"


@pytest.mark.xfail(
    strict=True,
    reason="measured GPT-3-175B TP4 op MAPE 24.9% with the 23.3 us host dispatch per eager call (GEMMs 2-15%; "
    "decode LayerNorm -99%: the source subtracted a host-measured launch overhead yet 48 us remain for a 0.5 us "
    "kernel; decode GeLU -38% (torch.compile wrapper cost beyond an eager dispatch, not modeled); decode softmax "
    "+85% (its eager dispatch is ~14 us, not 23); prefill Q_mul_K -46%, softmax and LayerNorm -28..-29%) vs target "
    "10%; see issue 6",
)
def test_gpt3_llmcompass_ops_mape_within_10_percent(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["gpt3_llmcompass"]
    text = table(g, ["dtype", "regime"])
    assert len(g) == 24
    assert _mape(g) <= 0.10, f"GPT-3 op MAPE {_mape(g):.1%} > 10%\n{text}"


def test_torchao_decode_within_15_percent(comparison: pd.DataFrame) -> None:
    g = _groups(comparison)["torchao_decode"]
    text = table(g, ["dtype"])
    assert len(g) == 4
    worst = float(g["rel_error"].abs().max())
    assert worst <= 0.15, f"worst decode error {worst:.1%} > 15%\n{text}"


def test_every_target_group_is_populated(comparison: pd.DataFrame) -> None:
    groups = _groups(comparison)
    for name in ("gemm", "vidur", "moe", "collectives", "speedup_2of4", "gpt3_llmcompass", "torchao_decode"):
        assert len(groups[name]) > 0, name
