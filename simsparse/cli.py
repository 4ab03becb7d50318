"""The ``simsparse`` command: a thin argparse layer over the API; the only place that prints or exits."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simsparse.errors import SimsparseError

EXIT_BAD_INPUT = 2


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _fmt_si(value: float, unit: str) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")]
    for scale, p in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.4g} {p}{unit}"
    return f"{value:.3g} {unit}"


# ---------------------------------------------------------------------------------------------- hw
def _hw_list(args: argparse.Namespace) -> int:
    from simsparse.config import hardware_presets, load_hardware

    rows: list[dict[str, Any]] = []
    for name in hardware_presets():
        s = load_hardware(name)
        d = s.device
        unit = d.core.matrix_unit
        peaks = {dt: s.peak_flops(dt) / 1e12 for dt in unit.macs_per_cycle}
        sparse = {
            sp.pattern: {dt: s.peak_flops(dt, sp.pattern) / 1e12 for dt in unit.macs_per_cycle} for sp in unit.sparsity
        }
        rows.append(
            {
                "name": name,
                "n_devices": s.n_devices,
                "device": d.name,
                "peak_dense_tflops": peaks,
                "peak_sparse_tflops": sparse,
                "memory_gb_per_s": d.dram.read_gb_per_s * s.n_devices,
                "memory_capacity_gb": d.dram.capacity_bytes * s.n_devices / 1e9,
            }
        )
    if args.json:
        _print_json(rows)
        return 0
    print(
        f"{'name':<18} {'devices':>7}  {'bf16/fp16 TFLOP/s':>18}  {'fp8/int8 TFLOP/s':>17}  {'2:4 sparse bf16':>15}  {'mem GB/s':>9}  {'mem GB':>8}"
    )
    for r in rows:
        p = r["peak_dense_tflops"]
        half = p.get("bf16", p.get("fp16", float("nan")))
        eight = p.get("fp8_e4m3", p.get("int8", float("nan")))
        sp = r["peak_sparse_tflops"].get("2:4", {})
        sph = sp.get("bf16", sp.get("fp16", float("nan")))
        print(
            f"{r['name']:<18} {r['n_devices']:>7}  {half * r['n_devices']:>18.1f}  {eight * r['n_devices']:>17.1f}  "
            f"{sph * r['n_devices']:>15.1f}  {r['memory_gb_per_s']:>9.0f}  {r['memory_capacity_gb']:>8.0f}"
        )
    return 0


def _hw_show(args: argparse.Namespace) -> int:
    from simsparse.config import dump_hardware, load_hardware, unstructure

    s = load_hardware(args.name)
    if args.json:
        _print_json(unstructure(s))
    else:
        print(dump_hardware(s), end="")
    return 0


def _hw_check(args: argparse.Namespace) -> int:
    from simsparse.config import load_hardware

    bad = 0
    for f in args.files:
        try:
            s = load_hardware(Path(f))
        except SimsparseError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{f}: OK ({s.name}, {s.n_devices} x {s.device.name})")
    return EXIT_BAD_INPUT if bad else 0


# -------------------------------------------------------------------------------------- simulate
def _print_summary(res: Any, top: int = 10) -> None:
    s = res.summary()
    keys = [
        ("latency_s", "s"),
        ("ttft_s", "s"),
        ("tpot_s", "s"),
        ("tokens_per_s", "tok/s"),
        ("energy_j", "J"),
        ("energy_per_token_j", "J/token"),
        ("cycles", "cycles"),
        ("compute_cycles", "cycles"),
        ("stall_cycles", "cycles"),
        ("peak_memory_bytes", "B"),
    ]
    print(f"{res.workload} on {res.hardware} ({res.fidelity} fidelity)")
    for k, unit in keys:
        if k in s:
            print(f"  {k:<20} {_fmt_si(float(s[k]), unit)}")
    print(f"  {'utilization':<20} {100 * s.get('utilization', 0.0):.1f} %")
    print(f"  {'bottleneck':<20} {s.get('bottleneck')} ({100 * s.get('bottleneck_share', 0.0):.0f} % of time)")
    for note in res.notes:
        print(f"  note: {note}")
    if len(res.ops) > 1:
        cols = ["op", "kind", "device", "repeat", "latency_s", "total_s", "bottleneck"]
        print("\nTop ops by time:")
        print(res.ops.sort_values("total_s", ascending=False)[cols].head(top).to_string(index=False))


def _gemm(args: argparse.Namespace) -> int:
    import dataclasses

    import simsparse as ss

    hw = ss.load_hardware(args.hw)
    if args.array or args.dataflow:
        mu = hw.device.core.matrix_unit
        changes: dict[str, Any] = {}
        if args.array:
            try:
                r, c = (int(x) for x in args.array.lower().split("x"))
            except ValueError:
                raise SimsparseError(f"--array: expected ROWSxCOLS (e.g. 128x128), got {args.array!r}") from None
            changes.update(array_rows=r, array_cols=c)
            if mu.kind == "systolic":
                scale = r * c / (mu.array_rows * mu.array_cols)
                changes["macs_per_cycle"] = {k: v * scale for k, v in mu.macs_per_cycle.items()}
        if args.dataflow:
            changes["dataflow"] = args.dataflow
        mu = dataclasses.replace(mu, **changes)
        hw = dataclasses.replace(
            hw, device=dataclasses.replace(hw.device, core=dataclasses.replace(hw.device.core, matrix_unit=mu))
        )
    wl = ss.gemm(
        m=args.m, n=args.n, k=args.k, dtype=args.dtype, weight_pattern=args.weight_pattern, act_density=args.act_density
    )
    res = ss.simulate(hw, wl, fidelity=args.fidelity)
    if args.json:
        _print_json(json.loads(res.to_json()))
    else:
        _print_summary(res)
    return 0


def _workload_from_args(args: argparse.Namespace) -> Any:
    from simsparse.config.models import trace_from_args

    return trace_from_args(
        model=args.model,
        phase=args.phase,
        batch=args.batch,
        context_len=args.context_len,
        tp=args.tp,
        ep=args.ep,
        pp=args.pp,
        prune=args.prune,
        quant=args.quant,
        act_quant=args.act_quant,
        act_sparsity=args.act_sparsity,
        routing=args.routing,
        seed=args.seed,
    )


def _run(args: argparse.Namespace) -> int:
    import simsparse as ss

    hw = ss.load_hardware(args.hw)
    wl = _workload_from_args(args)
    res = ss.simulate(hw, wl, fidelity=args.fidelity)
    if args.json:
        _print_json(json.loads(res.to_json()))
    else:
        _print_summary(res)
    return 0


def _trace(args: argparse.Namespace) -> int:
    from simsparse.workload import write_trace

    wl = _workload_from_args(args)
    write_trace(wl, args.out)
    print(f"wrote {len(wl.ops)} ops to {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from simsparse.demo import run_demo

    table, figure = run_demo(Path(args.out))
    print(table.to_string(index=False))
    print(f"\ncomparison plot: {figure}")
    return 0


def _measure(args: argparse.Namespace) -> int:
    from simsparse.validation.measure import measure, write_measurements

    df = measure(device=args.device, sizes=args.sizes, repeats=args.repeats, warmup=args.warmup)
    write_measurements(df, args.out)
    print(f"wrote {len(df)} measurements to {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from simsparse.validation import run_validate_cli

    return run_validate_cli(args)


def _add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model preset name or YAML/config.json path")
    p.add_argument("--phase", choices=["prefill", "decode"], default="decode")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--context-len", type=int, default=2048)
    p.add_argument("--tp", type=int, default=1)
    p.add_argument("--ep", type=int, default=1)
    p.add_argument("--pp", type=int, default=1)
    p.add_argument("--prune", default=None, help="e.g. 2:4, unstructured:0.5")
    p.add_argument("--quant", default=None, help="e.g. w4a16, fp8, nvfp4")
    p.add_argument(
        "--act-quant",
        choices=["fused", "kernel", "dynamic_tensor"],
        default="fused",
        help="how quantized activations are made: fused into the producer (default), a quantize kernel, "
        "or amax + quantize kernels (dynamic per-tensor)",
    )
    p.add_argument("--act-sparsity", type=float, default=None)
    p.add_argument("--routing", default=None, help="e.g. balanced, power_law:1.2")
    p.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``simsparse`` command."""
    parser = argparse.ArgumentParser(
        prog="simsparse", description="Simulate sparse / MoE / low-bit LLM workloads on hardware."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    hw = sub.add_parser("hw", help="hardware presets").add_subparsers(dest="hw_command", required=True)
    p = hw.add_parser("list", help="list presets with their peak figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_hw_list)
    p = hw.add_parser("show", help="print the fully resolved config of a preset")
    p.add_argument("name")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--yaml", action="store_true")
    p.set_defaults(func=_hw_show)
    p = hw.add_parser("check", help="check hardware YAML files")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_hw_check)

    p = sub.add_parser("gemm", help="simulate one GEMM")
    p.add_argument("--hw", required=True)
    p.add_argument("--m", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--dtype", default="fp16")
    p.add_argument("--weight-pattern", default="dense")
    p.add_argument("--act-density", type=float, default=1.0)
    p.add_argument("--dataflow", choices=["os", "ws", "is"], default=None)
    p.add_argument("--array", default=None, help="ROWSxCOLS override of the matrix unit")
    p.add_argument("--fidelity", choices=["cycle", "event", "roofline"], default="event")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_gemm)

    p = sub.add_parser("run", help="simulate a model inference step")
    p.add_argument("--hw", required=True)
    _add_scenario(p)
    p.add_argument("--fidelity", choices=["cycle", "event", "roofline"], default="event")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)

    p = sub.add_parser("trace", help="write a workload trace table")
    _add_scenario(p)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_trace)

    p = sub.add_parser("demo", help="the headline comparison (Mixtral decode on DGX H100)")
    p.add_argument("--out", default="reports/demo")
    p.set_defaults(func=_demo)

    p = sub.add_parser("measure", help="run the measured-run kernel suite")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--sizes", choices=["small", "full"], default="small")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per case (the row is their median)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per case before the timed ones")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_measure)

    p = sub.add_parser("validate", help="predicted vs measured error on shipped or given datasets")
    p.add_argument("--dataset", default=None, help="dataset name or a CSV path")
    p.add_argument("--live", choices=["cpu"], default=None)
    p.add_argument("--report", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_validate)

    for _name, module in (("sweep", "simsparse.sweep.cli"), ("report", "simsparse.report.cli")):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        mod.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input, with a one-line error, no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args))
    except SimsparseError as exc:
        print(f"simsparse: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
