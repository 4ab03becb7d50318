"""Measure dense and 2:4 sparse GEMM latencies through PyTorch on the local CUDA GPU, in the measured-CSV
format of ``simsparse/data/measured/README.md``.

Not part of the package (PyTorch is not a simsparse dependency): a script for a machine that has a GPU and
PyTorch. ``scripts/gpu/run_on_gpu.sh`` runs it beside ``simsparse measure --device cuda``.

What it times, each case over ``--calls`` calls, each after a 256 MB read that leaves the L2 holding clean
lines (``--flush write`` clears it with a write instead, as ``triton.testing.do_bench`` does; the dirty lines
then cost the timed kernel their write-back): the GPU kernel time of one call from the profiler (CUPTI),
and the whole call between CUDA events:

* dense ``F.linear(x, w)`` (cuBLAS) in bf16 and fp16, and fp8 e4m3 ``torch._scaled_mm`` (per-tensor
  scales, bf16 output), over token counts ``m`` = 1 .. 8192 and Llama-style ``(n, k)`` shapes;
* 2:4 sparse ``F.linear(x, w_24)`` with ``w_24 = to_sparse_semi_structured(w)`` on the cuSPARSELt backend
  and on the CUTLASS backend, fp16 and bf16, on the shapes of the PyTorch PR 90119 table and on the Llama
  shapes, each next to its dense baseline measured in the same run (``speedup_vs_dense`` rows).

Run from the repository root with the checkout on ``PYTHONPATH`` (``run_on_gpu.sh`` sets it): the columns come
from :mod:`simsparse.validation.datasets`. Every output is checked against a float32 reference (relative Frobenius error) before it is timed; a case
that fails the check or raises is logged and skipped, never written. Usage::

    python3 scripts/gpu/torch_gemm.py --out torch_gemm.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gputime.py beside this script
from gputime import KernelTimer, add_common_args, measured_row, open_device, write_rows

M_SWEEP = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
LLAMA_NK = ((4096, 4096), (14336, 4096), (4096, 14336), (8192, 8192))
PR90119_NK = ((768, 3072), (3072, 768))  # (n, k) of the PyTorch PR 90119 table (BERT-base linears)
PR90119_M = (3072, 12288, 49152, 196608)
SPARSE_M = (16, 64, 256, 1024, 4096, 8192)
TOLERANCE = {"bf16": 2e-2, "fp16": 5e-3, "fp8": 8e-2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--flush", choices=["read", "write"], default="read", help="how the L2 is cleared")
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F

    date = dt.datetime.now(dt.UTC).date().isoformat()
    opened = open_device(torch, args.cpu_check, "torch_gemm")
    if opened is None:
        return 2
    dev, gpu, context = opened
    try:
        import triton

        context.append(("triton", triton.__version__))
    except Exception:  # provenance only
        pass
    try:
        cslt = torch.backends.cusparselt.version()
        context.append(("cusparselt", cslt))
    except Exception:  # provenance only
        pass
    print("context:", context, flush=True)

    from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured

    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}
    rows: list[dict[str, object]] = []
    timer = KernelTimer(torch, dev, flush=args.flush, calls=args.calls, cpu=args.cpu_check)
    bench = timer.bench
    last = timer.last
    timing = (
        f"value: GPU kernel time (CUPTI, torch.profiler) of the kernels one call launches, median over "
        f"{args.calls} calls, each after {timer.how} that clears the L2; call_us: CUDA events around the whole call "
        "after the same flush, median (counts host work the GPU waits on)"
    )

    def row(
        kind: str,
        dtype: str,
        m: int,
        n: int,
        k: int,
        stack: str,
        impl: str,
        metric: str,
        value: float,
        unit: str,
        err: float | None,
        note: str,
    ) -> None:
        extra: list[tuple[str, object]] = [("impl", impl), ("timing", timing)]
        if metric == "latency_us":
            extra += list(last.items())
        if err is not None:
            extra.append(("rel_err_vs_fp32", f"{err:.3g}"))
        extra += context
        rows.append(
            measured_row(
                script="torch_gemm.py",
                date=date,
                gpu=gpu,
                stack=stack,
                kind=kind,
                dtype=dtype,
                metric=metric,
                value=value,
                unit=unit,
                extra=extra,
                note=note,
                m=m,
                n=n,
                k=k,
                tokens=m,
            )
        )

    def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
        return float(torch.linalg.norm(out.float() - ref) / torch.linalg.norm(ref))

    def prune_24(w: torch.Tensor) -> torch.Tensor:
        """Keep the 2 largest-magnitude of every 4 consecutive weights along k."""
        n, k = w.shape
        groups = w.reshape(n, k // 4, 4)
        idx = groups.abs().topk(2, dim=-1).indices
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, idx, True)
        return (groups * mask).reshape(n, k)

    stack_dense = f"PyTorch {torch.__version__} F.linear (cuBLAS), no bias"
    dense_cache: dict[tuple[str, int, int, int], float] = {}

    def dense(dtype: str, m: int, n: int, k: int, w: torch.Tensor | None = None) -> float | None:
        key = (dtype, m, n, k)
        if key in dense_cache:
            return dense_cache[key]
        try:
            x = torch.randn(m, k, device=dev, dtype=torch_dtype[dtype])
            w = torch.randn(n, k, device=dev, dtype=torch_dtype[dtype]) if w is None else w
            ref = x.float() @ w.float().t()
            out = F.linear(x, w)
            err = rel_err(out, ref)
            if not err < TOLERANCE[dtype]:
                print(f"SKIP dense {dtype} {m}x{n}x{k}: rel err {err:.3g}", flush=True)
                return None
            t = bench(lambda: F.linear(x, w))
        except Exception as exc:  # a shape the library refuses: logged, not written
            print(f"SKIP dense {dtype} {m}x{n}x{k}: {type(exc).__name__}: {exc}", flush=True)
            return None
        dense_cache[key] = t
        row(
            "gemm",
            dtype,
            m,
            n,
            k,
            stack_dense,
            "dense",
            "latency_us",
            t,
            "us",
            err,
            "measured: output checked against an fp32 reference before timing",
        )
        return t

    def fp8(m: int, n: int, k: int) -> None:
        try:
            x = torch.randn(m, k, device=dev).to(torch.float8_e4m3fn)
            w = torch.randn(n, k, device=dev).to(torch.float8_e4m3fn)
            one = torch.ones((), device=dev)

            # _scaled_mm wants the second operand column-major: w.t() of a row-major (n, k) is
            def run() -> torch.Tensor:
                return torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

            ref = x.float() @ w.float().t()
            err = rel_err(run(), ref)
            if not err < TOLERANCE["fp8"]:
                print(f"SKIP fp8 {m}x{n}x{k}: rel err {err:.3g}", flush=True)
                return
            t = bench(run)
        except Exception as exc:
            print(f"SKIP fp8 {m}x{n}x{k}: {type(exc).__name__}: {exc}", flush=True)
            return
        row(
            "gemm",
            "fp8",
            m,
            n,
            k,
            f"PyTorch {torch.__version__} torch._scaled_mm (e4m3, per-tensor scales, bf16 out)",
            "dense_fp8",
            "latency_us",
            t,
            "us",
            err,
            "measured: output checked against an fp32 reference before timing",
        )

    def sparse(dtype: str, m: int, n: int, k: int, backend: str) -> None:
        try:
            w = prune_24(torch.randn(n, k, device=dev, dtype=torch_dtype[dtype]))
            base = dense(dtype, m, n, k, w)
            if base is None:
                return
            SparseSemiStructuredTensor._FORCE_CUTLASS = backend == "cutlass"
            ws = to_sparse_semi_structured(w)
            x = torch.randn(m, k, device=dev, dtype=torch_dtype[dtype])
            ref = x.float() @ w.float().t()
            err = rel_err(F.linear(x, ws), ref)
            if not err < TOLERANCE[dtype]:
                print(f"SKIP 2:4 {backend} {dtype} {m}x{n}x{k}: rel err {err:.3g}", flush=True)
                return
            t = bench(lambda: F.linear(x, ws))
        except Exception as exc:
            print(f"SKIP 2:4 {backend} {dtype} {m}x{n}x{k}: {type(exc).__name__}: {exc}", flush=True)
            return
        finally:
            SparseSemiStructuredTensor._FORCE_CUTLASS = False
        stack = (
            f"PyTorch {torch.__version__} F.linear with to_sparse_semi_structured weights "
            f"({'cuSPARSELt' if backend == 'cusparselt' else 'CUTLASS'} backend), no bias"
        )
        row(
            "sparse_gemm_2of4",
            dtype,
            m,
            n,
            k,
            stack,
            backend,
            "latency_us",
            t,
            "us",
            err,
            "measured: 2:4-pruned weights; output checked against an fp32 reference before timing",
        )
        row(
            "sparse_gemm_2of4",
            dtype,
            m,
            n,
            k,
            stack,
            backend,
            "speedup_vs_dense",
            base / t,
            "x",
            None,
            "computed: dense latency / 2:4 latency, both measured in this run at the same shape and dtype",
        )

    try:
        m_sweep = M_SWEEP[::4] if args.quick else M_SWEEP
        nk_list = LLAMA_NK[:1] if args.quick else LLAMA_NK
        for n, k in nk_list:
            for m in m_sweep:
                for dtype in ("bf16", "fp16"):
                    dense(dtype, m, n, k)
                fp8(m, n, k)
            print(f"dense ({n}, {k}) done, {len(rows)} rows", flush=True)
        for backend in ("cusparselt",):  # torch's CUTLASS 2:4 kernels run on compute capability 8.x only
            for n, k in PR90119_NK:
                for m in PR90119_M[:1] if args.quick else PR90119_M:
                    sparse("fp16", m, n, k, backend)
            for n, k in nk_list:
                for m in SPARSE_M[-1:] if args.quick else SPARSE_M:
                    for dtype in ("fp16", "bf16"):
                        sparse(dtype, m, n, k, backend)
            print(f"2:4 {backend} done, {len(rows)} rows", flush=True)
    finally:  # whatever was measured is written, even if a later case broke the run
        SparseSemiStructuredTensor._FORCE_CUTLASS = False
        write_rows(rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
