"""The ``simsparse`` command: figures as JSON, resolved configs that re-check, and exit code 2
with a one-line error (never a traceback) for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simsparse.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hw_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hw", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["h100-sxm"]["peak_dense_tflops"]["bf16"] == pytest.approx(989.4, rel=1e-3)
    assert rows["h100-sxm"]["peak_sparse_tflops"]["2:4"]["bf16"] == pytest.approx(1978.9, rel=1e-3)
    assert rows["dgx-h100"]["n_devices"] == 8


def test_hw_show_yaml_passes_hw_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "hw", "show", "dgx-h100", "--yaml")
    assert code == 0
    path = tmp_path / "resolved.yaml"
    path.write_text(out)
    code, out, _ = run(capsys, "hw", "check", str(path))
    assert code == 0 and "OK" in out


def test_hw_check_bad_file_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nname: y\n")
    code, _, err = run(capsys, "hw", "check", str(bad))
    assert code == 2
    assert "bad.yaml:2: name: expected each key once" in err
    assert "Traceback" not in err


def test_gemm_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gemm", "--hw", "systolic-32x32", "--m", "256", "--n", "512", "--k", "256", "--json")
    assert code == 0
    summary = json.loads(out)["summary"]
    for key in ("cycles", "compute_cycles", "stall_cycles", "latency_s", "energy_j", "utilization", "bottleneck"):
        assert key in summary
    # SCALE-Sim v3.0.0 compute cycles, 256x512x256 on a 32x32 output-stationary array (tests/golden)
    assert summary["compute_cycles"] == 40703


def test_gemm_array_override_and_cycle_fidelity(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gemm", "--hw", "systolic-32x32", "--m", "32", "--n", "24", "--k", "40", "--array", "8x8", "--json"]
    code, out, _ = run(capsys, *args, "--dataflow", "ws", "--fidelity", "cycle")
    assert code == 0
    cycle = json.loads(out)["summary"]["cycles"]
    code, out, _ = run(capsys, *args, "--dataflow", "ws", "--fidelity", "event")
    assert code == 0 and json.loads(out)["summary"]["cycles"] == cycle


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--m", "0", "--n", "8", "--k", "8"], "m: expected an integer >= 1"),
        (["--m", "8", "--n", "8", "--k", "8", "--dtype", "fp4"], "dtype: expected one the matrix unit supports"),
        (["--m", "8", "--n", "8", "--k", "8", "--act-density", "1.5"], "density: expected a number in (0, 1]"),
        (["--m", "8", "--n", "8", "--k", "8", "--weight-pattern", "5:4"], "5:4"),
        (["--m", "8", "--n", "8", "--k", "8", "--array", "big"], "--array: expected ROWSxCOLS"),
    ],
)
def test_gemm_bad_input_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "gemm", "--hw", "h100-sxm", *args)
    assert code == 2, err
    assert err.startswith("simsparse: error: ") and message in err, err
    assert "Traceback" not in err


def test_run_unknown_model_and_preset(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--hw", "h100-sxm", "--model", "mixtral-8x7bb")
    assert code == 2 and "did you mean 'mixtral-8x7b'" in err
    code, _, err = run(capsys, "run", "--hw", "h100-sxn", "--model", "llama-3.1-8b")
    assert code == 2 and "did you mean 'h100-sxm'" in err


def test_run_model_that_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--hw", "h100-sxm", "--model", "llama-3.1-70b", "--batch", "8")
    assert code == 2 and "does not fit" in err, err


def test_run_parallel_degrees_that_do_not_divide(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--hw", "dgx-h100", "--model", "llama-3.1-8b", "--tp", "3")
    assert code == 2 and "Traceback" not in err and err.startswith("simsparse: error: "), err


def test_run_json_and_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "run",
        "--hw",
        "dgx-h100",
        "--model",
        "mixtral-8x7b",
        "--batch",
        "8",
        "--context-len",
        "2048",
        "--ep",
        "8",
        "--routing",
        "power_law:1.2",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["tokens_per_s"] > 0 and data["summary"]["tpot_s"] > 0 and len(data["ops"]) > 5
    path = tmp_path / "t.parquet"
    code, out, _ = run(
        capsys,
        "trace",
        "--model",
        "mixtral-8x7b",
        "--batch",
        "8",
        "--prune",
        "2:4",
        "--quant",
        "w4a16",
        "--out",
        str(path),
    )
    assert code == 0 and path.exists()


def test_measure_cuda_without_gpu_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("numba")
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    code, _, err = run(capsys, "measure", "--device", "cuda", "--out", str(tmp_path / "m.csv"))
    assert code == 2 and "CUDA" in err
    assert not (tmp_path / "m.csv").exists()


def test_run_act_quant(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("run", "--hw", "h100-sxm", "--model", "llama-3.1-8b", "--quant", "fp8", "--json")
    code, out, _ = run(capsys, *args)
    fused = json.loads(out)
    code2, out2, _ = run(capsys, *args, "--act-quant", "dynamic_tensor")
    dyn = json.loads(out2)
    assert code == code2 == 0
    assert any(r["op"].endswith(".act_amax") for r in dyn["ops"])
    assert not any(r["op"].endswith(".act_amax") for r in fused["ops"])
    assert dyn["summary"]["tpot_s"] > fused["summary"]["tpot_s"]
    with pytest.raises(SystemExit) as exc:  # argparse rejects an unknown choice
        main([*args, "--act-quant", "static"])
    assert exc.value.code == 2 and "--act-quant" in capsys.readouterr().err
