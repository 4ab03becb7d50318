"""The trace table: one row per op, columns exactly :data:`~simsparse.workload.op.OP_COLUMNS`.

In the DataFrame, tuple columns (``b_block_nnz``, ``b_block_shape``, ``group_tokens``,
``group_device``, ``traffic_bytes``) hold Python tuples of ints. Parquet stores them as
``list<int64>``; CSV as space-separated integers (an empty cell is the empty tuple). Floats are
written with ``repr`` precision, so both formats round-trip exactly.

The workload's name, model, scenario and transforms travel as JSON: in the Parquet schema
metadata (key ``simsparse``), and in CSV as an optional first line ``# simsparse {json}``.
Hand-written traces may omit that line and any column but ``name`` and ``kind`` (defaults apply).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

import pandas as pd

from simsparse.errors import WorkloadError, closest

from .model import ModelSpec
from .op import OP_COLUMNS, Op
from .scenario import Scenario
from .workload import Workload

__all__ = ["TUPLE_COLUMNS", "load_trace", "to_trace", "write_trace"]

_HINTS = typing.get_type_hints(Op)
_FIELDS = {f.name: f for f in dataclasses.fields(Op)}
TUPLE_COLUMNS: tuple[str, ...] = tuple(c for c in OP_COLUMNS if typing.get_origin(_HINTS[c]) is tuple)
_INT_COLUMNS = tuple(c for c in OP_COLUMNS if _HINTS[c] is int)
_FLOAT_COLUMNS = tuple(c for c in OP_COLUMNS if _HINTS[c] is float)
_BOOL_COLUMNS = tuple(c for c in OP_COLUMNS if _HINTS[c] is bool)
_META_KEY = b"simsparse"
_CSV_PREFIX = "# simsparse "


def to_trace(workload: Workload) -> pd.DataFrame:
    rows = [[getattr(op, c) for c in OP_COLUMNS] for op in workload.ops]
    df = pd.DataFrame(rows, columns=list(OP_COLUMNS))
    for c in TUPLE_COLUMNS:
        df[c] = pd.Series([tuple(v) for v in df[c]], dtype=object, index=df.index)
    for c in OP_COLUMNS:
        if c not in TUPLE_COLUMNS and _HINTS[c] is str:
            df[c] = df[c].astype(object)
    df.attrs["simsparse"] = _meta(workload)
    return df


def _meta(workload: Workload) -> dict[str, Any]:
    return {
        "name": workload.name,
        "model": dataclasses.asdict(workload.model) if workload.model is not None else None,
        "scenario": dataclasses.asdict(workload.scenario) if workload.scenario is not None else None,
        "transforms": list(workload.transforms),
    }


def _atomic_write(path: Path, write: typing.Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_trace(workload_or_df: Workload | pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a trace to ``.parquet`` or ``.csv`` atomically (a temporary file, then ``os.replace``)."""
    p = Path(path)
    if isinstance(workload_or_df, Workload):
        df, meta = to_trace(workload_or_df), _meta(workload_or_df)
    else:
        df = workload_or_df
        meta = dict(df.attrs.get("simsparse") or {"name": p.stem, "model": None, "scenario": None, "transforms": []})
        missing = [c for c in OP_COLUMNS if c not in df.columns]
        if missing:
            raise WorkloadError(f"write_trace: the DataFrame lacks columns {', '.join(missing)}")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays, names = [], []
        for c in OP_COLUMNS:
            values = list(df[c])
            if c in TUPLE_COLUMNS:
                arrays.append(
                    pa.array([list(_as_tuple(v, c, i)) for i, v in enumerate(values)], type=pa.list_(pa.int64()))
                )
            elif c in _INT_COLUMNS:
                arrays.append(pa.array([int(v) for v in values], type=pa.int64()))
            elif c in _FLOAT_COLUMNS:
                arrays.append(pa.array([float(v) for v in values], type=pa.float64()))
            elif c in _BOOL_COLUMNS:
                arrays.append(pa.array([bool(v) for v in values], type=pa.bool_()))
            else:
                arrays.append(pa.array([str(v) for v in values], type=pa.string()))
            names.append(c)
        table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(
            {_META_KEY: json.dumps(meta).encode()}
        )
        _atomic_write(p, lambda tmp: pq.write_table(table, tmp))
    elif suffix == ".csv":
        out = df[list(OP_COLUMNS)].copy()
        for c in TUPLE_COLUMNS:
            out[c] = [" ".join(str(int(x)) for x in _as_tuple(v, c, i)) for i, v in enumerate(out[c])]
        for c in _FLOAT_COLUMNS:
            out[c] = [repr(float(v)) for v in out[c]]

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(_CSV_PREFIX + json.dumps(meta) + "\n")
                out.to_csv(fh, index=False)

        _atomic_write(p, write)
    else:
        raise WorkloadError(f"write_trace: {str(p)!r}: expected a .parquet or .csv path")


