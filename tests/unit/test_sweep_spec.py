"""Sweep specs, planning, bad input, local runs, cache, Pareto and the CLI module (fast: roofline)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simsparse as ss
from simsparse.errors import ConfigError, SimsparseError
from simsparse.sweep import load_sweep, pareto, plan, skipped, sweep, sweep_from_dict
from simsparse.sweep.cli import main as cli_main
from simsparse.sweep.spec import parse_constraint

SHIPPED = ("stc_density", "moe_ep", "quant_hbm")


def small(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "small",
        "hardware": "stc-2of4",
        "fidelity": "roofline",
        "workloads": [{"builder": "gemm", "args": {"m": 256, "n": 512, "k": 512, "dtype": "fp16"}}],
        "axes": [
            {"path": "workload.weight_pattern", "name": "pattern", "values": ["dense", "2:4"]},
            {"path": "device.memory[hbm].read_gb_per_s", "name": "hbm", "low": 500, "high": 4000, "n": 3},
            {"path": "device.n_cores", "values": [54, 108]},
        ],
        "metrics": ["latency_s", "energy_j", "utilization", "bottleneck"],
    }
    data.update(over)
    return data


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_specs_load_and_plan(name: str) -> None:
    spec = load_sweep(name)
    assert load_sweep(f"workloads/sweeps/{name}.yaml") == spec
    p = plan(spec)
    assert 8 <= len(p.points) <= 64
    assert len({pt.key for pt in p.points}) == len(p.points)


def test_shipped_stc_density_quick_run() -> None:
    spec = load_sweep("stc_density")
    quick = dataclasses.replace(spec, fidelity="roofline")
    df = sweep(quick, n_jobs=1, progress=False)
    assert len(df) == 27
    assert list(df.columns[:5]) == ["point", "workload", "weight_pattern", "act_density", "array_size"]


def test_table_shape_and_order() -> None:
    spec = sweep_from_dict(small())
    df = sweep(spec, n_jobs=1, progress=False)
    assert list(df["point"]) == list(range(12))
    assert list(df.columns) == [
        "point",
        "workload",
        "pattern",
        "hbm",
        "device.n_cores",
        "latency_s",
        "energy_j",
        "utilization",
        "bottleneck",
        "point_hash",
    ]
    assert df["hbm"].tolist()[:6] == [500.0, 500.0, 2250.0, 2250.0, 4000.0, 4000.0]
    assert df["device.n_cores"].dtype.kind == "i"
    assert df["latency_s"].dtype == "float64"
    # more cores never hurt, 2:4 never slower than dense at the same point
    dense = df[df["pattern"] == "dense"].reset_index(drop=True)
    sparse = df[df["pattern"] == "2:4"].reset_index(drop=True)
    assert (sparse["latency_s"] <= dense["latency_s"] * (1 + 1e-12)).all()


def test_same_spec_bit_identical_across_runs_and_pool_sizes() -> None:
    spec = sweep_from_dict(small())
    a = sweep(spec, n_jobs=1, progress=False)
    b = sweep(spec, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.equals(b)


def test_memory_level_by_index_equals_by_name() -> None:
    by_name = sweep(sweep_from_dict(small()), n_jobs=1, progress=False)
    axes = small()["axes"]
    axes[1] = {**axes[1], "path": "device.memory[2].read_gb_per_s"}
    by_index = sweep(sweep_from_dict(small(axes=axes)), n_jobs=1, progress=False)
    assert by_name["point_hash"].tolist() == by_index["point_hash"].tolist()
    assert by_name["latency_s"].tolist() == by_index["latency_s"].tolist()


def test_random_and_lhs_are_seeded() -> None:
    axes = [
        {"path": "device.memory[hbm].read_gb_per_s", "low": 500, "high": 4000, "log": True},
        {"path": "device.n_cores", "low": 16, "high": 128},
    ]
    for method in ("random", "latin_hypercube"):
        spec = sweep_from_dict(small(axes=axes, sampling={"method": method, "n": 10}, seed=3))
        a, b = plan(spec), plan(spec)
        assert a.points == b.points
        cores = [pt.values[1] for pt in a.points]
        assert all(isinstance(c, int) and 16 <= c <= 128 for c in cores)
        other = plan(dataclasses.replace(spec, seed=4))
        assert [pt.values for pt in other.points] != [pt.values for pt in a.points]
    lhs = plan(sweep_from_dict(small(axes=axes[:1], sampling={"method": "latin_hypercube", "n": 10})))
    import math

    u = sorted((math.log(pt.values[0]) - math.log(500)) / (math.log(4000) - math.log(500)) for pt in lhs.points)
    assert [int(x * 10) for x in u] == list(range(10))  # one sample per stratum


def test_invalid_points_are_skipped_with_reason() -> None:
    axes = [{"path": "device.memory[hbm].capacity_bytes", "values": [1024, 85899345920]}]
    df = sweep(sweep_from_dict(small(axes=axes)), n_jobs=1, progress=False)
    assert df["point"].tolist() == [1]
    sk = skipped(df)
    assert sk["point"].tolist() == [0]
    assert sk["status"].tolist() == ["invalid"]
    assert "device.memory[2].capacity_bytes" in sk["reason"][0]


def test_constraints_exclude_points_and_are_reported() -> None:
    spec = sweep_from_dict(small(constraints=["device.area_mm2 * device.n_cores / 108 <= 500", "total_tdp_w < 1000"]))
    df = sweep(spec, n_jobs=1, progress=False)
    assert set(df["device.n_cores"]) == {54}
    sk = skipped(df)
    assert (sk["status"] == "excluded").all() and len(sk) == 6
    assert "constraint" in sk["reason"].iloc[0]


def test_unknown_path_did_you_mean_with_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        """\
        name: bad
        hardware: stc-2of4
        workloads:
          - {builder: gemm, args: {m: 64, n: 64, k: 64}}
        axes:
          - path: device.core.matrix_unit.array_row
            values: [8, 16]
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_sweep(p)
    msg = str(info.value)
    assert "spec.yaml:6:" in msg and "axes[0].path" in msg
    assert "did you mean 'device.core.matrix_unit.array_rows'" in msg


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"axes": [{"path": "device.n_cores", "values": ["many"]}]}, "an integer"),
        ({"axes": [{"path": "device.memory[hbm].read_gb_per_s", "values": [True]}]}, "a finite number"),
        ({"axes": [{"path": "device.memory[hmb].read_gb_per_s", "values": [1.0]}]}, "did you mean"),
        ({"axes": [{"path": "workload.weight_patern", "values": ["2:4"]}]}, "did you mean 'weight_pattern'"),
        ({"axes": [{"path": "workload.m", "values": ["big"]}]}, "an integer"),
        ({"axes": [{"path": "device.n_cores", "low": 1, "high": 8}]}, "number of grid levels"),
        ({"metrics": ["latency"]}, "did you mean 'latency_s'"),
        ({"constraints": ["__import__('os').system('true')"]}, "only calls to"),
        ({"constraints": ["device.area_mm3 < 1"]}, "did you mean 'device.area_mm2'"),
        ({"constraints": ["(lambda: 1)()"]}, "allowed"),
        ({"sampling": {"method": "random"}}, "number of samples"),
        ({"sampling": {"method": "sobol"}}, "one of grid, random, latin_hypercube"),
        ({"workloads": [{"builder": "gemmm", "args": {}}]}, "did you mean 'gemm'"),
        ({"workloads": [{"builder": "gemm", "args": {"m": 1, "n": 1, "kk": 1}}]}, "did you mean 'k'"),
        ({"hardware": "h100-sxn"}, "did you mean 'h100-sxm'"),
        ({"axez": []}, "did you mean 'axes'"),
    ],
)
def test_bad_specs_raise_config_error_before_work(over: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        sweep_from_dict(small(**over))
    assert needle in str(info.value)


def test_constraint_parser_never_evaluates_code() -> None:
    for text in ("().__class__", "open('x')", "[1][0]", "a if b else c + d.e", "x.__dict__"):
        try:
            c = parse_constraint(text)
        except ValueError:
            continue
        assert all("(" not in r for r in c.refs)


def test_empty_space_after_constraints() -> None:
    with pytest.raises(SimsparseError, match="empty space"):
        sweep(sweep_from_dict(small(constraints=["device.n_cores > 1000"])), progress=False)


def test_bad_executor_and_jobs() -> None:
    spec = sweep_from_dict(small())
    with pytest.raises(ConfigError, match="did you mean 'dask-local'"):
        sweep(spec, executor="dask_local", progress=False)
    with pytest.raises(ConfigError, match="n_jobs"):
        sweep(spec, n_jobs=0, progress=False)
    with pytest.raises(ConfigError, match="scheduler"):
        sweep(spec, executor="dask", progress=False)


def test_unreachable_scheduler_one_clear_error(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConfigError) as info:
        sweep(
            sweep_from_dict(small()),
            scheduler=f"tcp://127.0.0.1:{port}",
            cache_dir=tmp_path,
            progress=False,
            scheduler_timeout_s=2,
        )
    assert "reachable Dask scheduler" in str(info.value)
    assert not list((tmp_path / "parts").glob("*.parquet"))


def test_cache_rerun_and_grown_sweep_compute_only_new_points(tmp_path: Path) -> None:
    spec = sweep_from_dict(small())
    first = sweep(spec, n_jobs=1, cache_dir=tmp_path, progress=False)
    parts = set((tmp_path / "parts").glob("*.parquet"))
    again = sweep(spec, n_jobs=1, cache_dir=tmp_path, progress=False)
    assert set((tmp_path / "parts").glob("*.parquet")) == parts  # nothing recomputed
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    axes = small()["axes"]
    axes[2] = {**axes[2], "values": [54, 108, 132]}
    grown = sweep(sweep_from_dict(small(axes=axes)), n_jobs=1, cache_dir=tmp_path, progress=False)
    new_parts = set((tmp_path / "parts").glob("*.parquet")) - parts
    import pyarrow.parquet as pq

    n_new = sum(pq.read_table(p).num_rows for p in new_parts)
    assert n_new == 6 and len(grown) == 18
    old = grown[grown["device.n_cores"] != 132].drop(columns="point").reset_index(drop=True)
    assert old.equals(first.drop(columns="point"))


def test_resume_needs_a_previous_run(tmp_path: Path) -> None:
    with pytest.raises(SimsparseError, match="resume"):
        sweep(sweep_from_dict(small()), cache_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ConfigError, match="cache_dir"):
        sweep(sweep_from_dict(small()), resume=True, progress=False)


def test_pareto_front() -> None:
    df = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 1.0, 2.0, None], "b": [3.0, 2.0, 1.0, 3.0, 3.0, 0.0], "c": [0, 0, 0, 0, 5, 0]}
    )
    front = pareto(df, minimize=["a", "b"])
    assert front.index.tolist() == [0, 1, 2, 3]
    assert pareto(df, minimize=["a", "b"], maximize=["c"]).index.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ConfigError, match="did you mean 'a'"):
        pareto(df, minimize=["aa"])
    with pytest.raises(SimsparseError):
        pareto(df)


def test_top_level_api_and_lazy_dask() -> None:
    assert ss.load_sweep is load_sweep and ss.pareto is pareto
    df = ss.sweep(sweep_from_dict(small()), n_jobs=1, progress=False)
    assert len(df) == 12
    code = "import simsparse, simsparse.sweep, sys; simsparse.sweep.load_sweep('stc_density'); print('dask' in sys.modules or 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_runs_writes_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(small()))
    out = tmp_path / "r.parquet"
    rc = cli_main(
        [str(spec), "--quiet", "--jobs", "1", "--cache-dir", str(tmp_path / "c"), "--out", str(out), "--pareto"]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "12 point(s)" in text and "Pareto front" in text
    assert len(pd.read_parquet(out)) == 12
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(small(metrics=["latncy_s"])))
    rc = cli_main([str(bad), "--quiet", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("simsparse: error:") and "latency_s" in err
