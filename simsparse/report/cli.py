"""``simsparse report NAME --out DIR [--quick]``: the argparse layer over :func:`build_report`.

Wire it into the main CLI with::

    from simsparse.report import cli as report_cli
    report_cli.add_parser(subparsers)      # registers "report", sets func=report_cli.run
    ...
    return args.func(args)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simsparse.errors import SimsparseError

from . import REPORTS, build_report

__all__ = ["add_parser", "main", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` sub-command to an ``argparse`` sub-parsers object; returns its parser."""
    lines = "\n".join(f"  {r.name:<20} {r.title}" for r in REPORTS.values())
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="build a report folder (figures, tables, index.html, README.md)",
        description=f"Build a shipped report into a self-contained folder.\n\nreports:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", choices=sorted(REPORTS), metavar="NAME", help="report to build: " + ", ".join(REPORTS))
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write (replaced atomically)")
    p.add_argument("--quick", action="store_true", help="run a reduced set (seconds, for smoke tests)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Build the report of ``args``; prints the folder and its index. 0 on success, 2 on a user error."""
    try:
        files = build_report(args.name, args.out, quick=bool(args.quick))
    except SimsparseError as exc:
        sys.stderr.write(f"simsparse report: error: {exc}\n")
        return 2
    index = next((f for f in files if f.name == "index.html"), None)
    sys.stdout.write(f"wrote {len(files)} files to {Path(args.out)}\n")
    if index is not None:
        sys.stdout.write(f"open {index}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m simsparse.report.cli NAME --out DIR``."""
    parser = argparse.ArgumentParser(prog="simsparse")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
