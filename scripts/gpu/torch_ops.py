"""Measure the two ATen kernels of the Vidur per-op profiles, the embedding gather and the residual add, through
PyTorch on the local CUDA GPU, in the measured-CSV format of ``simsparse/data/measured/README.md``.

Not part of the package (PyTorch is not a simsparse dependency): a script for a machine that has a GPU and
PyTorch. ``scripts/gpu/run_on_gpu.sh`` runs it. Timing: :mod:`gputime` (CUPTI kernel time of one call, median
of ``--calls`` calls, each after a 256 MB read that clears the L2 and an optional prepare step).

What it measures, fp16 unless said, every row with ``kind=mlp_op`` and the ``extra`` keys of the Vidur rows
(``op``, ``n_embd``) so that ``simsparse validate`` expresses both the same way:

* ``F.embedding(ids, table)`` (ATen ``index_select``) at Vidur's shapes: hidden 4096 and 8192, a Llama-2
  vocabulary of 32000 rows sharded 1, 4 and 8 ways, 1 .. 4096 tokens, ids drawn uniformly in range, as
  ``vidur/profiling/mlp/mlp_wrapper.py`` draws them (``vocab_size`` in ``extra``);
* the same gather at 4096 tokens over tables of 500 .. 256000 rows (4 MB .. 2 GB), and with other id
  patterns (``ids=same_row|sorted|sequential``), and with the rows left in the L2 by the same gather just
  before (``l2=warm``), and in fp32: what the gather's time depends on;
* the gather with only its ids read into the L2 just before (``ids_l2=warm``), and on a table view whose
  rows are not 16-byte aligned (``table_row_stride_bytes`` in ``extra``), which sends ``index_select`` to
  its older small- and large-index kernels, the ones Vidur's PyTorch ran, with the ids cold and warm;
* ``a + b`` (ATen vectorized add) at hidden 4096 and 8192, 1 .. 4096 tokens: with both inputs cold
  (``l2=cold``), with ``b`` written by a kernel just before (``l2=b_written``: Vidur's residual add reads the
  down projection's output, written just before), and with both written (``l2=both_written``).

Every gather is checked against an index-by-index reference before it is timed, every add against a float32
sum; a case that fails or raises is logged and skipped, never written. Usage::

    python3 scripts/gpu/torch_ops.py --out torch_ops.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gputime.py beside this script
from gputime import KernelTimer, add_common_args, measured_row, open_device, write_rows

TOKENS = (1, 8, 64, 256, 1024, 4096)
HIDDEN = (4096, 8192)
LLAMA2_VOCAB = 32000
TP = (1, 4, 8)
FOOTPRINT_VOCAB = (500, 1000, 2000, 16000, 64000, 128000, 256000)
ADD_STATES = ("cold", "b_written", "both_written")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F

    date = dt.datetime.now(dt.UTC).date().isoformat()
    opened = open_device(torch, args.cpu_check, "torch_ops")
    if opened is None:
        return 2
    dev, gpu, context = opened
    print("context:", context, flush=True)

    timer = KernelTimer(torch, dev, calls=args.calls, cpu=args.cpu_check)
    timing = (
        f"value: GPU kernel time (CUPTI, torch.profiler) of the timed call's kernels, median over {args.calls} "
        f"calls, each after {timer.how} that clears the L2 and then the case's prepare step (l2=); call_us: "
        "CUDA events around the timed call, median"
    )
    rows: list[dict[str, object]] = []
    dtypes = {"fp16": torch.float16, "fp32": torch.float32}

    def row(op: str, dtype: str, tokens: int, value: float, keys: list[tuple[str, object]], note: str) -> None:
        extra: list[tuple[str, object]] = [("op", op), *keys, ("timing", timing), *timer.last.items(), *context]
        rows.append(
            measured_row(
                script="torch_ops.py",
                date=date,
                gpu=gpu,
                stack=f"PyTorch {torch.__version__} eager ATen kernels",
                kind="mlp_op",
                dtype=dtype,
                metric="latency_us",
                value=value,
                unit="us",
                extra=extra,
                note=note,
                tokens=tokens,
            )
        )

    def embedding(
        hidden: int,
        vocab: int,
        tokens: int,
        ids_kind: str = "random",
        l2: str = "cold",
        dtype: str = "fp16",
        ids_l2: str = "cold",
        aligned: bool = True,
    ) -> None:
        case = f"emb {dtype} h={hidden} vocab={vocab} tokens={tokens} ids={ids_kind} l2={l2} ids_l2={ids_l2}"
        case += "" if aligned else " table=misaligned"
        try:
            if aligned:
                table = torch.randn(vocab, hidden, device=dev, dtype=dtypes[dtype])
            else:  # a view 1 element into wider rows: not 16-byte aligned, so no vectorized gather
                table = torch.randn(vocab, hidden + 8, device=dev, dtype=dtypes[dtype])[:, 1 : hidden + 1]
            if ids_kind == "random":
                ids = torch.randint(0, vocab, (tokens,), device=dev, dtype=torch.long)
            elif ids_kind == "sorted":
                ids = torch.randint(0, vocab, (tokens,), device=dev, dtype=torch.long).sort().values
            elif ids_kind == "same_row":
                ids = torch.zeros(tokens, device=dev, dtype=torch.long)
            else:  # sequential rows
                ids = torch.arange(tokens, device=dev, dtype=torch.long) % vocab
            out = F.embedding(ids, table)
            if not torch.equal(out, table[ids.cpu()].to(dev)):
                print(f"SKIP {case}: wrong output", flush=True)
                return
            prepare: Callable[[], object] | None = None
            if l2 == "warm":  # the same gather just before: its table rows (and ids) are in the L2
                prepare = lambda: F.embedding(ids, table)  # noqa: E731
            elif ids_l2 == "warm":  # only the ids read just before (a sum): the table stays cold
                prepare = ids.sum
            t = timer.bench(lambda: F.embedding(ids, table), prepare)
        except Exception as exc:  # logged, not written
            print(f"SKIP {case}: {type(exc).__name__}: {exc}", flush=True)
            return
        tp = LLAMA2_VOCAB // vocab if LLAMA2_VOCAB % vocab == 0 and vocab >= LLAMA2_VOCAB // 8 else ""
        keys: list[tuple[str, object]] = [("n_embd", hidden), ("vocab_size", vocab), ("tp", tp)]
        keys += [("ids", ids_kind), ("l2", l2), ("ids_l2", ids_l2)]
        keys += [("table_mb", f"{vocab * hidden * table.element_size() / 1e6:.4g}")]
        if not aligned:
            keys.append(("table_row_stride_bytes", table.stride(0) * table.element_size()))
        row("emb", dtype, tokens, t, keys, "measured: output checked against an index-by-index gather")
        print(f"{case}: {t:.2f} us", flush=True)

    def add(hidden: int, tokens: int, l2: str) -> None:
        case = f"add fp16 h={hidden} tokens={tokens} l2={l2}"
        try:
            a = torch.randn(tokens, hidden, device=dev, dtype=torch.float16)
            b = torch.randn(tokens, hidden, device=dev, dtype=torch.float16)
            out = a + b
            err = float((out.float() - (a.float() + b.float())).abs().max())
            if not err <= 2e-3 * float((a.float() + b.float()).abs().max()):
                print(f"SKIP {case}: max error {err:.3g}", flush=True)
                return

            def written() -> None:
                b.fill_(0.5)  # a write-only kernel: b's lines are left in the L2 (dirty), as a producer's output
                if l2 == "both_written":
                    a.fill_(0.25)

            t = timer.bench(lambda: a + b, None if l2 == "cold" else written)
        except Exception as exc:
            print(f"SKIP {case}: {type(exc).__name__}: {exc}", flush=True)
            return
        mb = 3 * tokens * hidden * 2 / 1e6
        row("add", "fp16", tokens, t, [("n_embd", hidden), ("l2", l2), ("moved_mb", f"{mb:.4g}")], "measured")
        print(f"{case}: {t:.2f} us", flush=True)

    try:
        tokens_list = TOKENS[::2] if args.quick else TOKENS
        hidden_list = HIDDEN[:1] if args.quick else HIDDEN
        for hidden in hidden_list:
            for tp in TP:
                for tokens in tokens_list:
                    embedding(hidden, LLAMA2_VOCAB // tp, tokens)
        print(f"embedding (Vidur shapes) done, {len(rows)} rows", flush=True)
        if not args.quick:
            for vocab in FOOTPRINT_VOCAB:
                embedding(4096, vocab, 4096)
            for ids_kind in ("same_row", "sorted", "sequential"):
                embedding(4096, LLAMA2_VOCAB, 4096, ids_kind=ids_kind)
            for tokens in (256, 1024, 4096):
                embedding(4096, LLAMA2_VOCAB, tokens, l2="warm")
            for tokens in (1024, 4096):
                embedding(4096, LLAMA2_VOCAB, tokens, dtype="fp32")
            # the id loads: the same gathers with the ids read into the L2 just before (the table cold), and
            # ATen's older index_select kernels (Vidur's) on a table view the vectorized gather cannot take
            for tokens in (1, 8, 256, 4096):
                embedding(4096, LLAMA2_VOCAB, tokens, ids_l2="warm")
            for tokens in (1, 8, 64, 1024, 4096):
                for ids_l2 in ("cold", "warm"):
                    embedding(4096, LLAMA2_VOCAB, tokens, ids_l2=ids_l2, aligned=False)
            print(f"embedding probes done, {len(rows)} rows", flush=True)
        for hidden in hidden_list:
            for tokens in tokens_list:
                for l2 in ADD_STATES:
                    add(hidden, tokens, l2)
        print(f"add done, {len(rows)} rows", flush=True)
    finally:  # whatever was measured is written, even if a later case broke the run
        write_rows(rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
