"""``simsparse sweep SPEC.yaml``: the command-line face of :func:`simsparse.sweep.sweep`.

Wired into ``simsparse/cli.py`` with :func:`add_parser` and :func:`run`. This module may print:
tables go to stdout, errors to stderr as ``simsparse: error: ...`` (exit status 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simsparse.errors import SimsparseError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_CACHE_DIR", "add_parser", "run"]

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = ".simsparse-cache"
"""Where ``simsparse sweep`` keeps finished points unless ``--cache-dir`` says otherwise."""

MAX_ROWS_SHOWN = 40


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to an ``argparse`` subparsers object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sweep",
        help="run a design-space sweep (local processes, or a Dask cluster)",
        description="Run the sweep in SPEC.yaml (or a shipped sweep by name): one row per design point. "
        "Finished points are cached (--cache-dir), so a rerun or a grown sweep only computes new points "
        "and --resume finishes an interrupted run.",
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec file, or the name of a shipped sweep (stc_density)")
    p.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="address of a Dask scheduler (implies --executor dask)"
    )
    p.add_argument(
        "--executor", choices=("local", "dask", "dask-local"), default=None, help="where points run (default: local)"
    )
    p.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N", help="local worker processes (default: CPU count)"
    )
    p.add_argument("--out", "-o", metavar="results.parquet", help="write the table (.parquet or .csv)")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help=f"result cache (default: {DEFAULT_CACHE_DIR} in the current directory)",
    )
    p.add_argument("--resume", action="store_true", help="finish an interrupted run of this sweep")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--pareto", action="store_true", help="also print the Pareto front of the spec's objectives")
    p.set_defaults(func=run)
    return p


def _write(df: Any, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    table = df.copy()
    table.attrs = {}
    if path.suffix == ".csv":
        table.to_csv(tmp, index=False)
    else:
        table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _show(df: pd.DataFrame) -> str:
    shown = df.drop(columns=["point_hash"], errors="ignore")
    if len(shown) > MAX_ROWS_SHOWN:
        more = len(shown) - MAX_ROWS_SHOWN
        return str(shown.head(MAX_ROWS_SHOWN).to_string(index=False)) + f"\n... ({more} more rows)"
    return str(shown.to_string(index=False))


def run(args: argparse.Namespace) -> int:
    """Run the ``sweep`` command; 0 on success, 2 for a bad spec or request."""
    from .run import pareto, skipped, sweep
    from .spec import load_sweep

    out = sys.stdout
    try:
        spec = load_sweep(args.spec)
        executor = args.executor or ("dask" if args.scheduler else "local")
        df = sweep(
            spec,
            executor=executor,
            n_jobs=args.jobs,
            cache_dir=args.cache_dir or DEFAULT_CACHE_DIR,
            scheduler=args.scheduler,
            resume=args.resume,
            progress=not args.quiet,
        )
        out.write(f"sweep {spec.name}: {len(df)} point(s), fidelity {spec.fidelity}\n")
        out.write(_show(df) + "\n")
        skip = skipped(df)
        if len(skip):
            out.write(f"\nskipped {len(skip)} point(s):\n")
            out.write(_show(skip[["point", "workload", "status", "reason"]]) + "\n")
        if args.pareto:
            front = pareto(df, minimize=spec.pareto.minimize, maximize=spec.pareto.maximize)
            goals = [f"min {m}" for m in spec.pareto.minimize] + [f"max {m}" for m in spec.pareto.maximize]
            out.write(f"\nPareto front ({', '.join(goals)}): {len(front)} of {len(df)} point(s)\n")
            out.write(_show(front) + "\n")
        if args.out:
            _write(df, args.out)
            out.write(f"\nwrote {args.out}\n")
    except SimsparseError as exc:
        sys.stderr.write(f"simsparse: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("simsparse: interrupted; finished points are cached, rerun with --resume\n")
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m simsparse.sweep.cli SPEC.yaml ...`` (the same as ``simsparse sweep``)."""
    parser = argparse.ArgumentParser(prog="simsparse")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
