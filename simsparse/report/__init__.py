"""Reports: one call (or ``simsparse report NAME --out DIR``) simulates a study and writes a
self-contained folder of PNG figures, CSV tables, ``index.html`` and ``README.md``.

>>> from simsparse.report import REPORTS
>>> sorted(REPORTS)
['moe-study', 'quantization-study', 'sparsity-study', 'validation']

The folder is built next to ``out_dir`` and renamed into place at the end, so a failed build
leaves any previous report untouched. ``quick=True`` runs a reduced set in seconds (the test
suite builds every report that way).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simsparse.errors import SimsparseError, closest

from ._writer import ReportWriter

__all__ = ["REPORTS", "Report", "ReportWriter", "build_report"]


@dataclass(frozen=True, slots=True)
class Report:
    """A shipped report: its title, one-paragraph summary and the module that builds it."""

    name: str
    title: str
    summary: str
    module: str

    def builder(self) -> Callable[[ReportWriter, bool], None]:
        mod = importlib.import_module(self.module)
        fn: Callable[[ReportWriter, bool], None] = mod.build
        return fn


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report(
            name="sparsity-study",
            title="Sparsity study: dense vs 2:4 vs flexible N:M vs unstructured vs dual-side",
            summary=(
                "One LLM GEMM pruned to each sparsity format across weight densities, simulated on the sparse "
                "accelerator presets (2:4 sparse tensor core, VEGETA, DSTC, SIGMA-like) and on GPUs: which formats "
                "turn fewer nonzeros into less time and energy, on which hardware, and why."
            ),
            module="simsparse.report.sparsity",
        ),
        Report(
            name="moe-study",
            title="MoE study: routing skew, expert parallelism and interconnect",
            summary=(
                "One Mixtral-style MoE layer (8 experts, top-2) on an 8-GPU node: how routing skew, the expert-parallel "
                "degree and the interconnect bandwidth set the layer's time, through load imbalance and all-to-all traffic."
            ),
            module="simsparse.report.moe",
        ),
        Report(
            name="quantization-study",
            title="Quantization study: bf16 vs fp8 vs w4a16 vs nvfp4 in decode and prefill",
            summary=(
                "Llama-3.1-8B in decode and prefill with bf16, fp8 (fp8 weights and activations), w4a16 (int4 weights, 16-bit activations) and nvfp4 "
                "on GPUs: throughput, energy per token and where the time goes, and which formats each GPU can run."
            ),
            module="simsparse.report.quantization",
        ),
        Report(
            name="validation",
            title="Validation: predicted vs measured on every shipped dataset",
            summary=(
                "Every row of the shipped measured datasets (GEMMs, MoE layers, collectives, transformer ops, 2:4 sparse "
                "GEMMs, end-to-end decode) simulated on the matching preset and compared with the measurement."
            ),
            module="simsparse.report.validation",
        ),
    )
}
"""The shipped reports, by name."""


def build_report(name: str, out_dir: str | os.PathLike[str], quick: bool = False) -> list[Path]:
    """Build report ``name`` into ``out_dir`` (replaced atomically); the paths of the files written.

    Raises :class:`~simsparse.errors.SimsparseError` for an unknown report name.
    """
    report = REPORTS.get(name)
    if report is None:
        raise SimsparseError(
            f"report: expected one of {', '.join(REPORTS)}{closest(name, list(REPORTS))}, got {name!r}"
        )
    build = report.builder()
    writer = ReportWriter(name=name, title=report.title, summary=report.summary, out_dir=Path(out_dir), quick=quick)
    try:
        build(writer, quick)
        return writer.commit()
    finally:
        writer.discard()
