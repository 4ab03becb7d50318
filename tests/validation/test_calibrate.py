"""Calibration: documented fits of named preset fields, applied without writing presets, and
leave-one-GPU-out error beside the in-sample error."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import simsparse as ss
from simsparse.errors import SimulationError
from simsparse.hw import numeric_fields
from simsparse.validation.calibrate import (
    CALIBRATION_FIELDS,
    apply_constants,
    fit_constants,
    leave_one_gpu_out,
    refine_with_model,
)
from simsparse.validation.datasets import list_datasets, load_measurements

log = logging.getLogger(__name__)


def _all() -> pd.DataFrame:
    return pd.concat([load_measurements(n) for n in list_datasets()], ignore_index=True)


@pytest.mark.parametrize("gpu", ["A100", "H100"])
def test_fits_are_named_fields_with_a_documented_rule(gpu: str) -> None:
    fits = fit_constants(_all(), gpu)
    single = ss.load_hardware("a100-sxm" if gpu == "A100" else "h100-sxm")
    multi = ss.load_hardware("dgx-a100" if gpu == "A100" else "dgx-h100")
    paths = dict(numeric_fields(single)) | dict(numeric_fields(multi))
    assert "device.memory[hbm].sustained_fraction" in fits and "interconnect.sustained_fraction" in fits
    assert "device.kernel_launch_s" in fits and "interconnect.link_latency_ns" in fits
    assert any(p.startswith("device.core.matrix_unit.sustained_fraction.") for p in fits)
    for path, (value, how) in fits.items():
        assert path in paths or path.startswith("device.core.matrix_unit.sustained_fraction."), path
        assert any(path.startswith(f.split("<")[0]) for f in CALIBRATION_FIELDS)
        assert len(how) > 40 and "over" in how, how
        if "fraction" in path:
            assert 0.3 < value <= 1.0, (path, value)
        else:
            assert value >= 0
    # the SIMT fields ship exactly as their fit (raw values: no engine refinement applies to them)
    assert single.device.simt is not None
    assert fits["device.simt.kernel_floor_s"][0] == single.device.simt.kernel_floor_s
    assert fits["device.simt.dram_round_ns"][0] == single.device.simt.dram_round_ns
    assert "held out" in fits["device.simt.dram_round_ns"][1]
    applied = apply_constants(multi, fits)
    assert applied.interconnect.sustained_fraction == fits["interconnect.sustained_fraction"][0]
    assert applied.device.dram.sustained_fraction == fits["device.memory[hbm].sustained_fraction"][0]
    assert multi.device.dram.sustained_fraction != 0 and ss.load_hardware(multi.name) == multi  # presets untouched


def test_unknown_gpu_and_field_are_errors() -> None:
    with pytest.raises(SimulationError, match="gpu: expected one of A100, H100"):
        fit_constants(_all(), "MI210")
    with pytest.raises(SimulationError, match="constants: expected one of"):
        apply_constants(ss.load_hardware("a100-sxm"), {"device.freq_ghz": 2.0})


def test_leave_one_gpu_out_reports_in_sample_and_held_out() -> None:
    # every 4th target row (deterministic subsample) keeps this under ~30 s on 2 cores
    table, fits = leave_one_gpu_out(every=4)
    pivot = table.pivot_table(index=["gpu", "group"], columns="variant", values="mape")
    text = pivot.to_string(float_format=lambda x: f"{x:.3f}")
    log.info("\n%s", text)
    assert set(table["variant"]) == {"preset", "in_sample", "held_out"}
    assert set(table["gpu"]) == {"A100", "H100"}
    assert {"gemm", "vidur", "collective"} <= set(table["group"])
    assert (table["n"] > 0).all() and table["mape"].notna().all(), text
    assert set(fits) == {"A100", "H100"}


@pytest.mark.parametrize("gpu", ["A100", "H100"])
def test_shipped_fractions_meet_the_engine_consistent_rule(gpu: str) -> None:
    """The preset's efficiency fractions are a fixed point of ``refine_with_model`` under the current
    engine: one more round moves none of them by more than 1 %. An engine change that moves the fit rows'
    predictions fails this until the fractions are refit by the documented rule (the preset's source)."""
    single = ss.load_hardware("a100-sxm" if gpu == "A100" else "h100-sxm")
    dev = single.device
    shipped = {
        f"device.core.matrix_unit.sustained_fraction.{dt}": (v, "shipped")
        for dt, v in dev.core.matrix_unit.sustained_fraction.items()
    }
    shipped["device.memory[hbm].sustained_fraction"] = (dev.dram.sustained_fraction, "shipped")
    refined = refine_with_model(_all(), gpu, shipped, iterations=1)
    moved = {k: (shipped[k][0], v) for k, (v, _) in refined.items() if abs(v / shipped[k][0] - 1) > 0.01}
    assert moved == {}, f"fractions off the rule (shipped, one more round): {moved}"
