"""The content-addressed result store: small Parquet parts written atomically.

Layout of a cache directory::

    parts/part-<uuid>.parquet      rows (key, status, reason, summary): one part per finished batch
    sweeps/<spec-digest>.json      the manifest of each sweep started with this cache (for resume)

Each part is written to a temporary file and moved into place with :func:`os.replace`, so a
killed run leaves only whole parts (and maybe a stray ``*.tmp``, ignored). A key present in
several parts (two runs racing, or a compaction cut short) has equal rows; the first is kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simsparse.errors import SimsparseError

from .worker import Record

__all__ = ["ResultStore"]

log = logging.getLogger(__name__)

_COLUMNS = ("key", "status", "reason", "summary")
COMPACT_ABOVE = 64
"""Parts are merged into one when a finished sweep leaves more than this many."""


class ResultStore:
    """Cached point results in ``directory`` (in memory only when ``directory`` is ``None``)."""

    __slots__ = ("directory", "records")

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.records: dict[str, Record] = {}
        if self.directory is not None:
            try:
                (self.directory / "parts").mkdir(parents=True, exist_ok=True)
                (self.directory / "sweeps").mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SimsparseError(
                    f"cache_dir: expected a writable directory, got {str(directory)!r} ({exc.strerror})"
                ) from None
            self._load()

    def _parts(self) -> list[Path]:
        assert self.directory is not None
        return sorted((self.directory / "parts").glob("part-*.parquet"))

    def _load(self) -> None:
        import pyarrow.parquet as pq

        for part in self._parts():
            try:
                table = pq.read_table(part, columns=list(_COLUMNS)).to_pydict()
            except Exception as exc:  # a foreign or damaged file: skip it, recompute its points
                log.warning("cache part %s unreadable, ignored: %s", part, exc)
                continue
            for key, status, reason, summary in zip(*(table[c] for c in _COLUMNS), strict=True):
                if key not in self.records:
                    self.records[key] = Record(key=key, status=status, reason=reason, summary=summary)

    def get(self, key: str) -> Record | None:
        """The cached record of ``key``."""
        return self.records.get(key)

    def add(self, records: Iterable[Record]) -> None:
        """Remember ``records`` and write them as one new part (internal failures are not kept)."""
        fresh = [r for r in records if r.status != "failed"]
        for r in fresh:
            self.records.setdefault(r.key, r)
        if self.directory is not None and fresh:
            self._write(fresh)

    def _write(self, records: list[Record]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert self.directory is not None
        table = pa.table({c: pa.array([getattr(r, c) for r in records], type=pa.string()) for c in _COLUMNS})
        name = f"part-{uuid.uuid4().hex}.parquet"
        final = self.directory / "parts" / name
        tmp = final.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        return final

    def compact(self) -> None:
        """Merge all parts into one (new part first, then the old ones go; a kill in between only duplicates)."""
        if self.directory is None:
            return
        parts = self._parts()
        if len(parts) <= COMPACT_ABOVE:
            return
        keep = self._write(list(self.records.values()))
        for part in parts:
            if part != keep:
                with contextlib.suppress(OSError):  # another process removed it
                    part.unlink()

    def manifest_path(self, digest: str) -> Path | None:
        """Where the manifest of the sweep with ``digest`` lives."""
        return None if self.directory is None else self.directory / "sweeps" / f"{digest}.json"

    def write_manifest(self, digest: str, data: dict[str, Any]) -> None:
        """Record that a sweep started (atomically)."""
        path = self.manifest_path(digest)
        if path is None:
            return
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
