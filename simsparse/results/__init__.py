"""Simulation results: totals, per-op / per-device / per-level tables, JSON and Parquet IO."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .schema import COLUMNS, Column, label

__all__ = ["COLUMNS", "Column", "SimResult", "label"]


TableData = list[dict[str, Any]] | dict[str, Any] | Callable[[], list[dict[str, Any]]]
"""A result table before it becomes a DataFrame: row records, a dict of columns, or a function
returning the records (called on first access)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    """Result of :func:`simsparse.simulate`.

    ``totals`` holds the summary figures (see :meth:`summary`); ``ops`` one row per op (per
    device where it differs), ``devices`` one row per device, ``levels`` bytes per memory level,
    ``links`` bytes per collective, ``experts`` tokens per MoE expert. Column names and units
    come from :mod:`simsparse.results.schema`. The tables are built on first access (a sweep
    that only reads :meth:`summary` never pays for them).
    """

    hardware: str
    workload: str
    fidelity: str
    totals: dict[str, Any]
    tables: dict[str, TableData] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    _built: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def table(self, name: str) -> pd.DataFrame:
        """The result table ``name`` (``ops``, ``devices``, ``levels``, ``links``, ``experts``)."""
        if name not in self._built:
            data = self.tables.get(name, [])
            if callable(data):
                data = data()
            self._built[name] = pd.DataFrame(data) if isinstance(data, dict) else pd.DataFrame.from_records(data)
        return self._built[name]

    @property
    def ops(self) -> pd.DataFrame:
        """One row per op (per device where it differs)."""
        return self.table("ops")

    @property
    def devices(self) -> pd.DataFrame:
        """One row per device."""
        return self.table("devices")

    @property
    def levels(self) -> pd.DataFrame:
        """Bytes read and written per memory level."""
        return self.table("levels")

    @property
    def links(self) -> pd.DataFrame:
        """Bytes over the device links per collective op."""
        return self.table("links")

    @property
    def experts(self) -> pd.DataFrame:
        """Tokens and time per MoE expert."""
        return self.table("experts")

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
