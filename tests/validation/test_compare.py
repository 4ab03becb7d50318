"""The row mapping of compare(): every row is simulated or listed with its reason, never dropped."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from simsparse.validation.compare import (
    HOST_TIMED_DISPATCH_US,
    RESULT_COLUMNS,
    TRT_PROFILER_RESOLUTION_US,
    VIDUR_RESOLUTION_US,
    compare,
    compare_frame,
    fit_host_timed_dispatch_us,
    gpu_preset,
)
from simsparse.validation.datasets import COLUMNS, list_datasets, load_measurements
from simsparse.validation.report import summarize


def test_no_row_is_dropped_and_each_unexpressed_row_says_why(comparison: pd.DataFrame) -> None:
    df = comparison
    assert tuple(df.columns) == RESULT_COLUMNS
    total = sum(len(load_measurements(n)) for n in list_datasets())
    assert len(df) == total
    bad = df[~df["expressible"]]
    assert (bad["reason"].str.len() > 0).all()
    assert not bad["reason"].str.startswith("simulation failed").any(), bad[
        bad["reason"].str.startswith("simulation failed")
    ]
    ok = df[df["expressible"]]
    assert ok["predicted"].notna().all() and (ok["predicted"] > 0).all()
    assert set(ok["regime"]) <= {"memory", "compute", "interconnect"}
    assert set(ok["size"]) <= {"small", "large"}
    rel = (ok["predicted"] - ok["measured"]) / ok["measured"]
    assert ((rel - ok["rel_error"]).abs() < 1e-12).all()


def test_documented_reasons(comparison: pd.DataFrame) -> None:
    df = comparison
    mi210 = df[df["gpu"] == "MI210"]
    assert len(mi210) == 44 and not mi210["expressible"].any()
    assert mi210["reason"].str.contains("no preset for MI210").all()
    computed = df[(df["dataset"] == "vidur_llama2") & (df["metric"] != "latency_us")]
    assert not computed["expressible"].any() and computed["reason"].str.contains("computed").all()
    h800 = df[df["gpu"] == "H800-SXM5"]
    assert (h800[h800["expressible"]]["preset"] == "h100-sxm").all()
    assert h800[h800["expressible"]]["note"].str.contains("H800 run on h100-sxm").all()
    sam = df[df["kind"] == "e2e_prefill"]
    assert not sam["expressible"].any()


def _multiples(values: pd.Series, step: float) -> pd.Series:
    """Whole multiples of ``step``, to the 7 significant digits the datasets keep."""
    q = values / step
    return (q - q.round()).abs() < 1e-3 + 1e-6 * q.abs()


def test_the_timer_resolutions_are_what_the_sources_values_show() -> None:
    """The evidence behind VIDUR_RESOLUTION_US and TRT_PROFILER_RESOLUTION_US: every Vidur latency is a whole or
    half microsecond (a median of 20 whole-microsecond samples), every A100 trt_plugin GEMM a multiple of
    1.024 us, and the CUDA-graph torch_flow rows beside them are not."""
    vidur = load_measurements("vidur_llama2")
    vidur = vidur[vidur["metric"] == "latency_us"]
    assert len(vidur) == 720
    assert _multiples(vidur["value"], VIDUR_RESOLUTION_US / 2).all()
    assert _multiples(vidur["value"], VIDUR_RESOLUTION_US).mean() > 0.8
    aic = load_measurements("aic_a100_h100")
    aic = aic[aic["source_id"].str.startswith("aic.a100_sxm.gemm") & (aic["metric"] == "latency_us")]
    plugin = aic["extra"].str.contains("kernel_source=trt_plugin")
    assert plugin.sum() == 126
    assert _multiples(aic[plugin]["value"], TRT_PROFILER_RESOLUTION_US).all()
    assert _multiples(aic[~plugin]["value"], TRT_PROFILER_RESOLUTION_US).mean() < 0.1


def test_predictions_are_rounded_to_the_sources_resolution_and_only_there() -> None:
    vidur = load_measurements("vidur_llama2")
    rows = vidur[(vidur["metric"] == "latency_us") & (vidur["tokens"] <= 64)].iloc[::8].reset_index(drop=True)
    rounded = compare_frame(rows)
    raw = compare_frame(rows, instrument_resolution=False)
    assert _multiples(rounded["predicted"], VIDUR_RESOLUTION_US).all()
    assert not _multiples(raw["predicted"], VIDUR_RESOLUTION_US).all()
    assert ((rounded["predicted"] - raw["predicted"]).abs() <= VIDUR_RESOLUTION_US / 2 + 1e-9).all()
    aic = load_measurements("aic_a100_h100")
    gemm = aic[aic["source_id"].str.startswith("aic.a100_sxm.gemm") & (aic["m"] <= 4)].reset_index(drop=True)
    out = compare_frame(gemm)
    plugin = out["extra"].str.contains("kernel_source=trt_plugin")
    assert _multiples(out[plugin]["predicted"], TRT_PROFILER_RESOLUTION_US).all()
    assert not _multiples(out[~plugin]["predicted"], TRT_PROFILER_RESOLUTION_US).any()


def test_tensorrt_plugin_rows_run_the_collectors_fp16_activations() -> None:
    """AIConfigurator's TensorRT collector builds fp16 layers; the torch-flow rows stay bf16."""
    from simsparse.validation.compare import TRT_PLUGIN_ACTIVATION_DTYPE, _gemm_op

    plugin = {"kernel_source": "trt_plugin_PLUGIN_V2_WeightOnlyQuantMatmul_0"}
    for dtype, weight in (("int4_wo", "int4"), ("int8_wo", "int8")):
        op = _gemm_op("g", 16, 4096, 4096, dtype, plugin)
        assert (op.dtype, op.a_dtype, op.c_dtype, op.b_dtype) == (TRT_PLUGIN_ACTIVATION_DTYPE,) * 3 + (weight,)
        flow = _gemm_op("g", 16, 4096, 4096, dtype, {"kernel_source": "torch_flow"})
        assert (flow.dtype, flow.a_dtype, flow.b_dtype) == ("bf16", "bf16", weight)
    sq = _gemm_op("g", 16, 4096, 4096, "w8a8_sq", {"kernel_source": "trt_plugin_PLUGIN_V2_SmoothQuantGemm_0"})
    assert (sq.dtype, sq.b_dtype, sq.c_dtype) == ("int8", "int8", TRT_PLUGIN_ACTIVATION_DTYPE)


