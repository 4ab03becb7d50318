"""``sweep()``: plan, reuse cached points, run the rest on an executor, assemble the table.

Executors: ``local`` (a :class:`concurrent.futures.ProcessPoolExecutor`, the default; one
process runs points inline), ``dask`` (``distributed.Client(scheduler)``) and ``dask-local``
(a ``distributed.LocalCluster`` on this machine). Dask is imported only when used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import pandas as pd

from simsparse.errors import ConfigError, SimsparseError, closest

from .cache import ResultStore
from .space import Plan, Point, plan
from .spec import SweepSpec, load_sweep
from .worker import Item, Job, Record, metric_value, run_batch

__all__ = ["EXECUTORS", "pareto", "skipped", "sweep"]

log = logging.getLogger(__name__)

EXECUTORS: tuple[str, ...] = ("local", "dask", "dask-local")
SKIPPED_ATTR = "skipped"


def _batches(points: Sequence[Point], n_workers: int, per_worker: int = 8, most: int = 64) -> list[list[Item]]:
    """Consecutive points in batches: about ``per_worker`` batches per worker, at most ``most`` points each.

    Each batch is one task and one cache part (a kill loses at most the batches in flight).
    Locally a batch costs little, so batches stay small (frequent parts, a smooth progress bar);
    a Dask task costs milliseconds of scheduler and network time, so Dask gets about two large
    batches per worker.
    """
    if not points:
        return []
    size = max(1, min(most, math.ceil(len(points) / (max(n_workers, 1) * per_worker))))
    items: list[Item] = [(p.key, p.index, p.workload, p.values) for p in points]
    return [items[i : i + size] for i in range(0, len(items), size)]


DASK_BATCHES_PER_WORKER = 2
DASK_BATCH_MOST = 1024
"""Dask batches: about two per worker, at most this many points (a lost worker loses no more)."""


_INSTALLED: dict[str, Job] = {}


def _install(job: Job) -> None:
    """Pool initializer: keep the job in the worker process (sent once, not with every batch)."""
    _INSTALLED.clear()
    _INSTALLED[job.token] = job


def _run_installed(token: str, items: list[Item]) -> list[Record]:
    return run_batch(_INSTALLED[token], items)


def _job_token(spec: SweepSpec, digest: str) -> str:
    h = hashlib.sha256()
    h.update(repr(spec).encode())
    h.update(digest.encode())
    return h.hexdigest()[:32]


def _spec_digest(spec: SweepSpec, p: Plan) -> str:
    h = hashlib.sha256()
    h.update(spec.name.encode())
    for pt in p.points:
        h.update(pt.key.encode())
    return h.hexdigest()[:24]


def _run_local(job: Job, batches: list[list[Item]], n_jobs: int, on_done: Callable[[list[Record]], None]) -> None:
    if n_jobs <= 1 or len(batches) <= 1:
        for batch in batches:
            on_done(run_batch(job, batch))
        return
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    pool = ProcessPoolExecutor(
        max_workers=min(n_jobs, len(batches)), mp_context=ctx, initializer=_install, initargs=(job,)
    )
    try:
        pending: set[Future[list[Record]]] = {pool.submit(_run_installed, job.token, b) for b in batches}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                on_done(fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _connect(executor: str, scheduler: str | None, n_jobs: int, timeout_s: float) -> Generator[Any, None, None]:
    """Yield a connected ``distributed.Client`` (and close it, and any LocalCluster, afterwards)."""
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise SimsparseError(
            f"executor: expected dask[distributed] installed for executor {executor!r} (pip install 'simsparse[distributed]')"
        ) from None
    cluster = None
    try:
        if executor == "dask-local":
            cluster = distributed.LocalCluster(
                n_workers=n_jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.WARNING,
            )
            client = distributed.Client(cluster)
        else:
            assert scheduler is not None
            try:
                client = distributed.Client(scheduler, timeout=f"{timeout_s}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError(
                    "scheduler",
                    f"a reachable Dask scheduler address like tcp://HOST:PORT (no answer within {timeout_s:g} s: {exc})",
                    scheduler,
                ) from None
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _run_dask(client: Any, job: Job, batches: list[list[Item]], on_done: Callable[[list[Record]], None]) -> None:
    distributed: Any = importlib.import_module("distributed")

    # The job travels with each task. Batches are few (about two per worker), so that costs little,
    # and unlike a scattered job it cannot be lost with a killed worker: a scattered key that lived
    # on a dead worker is "forgotten" and every task depending on it is cancelled.
    futures = [client.submit(run_batch, job, b, pure=False, retries=3) for b in batches]
    try:
        for fut in distributed.as_completed(futures):
            try:
                on_done(fut.result())
            except distributed.KilledWorker as exc:
                raise SimsparseError(f"dask: a batch of points killed its workers repeatedly: {exc}") from None
    except BaseException:
        client.cancel(futures)
        raise


def _table(p: Plan, store: ResultStore, failures: dict[str, Record]) -> pd.DataFrame:
    spec = p.spec
    cols = p.columns
    rows: list[dict[str, Any]] = []
    skipped_rows: list[dict[str, Any]] = []
    for ex in p.excluded:
        skipped_rows.append(
            {
                "point": ex["point"],
                "workload": ex["workload"],
                **dict(zip(cols, ex["values"], strict=True)),
                "status": "excluded",
                "reason": ex["reason"],
            }
        )
    for pt in p.points:
        rec = store.get(pt.key) or failures.get(pt.key)
        base = {
            "point": pt.index,
            "workload": spec.workloads[pt.workload].label,
            **dict(zip(cols, pt.values, strict=True)),
        }
        if rec is None:  # pragma: no cover - every point is computed or cached before this
            raise SimsparseError(f"sweep {spec.name!r}: point {pt.index} has no result")
        if rec.status != "ok":
            skipped_rows.append({**base, "status": rec.status, "reason": rec.reason})
            continue
        row = dict(base)
        if rec.metrics is not None and rec.metrics[0] == spec.metrics:
            row.update(zip(spec.metrics, rec.metrics[1], strict=True))
        else:
            summary = json.loads(rec.summary)
            for m in spec.metrics:
                row[m] = metric_value(summary, m)
        row["point_hash"] = pt.key
        rows.append(row)
    columns = ["point", "workload", *cols, *spec.metrics, "point_hash"]
    df = pd.DataFrame.from_records(rows, columns=columns)
    for m in spec.metrics:  # numeric metrics stay float64 even when some are missing
        if (
            len(df)
            and df[m].map(lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))).all()
        ):
            df[m] = df[m].astype("float64")
    skipped_rows.sort(key=lambda r: r["point"])
    df.attrs[SKIPPED_ATTR] = skipped_rows
    df.attrs["sweep"] = spec.name
    df.attrs["fidelity"] = spec.fidelity
    return df


def skipped(df: pd.DataFrame) -> pd.DataFrame:
    """The points of a sweep table that have no row, with their status and reason.

    ``status`` is ``excluded`` (a constraint is false), ``invalid`` (the point fails validation),
    ``error`` (the simulator refused it, e.g. it does not fit) or ``failed`` (an internal error).
    """
    rows = df.attrs.get(SKIPPED_ATTR, [])
    return pd.DataFrame.from_records(rows, columns=None if rows else ["point", "workload", "status", "reason"])


def sweep(
    spec: SweepSpec | str | os.PathLike[str],
    executor: str = "local",
    n_jobs: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    *,
    scheduler_timeout_s: float = 10.0,
) -> pd.DataFrame:
    """Run a design-space sweep; a tidy table with one row per simulated point.

    Columns: ``point`` (index, the row order), ``workload``, one per axis, the spec's metrics and
    ``point_hash`` (the content hash the cache is keyed by). Points excluded by a constraint or
    skipped as invalid are listed by :func:`skipped` (``df.attrs["skipped"]``) with their reason.

    ``executor``: ``local`` (process pool of ``n_jobs`` workers, default the CPU count),
    ``dask`` (the Dask scheduler at ``scheduler``; given a ``scheduler``, ``dask`` is implied) or
    ``dask-local`` (a ``LocalCluster`` of ``n_jobs`` workers). ``cache_dir``: where finished
    points are kept (one Parquet part per batch, written as they finish), so a rerun or a grown
    sweep computes only new points; without it results live in memory only. ``resume``: finish a
    sweep that was interrupted (it needs the ``cache_dir`` the first run used). ``progress``: a
    tqdm bar on stderr.

    Every check (spec paths and types, an empty space, an unreachable scheduler) happens before
    any point is simulated.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    if scheduler is not None and executor == "local":
        executor = "dask"
    if executor not in EXECUTORS:
        raise ConfigError("executor", f"one of {', '.join(EXECUTORS)}{closest(str(executor), EXECUTORS)}", executor)
    if executor == "dask" and not scheduler:
        raise ConfigError("scheduler", "a Dask scheduler address (tcp://HOST:PORT) for executor 'dask'", scheduler)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1):
        raise ConfigError("n_jobs", "an integer >= 1 (or None for the CPU count)", n_jobs)
    if resume and cache_dir is None:
        raise ConfigError("cache_dir", "the cache directory of the interrupted run (resume needs one)", None)
    jobs = n_jobs or os.cpu_count() or 1
    p = plan(spec)
    store = ResultStore(cache_dir)
    digest = _spec_digest(spec, p)
    manifest = store.manifest_path(digest)
    if resume and manifest is not None and not manifest.exists():
        raise SimsparseError(
            f"resume: expected an interrupted run of sweep {spec.name!r} in cache_dir {str(cache_dir)!r}, got none "
            "(run it without resume first)"
        )
    todo: list[Point] = []
    seen: set[str] = set()
    for pt in p.points:
        if store.get(pt.key) is None and pt.key not in seen:
            todo.append(pt)
            seen.add(pt.key)
    n_cached = len(p.points) - len(todo)
    log.info(
        "sweep %s: %d points, %d cached, %d to compute (%s)", spec.name, len(p.points), n_cached, len(todo), executor
    )
    store.write_manifest(digest, {"sweep": spec.name, "n_points": len(p.points), "fidelity": spec.fidelity})
    job = Job(spec=spec, system=p.system, token=_job_token(spec, digest))
    failures: dict[str, Record] = {}
    clients = _connect(executor, scheduler, jobs, scheduler_timeout_s) if executor != "local" and todo else None
    client = next(clients) if clients is not None else None  # connects (or fails) before any work
    try:
        from tqdm import tqdm

        if client is not None:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)
            batches = _batches(todo, n_workers, DASK_BATCHES_PER_WORKER, DASK_BATCH_MOST)
        else:
            batches = _batches(todo, jobs)
        with tqdm(
            total=len(p.points),
            initial=n_cached,
            disable=not progress,
            file=sys.stderr,
            unit="pt",
            desc=f"sweep {spec.name}",
            dynamic_ncols=True,
        ) as bar:

            def on_done(records: list[Record]) -> None:
                store.add(records)
                for r in records:
                    if r.status == "failed":
                        failures[r.key] = r
                bar.update(len(records))

            if client is not None:
                _run_dask(client, job, batches, on_done)
            else:
                _run_local(job, batches, jobs, on_done)
    finally:
        if clients is not None:
            clients.close()
    store.compact()
    df = _table(p, store, failures)
    n_skipped = len(df.attrs[SKIPPED_ATTR])
    if n_skipped:
        log.warning("sweep %s: %d point(s) skipped (see simsparse.sweep.skipped(df))", spec.name, n_skipped)
    return df


