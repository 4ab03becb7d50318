"""Importing simsparse stays light: no matplotlib, no dask (they load when a plot or a Dask sweep needs them).

The static twin of this test is the import-linter contract "import simsparse loads neither matplotlib nor
dask" in pyproject.toml; this one checks what actually lands in ``sys.modules`` in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("matplotlib", "dask", "distributed")

_PROBE = """
import json, sys
import simsparse
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def _loaded_after(statement: str) -> list[str]:
    code = statement + "\n" + _PROBE.format(heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_import_simsparse_loads_no_matplotlib_or_dask() -> None:
    assert _loaded_after("") == []


def test_public_api_names_resolve_without_matplotlib_or_dask() -> None:
    # The eagerly exported names (and the hardware presets) must not pull the heavy stacks either.
    stmt = "import simsparse as ss; ss.load_hardware('h100-sxm'); ss.simulate; ss.SimResult; ss.ConfigError"
    assert _loaded_after(stmt) == []


def test_probe_sees_heavy_modules() -> None:
    # The probe itself works: importing matplotlib shows up.
    assert "matplotlib" in _loaded_after("import matplotlib")