def test_gpu_presets() -> None:
    assert gpu_preset("8xH100-SXM5-80GB (single node)", True)[0] == "dgx-h100"
    assert gpu_preset("A100-SXM4-80GB")[0] == "a100-sxm"
    assert gpu_preset("MI210")[0] is None


def test_a_users_csv_is_compared_like_a_shipped_dataset(tmp_path: Path) -> None:
    path = tmp_path / "my_h100.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        base = {c: "" for c in COLUMNS} | {
            "source_id": "me",
            "gpu": "H100-SXM5-80GB",
            "kind": "gemm",
            "dtype": "bf16",
            "metric": "latency_us",
            "unit": "us",
            "source_repo": "me/x",
            "license": "MIT",
        }
        w.writerow(base | {"m": "8192", "n": "8192", "k": "8192", "value": "1404.8"})
        w.writerow(base | {"gpu": "MI210", "m": "64", "n": "64", "k": "64", "value": "10"})
    df = compare(path)
    assert list(df["expressible"]) == [True, False]
    assert df["dataset"].iloc[0] == "my_h100"
    s = summarize(df)
    assert not s.empty and (s["n"] >= 1).all()


def test_summary_has_every_grouping(comparison: pd.DataFrame) -> None:
    s = summarize(comparison)
    assert {"dataset", "dataset/gpu", "dataset/gpu/kind", "dataset/kind/regime", "dataset/kind/size"} <= set(s["by"])
    assert isinstance(s, pd.DataFrame) and (s["mape"] >= 0).all()


def test_host_timed_dispatch_constant_is_its_documented_fit(comparison: pd.DataFrame) -> None:
    raw = compare_frame(load_measurements("llmcompass_a100_mi210"), host_dispatch_us=0.0)
    assert fit_host_timed_dispatch_us(raw) == HOST_TIMED_DISPATCH_US
    # host-timed rows carry it once per call; kernel-timed sources and hand-entered values do not
    ours = comparison[comparison["dataset"] == "llmcompass_a100_mi210"].set_index("line")
    raw = raw.set_index("line")
    both = ours[ours["expressible"]].merge(raw[["predicted"]], left_index=True, right_index=True, suffixes=("", "_raw"))
    added = both["predicted"] - both["predicted_raw"]
    gemm = both["kind"] == "gemm"
    assert (added[gemm] - HOST_TIMED_DISPATCH_US).abs().max() < 1e-6
    extra = both["extra"].astype(str)
    assert (added[extra.str.contains("hand_entered=1|launch_overhead_subtracted=1")].abs() < 1e-9).all()
    assert (added[extra.str.contains("count=3")] - 3 * HOST_TIMED_DISPATCH_US).abs().max() < 1e-6
    aic = comparison[(comparison["dataset"] == "aic_a100_h100") & comparison["expressible"]]
    assert not aic["stack"].astype(str).str.contains("host-timed").any()
