"""Presets and model files load by name from a regular (non-editable) wheel install (issue 2)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_presets_load_from_an_installed_wheel(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(wheel_dir.glob("simsparse-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # dependencies come from the test environment's site-packages, added as a plain path (its
    # .pth files, among them the editable install's hook, are not processed)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        cwd=tmp_path,
    )
    code = (
        "import simsparse as ss, simsparse.config.models as cm\n"
        "assert 'site-packages' in ss.__file__ and 'venv' in ss.__file__, ss.__file__\n"
        "names = ss.hardware_presets()\n"
        "assert len(names) >= 16, names\n"
        "for n in names: ss.load_hardware(n)\n"
        "for m in cm.model_presets(): cm.load_model(m)\n"
        "print(len(names))\n"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