def pareto(df: pd.DataFrame, minimize: Sequence[str] = (), maximize: Sequence[str] = ()) -> pd.DataFrame:
    """The non-dominated rows of ``df`` (original order and index), for the given objectives.

    A row is dominated when another is at least as good on every objective and better on one.
    Rows with a missing objective value are left out.
    """
    import numpy as np

    minimize, maximize = list(minimize), list(maximize)
    if not minimize and not maximize:
        raise SimsparseError("pareto: expected at least one column to minimize or maximize, got none")
    for name in (*minimize, *maximize):
        if name not in df.columns:
            raise ConfigError("pareto", f"a column of the table{closest(name, [str(c) for c in df.columns])}", name)
        if not pd.api.types.is_numeric_dtype(df[name]):
            raise ConfigError("pareto", f"a numeric column ({name!r} holds {df[name].dtype})", name)
    objs = pd.concat([df[c].astype("float64") for c in minimize] + [-df[c].astype("float64") for c in maximize], axis=1)
    ok = objs.notna().all(axis=1).to_numpy()
    values = objs.to_numpy()[ok]
    n = len(values)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        le = (values <= values[i]).all(axis=1)
        lt = (values < values[i]).any(axis=1)
        if (le & lt).any():
            keep[i] = False
    rows = np.flatnonzero(ok)[keep]
    return df.iloc[rows]
