"""The prepared GPU run (scripts/gpu): its command lines parse on a machine without a GPU or PyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GPU = ROOT / "scripts" / "gpu"


SCRIPTS = pytest.mark.parametrize("script", ["torch_gemm.py", "torch_ops.py"])


@SCRIPTS
def test_torch_script_help_needs_no_torch(script: str) -> None:
    out = subprocess.run([sys.executable, str(GPU / script), "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    for flag in ("--out", "--calls", "--quick", "--cpu-check"):
        assert flag in out.stdout


@SCRIPTS
def test_torch_script_without_torch_fails_without_writing(tmp_path: Path, script: str) -> None:
    """Where PyTorch is missing the script stops at its import and leaves no file behind."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    target = tmp_path / "t.csv"
    code = "import sys; sys.modules['torch'] = None; import runpy; sys.argv = ['t', '--out', sys.argv[1]]; "
    code += f"runpy.run_path({str(GPU / script)!r}, run_name='__main__')"
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode != 0
    assert "torch" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_chase_help_needs_no_gpu() -> None:
    out = subprocess.run([sys.executable, str(GPU / "chase.py"), "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    for flag in ("--out", "--hops", "--repeats"):
        assert flag in out.stdout


def test_run_on_gpu_is_valid_bash_and_runs_the_documented_commands() -> None:
    script = GPU / "run_on_gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    text = script.read_text()
    assert "measure --device cuda --sizes" in text
    assert "scripts/gpu/torch_gemm.py" in text
    assert "scripts/gpu/torch_ops.py" in text
    assert "scripts/gpu/chase.py" in text
