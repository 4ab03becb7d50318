"""The checks of ``make check`` bite: breaking a layer contract, a type, the format or a README example fails.

Each test breaks one thing in a scratch copy (never in the checkout) and runs the same tool ``make check``
or the README test runs, with the project's configuration, and expects a failure; a control run on the
unbroken input shows the failure comes from the breakage.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HW_CONTRACT = "hw imports only errors and units"


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not installed next to {sys.executable}; install the dev extras (pip install -e '.[dev]')")
    return str(path)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _contract_status(output: str, name: str) -> str:
    """KEPT or BROKEN: the word after the contract's name in lint-imports' summary."""
    flat = " ".join(output.split())  # lint-imports wraps long contract names
    start = flat.find(name + " ")
    assert start >= 0, f"contract {name!r} not in lint-imports output:\n{output}"
    return flat[start + len(name) + 1 :].split(" ", 1)[0]


def test_layer_contract_bites(tmp_path: Path) -> None:
    # A copy of the package (sources only) and the project's import-linter configuration.
    shutil.copytree(
        ROOT / "simsparse", tmp_path / "simsparse", ignore=shutil.ignore_patterns("__pycache__", "data", "*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    argv = [_tool("lint-imports"), "--no-cache", "pyproject.toml"]

    control = _run(argv, tmp_path)
    assert _contract_status(control.stdout, HW_CONTRACT) == "KEPT", control.stdout + control.stderr

    hw_init = tmp_path / "simsparse" / "hw" / "__init__.py"
    hw_init.write_text(
        hw_init.read_text(encoding="utf-8") + "\nimport simsparse.engine  # noqa: E402\n", encoding="utf-8"
    )
    broken = _run(argv, tmp_path)
    assert broken.returncode != 0
    assert _contract_status(broken.stdout, HW_CONTRACT) == "BROKEN", broken.stdout + broken.stderr
    assert "simsparse.hw -> simsparse.engine" in broken.stdout


def test_type_error_bites(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text("def double(x: int) -> int:\n    return 2 * x\n", encoding="utf-8")
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def double(x: int) -> str:\n    return 2 * x\n\n\ndef untyped(x):\n    return x\n", encoding="utf-8"
    )
    argv = [_tool("mypy"), "--strict", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml")]

    control = _run([*argv, "good.py"], tmp_path)
    assert control.returncode == 0, control.stdout
    broken = _run([*argv, "bad.py"], tmp_path)
    assert broken.returncode != 0
    assert 'Incompatible return value type (got "int", expected "str")' in broken.stdout
    assert "Function is missing a type annotation" in broken.stdout


def test_format_bites(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text('x = {"a": 1, "b": [1, 2, 3]}\n', encoding="utf-8")
    bad = tmp_path / "bad.py"
    bad.write_text("x = {  'a':1,'b' : [1,2,3] }\n", encoding="utf-8")
    argv = [_tool("ruff"), "format", "--check", "--config", str(ROOT / "pyproject.toml")]

    assert _run([*argv, "good.py"], tmp_path).returncode == 0
    broken = _run([*argv, "bad.py"], tmp_path)
    assert broken.returncode != 0
    assert "bad.py" in broken.stdout + broken.stderr


def _readme_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_readme_runner", Path(__file__).with_name("test_readme.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


DOCTORED_README = """\
# demo

```sh
make test   # skipped: not a simsparse command
simsparse hw list
simsparse hw show no-such-preset
```

```python
print("fine")
```

```python
import simsparse as ss

ss.load_hardware("h100-sxm").no_such_attribute
```
"""


def test_broken_readme_example_bites(tmp_path: Path) -> None:
    runner = _readme_runner()
    examples = runner.extract_examples(DOCTORED_README)
    assert [(e.kind, e.line) for e in examples] == [("sh", 5), ("sh", 6), ("python", 10), ("python", 14)]
    ok_sh, bad_sh, ok_py, bad_py = examples

    runner.check_example(ok_py, tmp_path)  # control
    with pytest.raises(AssertionError, match=r"README.md:14: python example exited 1"):
        runner.check_example(bad_py, tmp_path)
    with pytest.raises(AssertionError, match=r"README.md:6: sh example exited [1-9]"):
        runner.check_example(bad_sh, tmp_path)
    assert ok_sh.source == "simsparse hw list"  # the README's own copy of it runs in test_readme.py
