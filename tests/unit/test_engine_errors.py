"""Impossible requests to the engine are one clear SimsparseError naming the field (issues 4, 5, 6)."""

from __future__ import annotations

import dataclasses

import pytest

import simsparse as ss


def test_collective_on_more_devices_than_the_system_has() -> None:
    with pytest.raises(ss.SimulationError, match=r"n_devices: expected at most the 8 device\(s\) of dgx-h100, got 16"):
        ss.simulate(ss.load_hardware("dgx-h100"), ss.collective("all_reduce", n_bytes=1 << 20, n_devices=16))


def test_tile_that_fits_no_level() -> None:
    hw = ss.load_hardware("systolic-32x32")
    tiny = dataclasses.replace(hw.device.memory[0], capacity_bytes=64)
    device = dataclasses.replace(hw.device, memory=(tiny, *hw.device.memory[1:]))
    with pytest.raises(ss.SimulationError, match=r"capacity_bytes: expected room for the smallest tile"):
        ss.simulate(dataclasses.replace(hw, device=device), ss.gemm(m=64, n=64, k=64))


def test_unknown_fidelity_with_did_you_mean() -> None:
    with pytest.raises(ss.SimulationError, match=r"did you mean 'event'"):
        ss.simulate(ss.load_hardware("h100-sxm"), ss.gemm(m=8, n=8, k=8), fidelity="evnt")


def test_dtype_the_preset_lacks() -> None:
    with pytest.raises(ss.SimulationError, match=r"dtype: expected one the matrix unit supports"):
        ss.simulate(ss.load_hardware("a100-sxm"), ss.gemm(m=8, n=8, k=8, dtype="fp8"))


def test_cycle_fidelity_needs_a_systolic_array_and_a_small_case() -> None:
    with pytest.raises(ss.SimulationError, match=r"fidelity: expected 'event' or 'roofline'"):
        ss.simulate(ss.load_hardware("h100-sxm"), ss.gemm(m=8, n=8, k=8), fidelity="cycle")
    with pytest.raises(ss.SimulationError, match=r"use fidelity='event'"):
        ss.simulate(ss.load_hardware("systolic-32x32"), ss.gemm(m=4096, n=4096, k=4096), fidelity="cycle")


def test_parallelism_larger_than_the_system() -> None:
    wl = ss.load_workload("llama-3.1-8b", phase="decode", batch=1, context_len=128, tp=8)
    with pytest.raises(ss.SimulationError, match=r"parallelism: expected tp\*pp and ep\*pp to be at most"):
        ss.simulate(ss.load_hardware("h100-sxm"), wl)


def test_model_that_does_not_fit_names_the_capacity_field() -> None:
    wl = ss.load_workload("llama-3.1-70b", phase="decode", batch=8, context_len=2048)
    with pytest.raises(ss.DoesNotFitError, match=r"device\.memory\[hbm\]\.capacity_bytes"):
        ss.simulate(ss.load_hardware("h100-sxm"), wl)
