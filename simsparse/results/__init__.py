"""Simulation results: totals, per-op / per-device / per-level tables, JSON and Parquet IO."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .schema import COLUMNS, Column, label

__all__ = ["COLUMNS", "Column", "SimResult", "label"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    """Result of :func:`simsparse.simulate`.

    ``totals`` holds the summary figures (see :meth:`summary`); ``ops`` one row per op (per
    device where it differs), ``devices`` one row per device, ``levels`` bytes per memory level,
    ``links`` bytes per device link, ``experts`` tokens per MoE expert. Column names and units
    come from :mod:`simsparse.results.schema`.
    """

    hardware: str
    workload: str
    fidelity: str
    totals: dict[str, Any]
    ops: pd.DataFrame
    devices: pd.DataFrame = field(default_factory=pd.DataFrame)
    levels: pd.DataFrame = field(default_factory=pd.DataFrame)
    links: pd.DataFrame = field(default_factory=pd.DataFrame)
    experts: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The headline figures: ``cycles``, ``latency_s``, ``tokens_per_s``, ``energy_j``, ``bottleneck``..."""
        return dict(self.totals)

    def to_json(self) -> str:
        """Summary and per-op rows as JSON text."""
        return json.dumps(
            {
                "hardware": self.hardware,
                "workload": self.workload,
                "fidelity": self.fidelity,
                "summary": _plain(self.totals),
                "ops": json.loads(self.ops.to_json(orient="records")),
                "notes": list(self.notes),
            },
            indent=2,
        )

    def write(self, directory: str | os.PathLike[str]) -> None:
        """Write ``summary.json`` and one Parquet file per table into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "summary.json.tmp"
        tmp.write_text(self.to_json())
        os.replace(tmp, out / "summary.json")
        for name in ("ops", "devices", "levels", "links", "experts"):
            table: pd.DataFrame = getattr(self, name)
            if len(table):
                part = out / f"{name}.parquet.tmp"
                table.to_parquet(part, index=False)
                os.replace(part, out / f"{name}.parquet")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out
