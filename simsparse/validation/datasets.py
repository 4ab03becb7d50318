"""Measured datasets: the public GPU measurements shipped in ``simsparse/data/measured`` and any CSV in
the same long format (one measured or computed number per row).

:func:`load_measurements` validates a file strictly: a missing column, an unknown ``kind``, ``metric``
or ``unit``, a unit that does not belong to the metric, or a non-numeric number is a
:class:`~simsparse.errors.ConfigError` naming the file, the line (1 = the header) and the column. The
columns are defined in ``simsparse/data/measured/README.md``; the provenance columns
(``source_repo``, ``source_path_or_url``, ``source_commit_or_date``, ``license``, ``note``) must be
present (they may be empty in a user's own file) and are kept unchanged.
"""

from __future__ import annotations

import csv
import io
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd

from simsparse.errors import ConfigError, ConfigErrors, closest

__all__ = [
    "COLUMNS",
    "KINDS",
    "METRIC_UNITS",
    "NUMERIC_COLUMNS",
    "dataset_path",
    "list_datasets",
    "load_measurements",
    "parse_extra",
]

COLUMNS: tuple[str, ...] = (
    "source_id",
    "gpu",
    "stack",
    "kind",
    "dtype",
    "m",
    "n",
    "k",
    "tokens",
    "batch",
    "extra",
    "metric",
    "value",
    "unit",
    "source_repo",
    "source_path_or_url",
    "source_commit_or_date",
    "license",
    "note",
)
"""The columns of the long format, in order (other columns are allowed and kept)."""

NUMERIC_COLUMNS: tuple[str, ...] = ("m", "n", "k", "tokens", "batch")
"""Optional numeric columns (blank where not applicable); ``value`` is required and numeric."""

REQUIRED_VALUES: tuple[str, ...] = ("source_id", "gpu", "kind", "metric", "value", "unit")
"""Columns that may not be blank."""

KINDS: tuple[str, ...] = (
    "gemm",
    "sparse_gemm_2of4",
    "gemm_weight_only",
    "moe_layer",
    "grouped_gemm",
    "decode_attention",
    "allreduce",
    "alltoall",
    "mlp_op",
    "transformer_op",
    "e2e_decode",
    "e2e_prefill",
    "bandwidth",
    "spmm_csr",
)
"""Row kinds: those of the shipped datasets plus ``spmm_csr`` of the measured-run kernel suite."""

METRIC_UNITS: dict[str, str] = {
    "latency_us": "us",
    "tflops": "TFLOP/s",
    "gb_per_s": "GB/s",
    "tok_per_s": "tok/s",
    "img_per_s": "img/s",
    "speedup_vs_dense": "x",
    "speedup_vs_baseline": "x",
}
"""Each metric and the one unit it is written in."""

_PACKAGE_DIR = "data/measured"


def _data_dir() -> Path:
    return Path(str(resources.files("simsparse").joinpath(_PACKAGE_DIR)))


def list_datasets() -> list[str]:
    """Names of the shipped measured datasets (CSV file stems), sorted."""
    return sorted(p.stem for p in _data_dir().glob("*.csv"))


def dataset_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The CSV file of a shipped dataset name, or ``name_or_path`` itself when it is a file.

    Raises :class:`ConfigError` (with a did-you-mean) for an unknown name or a missing file.
    """
    text = os.fspath(name_or_path)
    shipped = _data_dir() / f"{text}.csv"
    if "/" not in text and "\\" not in text and not text.endswith(".csv") and shipped.is_file():
        return shipped
    path = Path(text)
    if path.is_file():
        return path
    names = list_datasets()
    if text in names:  # pragma: no cover - handled above
        return shipped
    raise ConfigError(
        "dataset",
        f"a shipped dataset ({', '.join(names)}) or the path of a CSV file{closest(text, names)}",
        text,
    )


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``df`` as ``{column: value}`` dicts (``DataFrame.to_dict("records")``, typed with
    string column names as every table of this package has)."""
    return cast(list[dict[str, Any]], df.to_dict("records"))


