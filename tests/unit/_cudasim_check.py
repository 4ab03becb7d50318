"""Checks of the CUDA kernels without a GPU, run in a subprocess by tests/unit/test_validation_kernels.py.

``python tests/unit/_cudasim_check.py sim``: every kernel's CUDA implementation on its ``tiny`` case under
numba's CUDA simulator (the caller sets ``NUMBA_ENABLE_CUDASIM=1`` before numba is imported), compared with
the NumPy reference, plus ``measure(device="cuda")`` on two kernels with ``allow_simulator=True``.

``python tests/unit/_cudasim_check.py ptx``: compiles every CUDA kernel to PTX for sm_80 with the real numba
CUDA compiler (needs libNVVM, e.g. ``CUDA_HOME`` pointing at a toolkit; no GPU). Exits 77 when libNVVM is
missing so the caller can skip.

Prints one JSON line with the results; exit status 0 when everything passed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

SIM_TILE = 8
SKIP = 77


def run_sim() -> dict[str, Any]:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        raise SystemExit("set NUMBA_ENABLE_CUDASIM=1 before running this check")
    from simsparse.errors import SimulationError
    from simsparse.validation import kernels as K
    from simsparse.validation.measure import COLUMNS, measure

    results: dict[str, Any] = {}
    for name in K.kernel_names():
        case = K.make_case(name, "tiny", seed=3)
        t0 = time.perf_counter()
        out = K.run_cuda(case, tile=SIM_TILE)
        err = K.check_output(case, out, K.run_reference(case), where="cudasim")
        results[name] = {"max_abs_err": err, "seconds": round(time.perf_counter() - t0, 2)}
    try:
        measure(device="cuda", sizes="tiny", repeats=1, warmup=0)
    except SimulationError as exc:
        results["refuses_simulator"] = "simulator" in str(exc)
    else:
        results["refuses_simulator"] = False
    df = measure(
        device="cuda",
        sizes="tiny",
        repeats=2,
        warmup=1,
        kernels=["stream_triad", "w4a16_gemv"],
        cuda_tile=SIM_TILE,
        allow_simulator=True,
    )
    results["measure_columns_ok"] = list(df.columns) == list(COLUMNS)
    results["measure_rows"] = len(df)
    results["measure_note_flags_simulator"] = bool(df["note"].str.startswith("NOT A TIMING").all())
    return results


def run_ptx() -> dict[str, Any]:
    from numba import cuda
    from numba import types as t
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():  # type: ignore[no-untyped-call]
        print(json.dumps({"skip": "libNVVM not found"}))
        raise SystemExit(SKIP)
    from simsparse.validation.kernels import gemm, moe, sparse24, spmm, stream, w4a16

    f32_1, i32_1 = t.float32[::1], t.int32[::1]
    f32_2, f16_2, u8_2 = t.float32[:, ::1], t.float16[:, ::1], t.uint8[:, ::1]
    signatures: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("stream_copy", stream._copy_cuda_kernel.py_func, (f32_1, f32_1)),
        ("stream_triad", stream._triad_cuda_kernel.py_func, (f32_1, f32_1, t.float32, f32_1)),
        ("gemm_fp32", gemm.gemm_cuda_kernel(16).py_func, (f32_2, f32_2, f32_2)),
        ("gemm_fp16", gemm.gemm_cuda_kernel(16).py_func, (f16_2, f16_2, f32_2)),
        ("sparse24_gemm", sparse24.sparse24_cuda_kernel(16).py_func, (f32_2, f32_2, u8_2, f32_2)),
        ("csr_spmm", spmm._spmm_cuda_kernel.py_func, (i32_1, i32_1, f32_1, f32_2, f32_2)),
        ("moe_grouped_gemm", moe.moe_cuda_kernel(16).py_func, (f32_2, i32_1, t.float32[:, :, ::1], f32_2)),
        ("w4a16", w4a16._w4a16_cuda_kernel.py_func, (f16_2, u8_2, f16_2, t.int32, f32_2)),
    ]
    results: dict[str, Any] = {}
    for name, fn, sig in signatures:
        ptx, _ = cuda.compile_ptx(fn, sig, cc=(8, 0))  # type: ignore[attr-defined, no-untyped-call]
        results[name] = {"ptx_chars": len(ptx), "uses_shared": ".shared" in ptx}
    return results


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "sim"
    results = run_sim() if mode == "sim" else run_ptx()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
