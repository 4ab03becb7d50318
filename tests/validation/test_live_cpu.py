"""The host-cpu system and the live CPU check (`simsparse validate --live cpu`)."""

from __future__ import annotations

import argparse
import logging
import math

import pytest

import simsparse as ss
from simsparse.hw.provenance import invalid_source_keys, uncited_fields
from simsparse.validation import run_validate_cli
from simsparse.validation.hostcpu_system import build_host_cpu_system, fit_stream_triad, live_cpu_validation

log = logging.getLogger(__name__)

MEMORY_BOUND = ("stream_copy", "stream_triad", "w4a16_gemv", "csr_spmm")


def test_host_cpu_system_cites_every_field() -> None:
    s = build_host_cpu_system(dram_gb_per_s=20.0, dram_source="measured: test figure")
    assert uncited_fields(s) == [] and invalid_source_keys(s) == []
    assert s.sources["device.memory[dram].read_gb_per_s"].startswith("measured: test figure")
    unit = s.device.core.matrix_unit
    # one SIMD FMA unit: a 1 x lanes array with the lanes along N (the twins vectorize over output columns)
    assert unit.kind == "tensor_core" and unit.array_rows == 1 and unit.array_cols >= 4
    assert s.device.dram.write_allocate  # ordinary x86 stores read the line for ownership


def test_shipped_host_cpu_preset_loads_with_sources() -> None:
    s = ss.load_hardware("host-cpu")
    assert uncited_fields(s) == [] and invalid_source_keys(s) == []
    assert "measured" in s.sources["device.memory[dram].read_gb_per_s"]


def test_stream_triad_fit_counts_the_read_for_ownership() -> None:
    # 1e6 fp32 elements: 2 reads + 1 write + 1 RFO read = 16 MB; 1010 us with a 10 us parallel region
    bw, launch, how = fit_stream_triad(1_000_000, 1010e-6, 10e-6)
    assert launch == pytest.approx(10e-6) and bw == pytest.approx(16.0) and "read for ownership" in how
    bw, _, _ = fit_stream_triad(1_000_000, 1010e-6, 10e-6, write_allocate=False)
    assert bw == pytest.approx(12.0)


def test_write_allocate_dram_costs_a_read_per_written_byte() -> None:
    import dataclasses

    from simsparse.workload.op import Op

    s = build_host_cpu_system(dram_gb_per_s=20.0, dram_source="measured: test figure")
    plain = dataclasses.replace(
        s,
        device=dataclasses.replace(
            s.device,
            memory=tuple(dataclasses.replace(m, write_allocate=False) for m in s.device.memory),
        ),
    )
    op = Op(name="copy", kind="elementwise", m=1 << 24, n=1, n_inputs=1, dtype="fp32", a_dtype="fp32", c_dtype="fp32")

    class W:
        ops = (op,)
        name = "copy"

    rfo, no_rfo = (ss.simulate(system, W()) for system in (s, plain))
    assert rfo.ops["bytes_dram"].iloc[0] == pytest.approx(3 * 4 * (1 << 24))
    assert no_rfo.ops["bytes_dram"].iloc[0] == pytest.approx(2 * 4 * (1 << 24))
    assert float(rfo.summary()["latency_s"]) > 1.4 * float(no_rfo.summary()["latency_s"])


def test_live_cpu_validation_runs_every_kernel() -> None:
    df, system = live_cpu_validation()
    assert len(df) == 9 and df["expressible"].all(), df[["kind", "reason"]]
    assert (df["predicted"] > 0).all() and (df["measured"] > 0).all()
    assert system.name == "host-cpu"
    log.info("\n%s", df[["kind", "dtype", "measured", "predicted", "rel_error", "regime"]].to_string())


# The live accuracy (target for memory-bound kernels: within 25 %) is reported by
# `simsparse validate --live cpu`, not asserted: on a shared 2-vCPU VM the timings move with load.
# Six runs on 2026-11-28 (interleaved measurement), median and range: held-out STREAM copy +6 %
# (-2..+9 %); W4A16 GEMV +14 % (+8..+26 %) and CSR SpMM -24 % (-31..-21 %), neither memory-bound on
# 2 cores (docs/validation-notes.md); held-out compute kernels gemm_fp16 -12 %, sparse24 -37 %,
# grouped -4 %, W4A16 m=16 +24 %. A bound here would be flaky either way. See issue 7.


def test_validate_cli_bad_dataset_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(dataset="sparse_2of5", live=None, report=None, json=False)
    assert run_validate_cli(args) == 2
    err = capsys.readouterr().err
    assert "dataset: expected a shipped dataset" in err and "did you mean 'sparse_2of4'" in err


def test_validate_cli_json_on_a_small_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    args = argparse.Namespace(dataset="deepgemm_h800", live=None, report=None, json=True)
    assert run_validate_cli(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["rows"] == 112 and payload["expressible"] == 28
    assert payload["not_expressible"]


def test_live_table_spread_is_the_interquartile_range_over_the_median() -> None:
    from simsparse.validation import _spread

    assert _spread({"p25_us": "9", "p75_us": "11"}, 10.0) == pytest.approx(0.2)
    assert math.isnan(_spread({"p25_us": "9"}, 10.0))
    assert math.isnan(_spread({"p25_us": "x", "p75_us": "11"}, 10.0))