def parse_extra(text: object) -> dict[str, str]:
    """``"a=1;b=x"`` -> ``{"a": "1", "b": "x"}``; entries without ``=`` are kept under their own name
    with an empty value; blank or NaN gives ``{}``."""
    if not isinstance(text, str) or not text.strip():
        return {}
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        out[key.strip()] = value.strip() if sep else ""
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def load_measurements(name_or_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate a measured dataset (a shipped name such as ``"aic_a100_h100"`` or a CSV path).

    Returns one row per CSV row with the columns of :data:`COLUMNS` (numeric columns as floats, NaN
    where blank), extra columns kept, plus ``dataset`` (the file stem) and ``line`` (the CSV line
    number of the row). Every problem of the file is reported at once in one :class:`ConfigError`.
    """
    path = dataset_path(name_or_path)
    shown = str(path) if not path.is_relative_to(_data_dir()) else f"simsparse/data/measured/{path.name}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", "a readable UTF-8 CSV file", str(exc), file=shown) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError(
            "", f"a header row with the columns {', '.join(COLUMNS)}", "an empty file", file=shown, line=1
        ) from None
    except csv.Error as exc:
        raise ConfigError("", "a valid CSV header", str(exc), file=shown, line=1) from None
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    errors: list[ConfigError] = []
    if missing:
        raise ConfigError(
            "header",
            f"the columns {', '.join(COLUMNS)} (missing: {', '.join(missing)})",
            header,
            file=shown,
            line=1,
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ConfigError("header", "each column once", dupes, file=shown, line=1)
    index = {name: i for i, name in enumerate(header)}
    records: list[dict[str, object]] = []
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                errors.append(
                    ConfigError("row", f"{len(header)} fields like the header", len(row), file=shown, line=line)
                )
                continue
            rec: dict[str, object] = {name: row[i] for name, i in index.items()}
            for col in REQUIRED_VALUES:
                if not str(rec[col]).strip():
                    errors.append(ConfigError(col, "a value (this column may not be blank)", "", file=shown, line=line))
            kind = str(rec["kind"]).strip()
            if kind and kind not in KINDS:
                errors.append(
                    ConfigError("kind", f"one of {', '.join(KINDS)}{closest(kind, KINDS)}", kind, file=shown, line=line)
                )
            metric = str(rec["metric"]).strip()
            unit = str(rec["unit"]).strip()
            if metric and metric not in METRIC_UNITS:
                errors.append(
                    ConfigError(
                        "metric",
                        f"one of {', '.join(METRIC_UNITS)}{closest(metric, list(METRIC_UNITS))}",
                        metric,
                        file=shown,
                        line=line,
                    )
                )
            units = sorted(set(METRIC_UNITS.values()))
            if unit and unit not in units:
                errors.append(
                    ConfigError("unit", f"one of {', '.join(units)}{closest(unit, units)}", unit, file=shown, line=line)
                )
            elif unit and metric in METRIC_UNITS and METRIC_UNITS[metric] != unit:
                errors.append(
                    ConfigError("unit", f"{METRIC_UNITS[metric]!r} for metric {metric!r}", unit, file=shown, line=line)
                )
            value_text = str(rec["value"]).strip()
            if value_text:
                v = _number(value_text)
                if v is None or not math.isfinite(v):
                    errors.append(ConfigError("value", "a finite number", value_text, file=shown, line=line))
                else:
                    rec["value"] = v
            for col in NUMERIC_COLUMNS:
                cell = str(rec[col]).strip()
                if not cell:
                    rec[col] = math.nan
                    continue
                v = _number(cell)
                if v is None or not math.isfinite(v) or v < 0:
                    errors.append(ConfigError(col, "a number >= 0 or blank", cell, file=shown, line=line))
                else:
                    rec[col] = v
            rec["line"] = line
            records.append(rec)
    except csv.Error as exc:
        errors.append(ConfigError("", "valid CSV", str(exc), file=shown, line=line))
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    df = pd.DataFrame.from_records(records, columns=[*header, "line"])
    for col in (*NUMERIC_COLUMNS, "value"):
        df[col] = pd.to_numeric(df[col]).astype(float)
    df.insert(0, "dataset", path.stem)
    return df