def _as_tuple(value: Any, column: str, row: int) -> tuple[int, ...]:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        try:
            return tuple(int(x) for x in text.replace(",", " ").split())
        except ValueError:
            raise WorkloadError(
                f"row {row + 1}, column {column!r}: expected space-separated integers, got {value!r}"
            ) from None
    if value is None or (isinstance(value, float) and value != value):
        return ()
    try:
        items = list(value)
    except TypeError:
        raise WorkloadError(f"row {row + 1}, column {column!r}: expected a list of integers, got {value!r}") from None
    out = []
    for x in items:
        if isinstance(x, bool) or int(x) != x:
            raise WorkloadError(f"row {row + 1}, column {column!r}: expected integers, got {x!r}")
        out.append(int(x))
    return tuple(out)


def _convert(value: Any, column: str, row: int, shown: str) -> Any:
    def bad(expected: str) -> WorkloadError:
        return WorkloadError(f"{shown}: row {row + 1}, column {column!r}: expected {expected}, got {value!r}")

    if column in TUPLE_COLUMNS:
        try:
            return _as_tuple(value, column, row)
        except WorkloadError as exc:
            raise WorkloadError(f"{shown}: {exc}") from None
    hint = _HINTS[column]
    if hint is int:
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise bad("an integer") from None
        try:
            if float(value) != int(value):
                raise bad("an integer")
            return int(value)
        except (TypeError, ValueError, OverflowError):
            raise bad("an integer") from None
    if hint is float:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
        if f != f:
            raise bad("a number")
        return f
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise bad("true or false")
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def load_trace(path: str | os.PathLike[str]) -> Workload:
    """Read a trace (``.parquet`` or ``.csv``) back into a :class:`Workload`, validating every row."""
    p = Path(path)
    shown = str(path)
    if not p.is_file():
        raise WorkloadError(f"{shown}: expected an existing trace file")
    meta: dict[str, Any] = {}
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(p)
            raw_meta = (table.schema.metadata or {}).get(_META_KEY)
            if raw_meta:
                meta = json.loads(raw_meta)
            records = {c: table.column(c).to_pylist() for c in table.column_names}
            n_rows = table.num_rows
        elif suffix == ".csv":
            with open(p, encoding="utf-8") as fh:
                first = fh.readline()
                skip = 0
                if first.startswith(_CSV_PREFIX):
                    meta = json.loads(first[len(_CSV_PREFIX) :])
                    skip = 1
            df = pd.read_csv(p, dtype=str, keep_default_na=False, skiprows=skip)
            records = {c: list(df[c]) for c in df.columns}
            n_rows = len(df)
        else:
            raise WorkloadError(f"{shown}: expected a .parquet or .csv trace")
    except WorkloadError:
        raise
    except Exception as exc:  # malformed files from other tools
        raise WorkloadError(f"{shown}: could not read the trace ({type(exc).__name__}: {exc})") from None
    unknown = [c for c in records if c not in _FIELDS]
    if unknown:
        c = unknown[0]
        raise WorkloadError(
            f"{shown}: column {c!r}: expected a known column{closest(c, OP_COLUMNS)}; columns: {', '.join(OP_COLUMNS)}"
        )
    for required in ("name", "kind"):
        if required not in records:
            raise WorkloadError(f"{shown}: column {required!r}: missing (required)")
    ops = []
    for i in range(n_rows):
        kwargs = {c: _convert(records[c][i], c, i, shown) for c in records}
        try:
            ops.append(Op(**kwargs))
        except WorkloadError as exc:
            msg = str(exc)
            column = next((c for c in OP_COLUMNS if f": {c}: " in msg), "")
            where = f"row {i + 1}" + (f", column {column!r}" if column else "")
            raise WorkloadError(f"{shown}: {where}: {msg}") from None
    model = scenario = None
    try:
        if meta.get("model"):
            md = dict(meta["model"])
            md["sources"] = tuple(md.get("sources") or ())
            model = ModelSpec(**md)
        if meta.get("scenario"):
            scenario = Scenario(**meta["scenario"])
    except (TypeError, WorkloadError) as exc:
        raise WorkloadError(f"{shown}: simsparse metadata: {exc}") from None
    return Workload(
        name=str(meta.get("name") or p.stem),
        model=model,
        scenario=scenario,
        ops=tuple(ops),
        transforms=tuple(meta.get("transforms") or ()),
    )
