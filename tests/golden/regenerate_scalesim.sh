#!/usr/bin/env bash
# Regenerate tests/golden/scalesim_cycles.csv by running SCALE-Sim v3.0.0 (a test oracle only).
# Creates/reuses a scratch venv OUTSIDE the repo (default /tmp/scalesim-venv, override with
# SCALESIM_VENV=...), installs scalesim==3.0.0 with numpy<2 (scalesim 3.0.0 breaks on numpy 2),
# and runs scalesim_golden.py with it.  Takes ~2.5 min on 2 cores.
#
#   bash tests/golden/regenerate_scalesim.sh            # rewrites tests/golden/scalesim_cycles.csv
#   SCALESIM_VENV=/tmp/peers/scalesim bash tests/golden/regenerate_scalesim.sh   # reuse a venv
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${SCALESIM_VENV:-/tmp/scalesim-venv}"
PYTHON="${PYTHON:-python3}"
if ! "$VENV/bin/python" -c 'from importlib import metadata; assert metadata.version("scalesim") == "3.0.0"' 2>/dev/null; then
  echo "[regenerate_scalesim] installing scalesim==3.0.0 into $VENV ..." >&2
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "scalesim==3.0.0" "numpy==1.26.4" >&2
fi
tmp="$(mktemp)"
"$VENV/bin/python" "$HERE/scalesim_golden.py" > "$tmp"
mv "$tmp" "$HERE/scalesim_cycles.csv"
echo "[regenerate_scalesim] wrote $HERE/scalesim_cycles.csv ($(($(wc -l < "$HERE/scalesim_cycles.csv") - 1)) rows)" >&2
