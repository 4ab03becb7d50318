#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU: the numba kernel suite (simsparse measure --device cuda,
# full and small size sets), the PyTorch dense / 2:4 GEMM table (scripts/gpu/torch_gemm.py) and the ATen
# embedding-gather / residual-add table (scripts/gpu/torch_ops.py).
# Usage, from the repository root:  OUT=some/dir bash scripts/gpu/run_on_gpu.sh
# Writes $OUT/env.txt, $OUT/suite_cuda_full.csv, $OUT/suite_cuda_small.csv, $OUT/torch_gemm.csv,
# $OUT/torch_ops.csv, $OUT/chase.csv, $OUT/log.txt.
# The package runs from the checkout (PYTHONPATH), with whatever numpy/pandas/numba the machine has; numba
# must support that numpy (numba 0.68 fails to import under numpy 2.5: carry numpy 2.3 first on PYTHONPATH).
# SKIP_TORCH=1 leaves out the PyTorch GEMM table, SKIP_OPS=1 the ATen op table, SKIP_SUITE=1 the numba suite,
# SKIP_CHASE=1 the pointer-chase latencies (scripts/gpu/chase.py);
# TORCH_GEMM_ARGS go to torch_gemm.py, TORCH_OPS_ARGS to torch_ops.py.
set -u
OUT=${OUT:?set OUT to an output folder}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/log.txt") 2>&1

{
  date -u +"date_utc=%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,temperature.gpu,memory.total --format=csv
  nvidia-smi -L
  "$PY" -V
  "$PY" -m pip list 2>/dev/null | grep -iE "^(numba|numba-cuda|numpy|pandas|scipy|llvmlite|cuda-bindings|cuda-python|torch|triton|pyyaml|matplotlib) "
  lscpu | grep -E "Model name|^CPU\(s\)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# numba's CUDA target: one trivial launch, so a broken toolchain shows here and not inside the suite
probe='
from numba import cuda
import numpy as np
@cuda.jit
def k(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] += 1.0
a = cuda.to_device(np.zeros(64, np.float32)); k[1, 64](a); cuda.synchronize()
assert a.copy_to_host().sum() == 64.0
print("numba cuda probe ok")
'
if ! timeout 60 "$PY" -c "$probe"; then
  echo "numba cuda probe failed; retrying with the NVIDIA binding and CUDA_HOME"
  export NUMBA_CUDA_USE_NVIDIA_BINDING=1 CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
  timeout 60 "$PY" -c "$probe" || echo "numba cuda probe failed twice"
fi

measure() {  # $1 size set, $2 repeats
  timeout 200 "$PY" -c "import sys; from simsparse.cli import main; sys.exit(main(sys.argv[1:]))" \
    measure --device cuda --sizes "$1" --repeats "$2" --warmup 3 --out "$OUT/suite_cuda_$1.csv"
  echo "measure $1: exit $?"
}
if [ "${SKIP_SUITE:-0}" != 1 ]; then
  measure full 30
  measure small 30
fi

if [ "${SKIP_TORCH:-0}" != 1 ]; then
  timeout 300 "$PY" scripts/gpu/torch_gemm.py --out "$OUT/torch_gemm.csv" ${TORCH_GEMM_ARGS:-}
  echo "torch_gemm: exit $?"
fi

if [ "${SKIP_CHASE:-0}" != 1 ]; then
  timeout 200 "$PY" scripts/gpu/chase.py --out "$OUT/chase.csv"
  echo "chase: exit $?"
fi

if [ "${SKIP_OPS:-0}" != 1 ]; then
  timeout 300 "$PY" scripts/gpu/torch_ops.py --out "$OUT/torch_ops.csv" ${TORCH_OPS_ARGS:-}
  echo "torch_ops: exit $?"
fi

"$PY" - <<'EOF'
import glob, os
import pandas as pd
for path in sorted(glob.glob(os.path.join(os.environ["OUT"], "*.csv"))):
    df = pd.read_csv(path)
    print(f"== {os.path.basename(path)}: {len(df)} rows")
    cols = [c for c in ("kind", "dtype", "m", "n", "k", "metric", "value") if c in df]
    print(df[cols].to_string(index=False, max_rows=40))
EOF
