"""Published sparse-accelerator results (issue 4), reproduced with their stated tolerance.

DSTC (Wang et al., ISCA 2021, Fig. 21, as re-modelled in Sparseloop, MICRO 2022, Fig. 13):
4096^3 GEMM latency normalized to dense, for (A density, B density). VEGETA (Jeong et al.,
HPCA 2023): speedup of its sparse engine over its dense engine per N:M pattern.

Each is checked twice:

* on the **datapath** (the op's ``compute_cycles``): the quantity both publications evaluate.
  Sparseloop's DSTC re-model gives each 128-MAC outer-product unit 32 words/cycle from its
  buffer and DRAM where the 32x32 output-stationary mapping needs 8 (artifact
  ``fig13_dstc_setup/input_specs/architecture.yaml`` and ``Os-mapping.yaml``), so it is
  compute-bound by construction; VEGETA reports engine cycles of tile-instruction streams.
  These pass from the mechanism: DSTC's condensed 32-long operand segments fed 8 (A) x 16 (B)
  at a time, VEGETA's K consumed at N/M the dense rate.
* end to end (``latency_s``): DSTC on the architecture of Sparseloop's re-model (preset
  ``dstc-fig13``) within the stated 10%, and on a V100-class memory system (preset ``dstc``)
  bounded by its datapath ratio and dense.
"""

from __future__ import annotations

import simsparse as ss
from simsparse.workload.op import Op


class _W:
    def __init__(self, op: Op) -> None:
        self.ops = (op,)
        self.name = "gemm"


def _summary(preset: str, dtype: str, **kw: object) -> dict[str, object]:
    op = Op(
        name="g", kind="gemm", m=4096, n=4096, k=4096, dtype=dtype, a_dtype=dtype, b_dtype=dtype, c_dtype=dtype, **kw
    )  # type: ignore[arg-type]
    return dict(ss.simulate(ss.load_hardware(preset), _W(op)).summary())


def _value(preset: str, dtype: str, key: str, **kw: object) -> float:
    return float(_summary(preset, dtype, **kw)[key])  # type: ignore[arg-type]


DSTC = [((1.0, 0.4), 0.543), ((0.5, 1.0), 0.585), ((0.5, 0.4), 0.322), ((0.3, 0.4), 0.239)]


def _dstc_ratio(da: float, db: float, key: str = "latency_s", preset: str = "dstc") -> float:
    dense = _value(preset, "fp16", key)
    pattern = "unstructured" if db < 1 else "dense"
    sparse = _value(preset, "fp16", key, a_density=da, b_density=db, b_pattern=pattern)
    return sparse / dense


def _dstc_datapath_ratio(da: float, db: float) -> float:
    """The dual-side datapath alone (one core, the whole GEMM): no tiling, waves or memory."""
    from simsparse.models.compute import GemmTask, compute_model

    unit = ss.load_hardware("dstc").device.core.matrix_unit
    model = compute_model(unit.compute_model)
    dense = model.cost(unit, GemmTask(m=4096, n=4096, k=4096, dtype="fp16")).cycles
    pattern = "unstructured" if db < 1 else "dense"
    task = GemmTask(m=4096, n=4096, k=4096, dtype="fp16", a_density=da, b_density=db, b_pattern=pattern)
    return model.cost(unit, task).cycles / dense


def test_dstc_datapath_cycles_within_10_percent() -> None:
    # measured 2026-11-28: 0.546/0.607/0.331/0.227
    errors = {pair: _dstc_datapath_ratio(*pair) / target - 1 for pair, target in DSTC}
    assert all(abs(e) <= 0.10 for e in errors.values()), errors


def test_dstc_end_to_end_on_the_published_architecture_within_10_percent() -> None:
    # The target as the issue states it: DSTC as re-modelled in Sparseloop Fig. 13, i.e. on the
    # architecture of that re-model (preset ``dstc-fig13``: one 128-MAC outer-product unit behind a
    # GLB and DRAM of 32 words/cycle each, from the artifact's architecture.yaml), simulated end to
    # end (mapping, memory traffic, schedule).  Measured 2026-11-28: 0.546/0.607/0.331/0.227.
    ratios = {pair: _dstc_ratio(*pair, preset="dstc-fig13") for pair, _ in DSTC}
    errors = {pair: ratios[pair] / target - 1 for pair, target in DSTC}
    assert all(abs(e) <= 0.10 for e in errors.values()), (ratios, errors)


def test_dstc_on_a_v100_memory_system_is_bounded_by_its_datapath_and_dense() -> None:
    # The same datapath behind the 80-SM V100-class memory system of the ``dstc`` preset (not the
    # published architecture): tiling, wave quantization and the 2155 GB/s L2 stream can only eat
    # into the datapath's gain. Measured 2026-11-28: 0.593/0.658/0.368/0.288 against datapath
    # 0.546/0.607/0.331/0.227 (the sparse GEMMs pick 256-wide tiles: 4 quantized waves on 80 SMs).
    for pair, _ in DSTC:
        ratio = _dstc_ratio(*pair)
        assert _dstc_datapath_ratio(*pair) * 0.999 <= ratio < 1.0, (pair, ratio)


VEGETA = [("4:4", 1.09), ("2:4", 2.20), ("1:4", 3.74)]


def _vegeta_speedups(key: str) -> dict[str, float]:
    dense = _value("vegeta", "bf16", key)
    errors = {}
    for pattern, target in VEGETA:
        n, m = (int(x) for x in pattern.split(":"))
        speed = dense / _value("vegeta", "bf16", key, b_pattern=pattern, b_density=n / m)
        errors[pattern] = speed / target - 1
    return errors


def test_vegeta_engine_speedups_within_10_percent() -> None:
    # measured 2026-11-28: 1.000/2.000/4.000 (-8.3%/-9.1%/+7.0%). 4:4 runs exactly as dense on one
    # engine; the published 1.09x is VEGETA-S-16-2 against a different dense engine (VEGETA-D-1-2,
    # a deeper pipeline), which one preset does not describe.
    errors = _vegeta_speedups("compute_cycles")
    assert all(abs(e) <= 0.10 for e in errors.values()), errors


def test_vegeta_speedups_within_10_percent() -> None:
    # measured 2026-11-28: 1.00/2.00/4.00 vs 1.09/2.20/3.74 (-8.3/-9.1/+7.0 %). The paper's 4:4 gain is
    # over a different (deeper-pipelined) dense engine that one preset cannot describe.
    errors = _vegeta_speedups("latency_s")
    assert all(abs(e) <= 0.10 for e in errors.values()), errors
