"""Dask and crash-safety tests of sweeps (the slow ones: about 30-60 s on 2 cores).

* A real Dask scheduler and two workers started here on 127.0.0.1 as separate processes run a
  sweep whose table equals the local run's exactly; killing one worker mid-sweep still completes it.
* A sweep in a subprocess killed with SIGKILL midway, then resumed, gives exactly the table of an
  uninterrupted run (no missing, duplicated or different rows).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from simsparse.sweep import sweep, sweep_from_dict

pytest.importorskip("distributed")

BIN = Path(sys.executable).parent


def spec_data(n_hbm: int = 10) -> dict[str, Any]:
    return {
        "name": "dask_small",
        "hardware": "stc-2of4",
        "fidelity": "roofline",
        "workloads": [
            {"name": "up", "builder": "gemm", "args": {"m": 256, "n": 1024, "k": 1024, "dtype": "fp16"}},
            {"name": "down", "builder": "gemm", "args": {"m": 256, "n": 1024, "k": 4096, "dtype": "fp16"}},
        ],
        "axes": [
            {"path": "workload.weight_pattern", "name": "pattern", "values": ["dense", "2:4"]},
            {
                "path": "device.memory[hbm].read_gb_per_s",
                "name": "hbm",
                "low": 500,
                "high": 5000,
                "n": n_hbm,
                "log": True,
            },
            {"path": "device.n_cores", "values": [27, 54, 108]},
        ],
        "metrics": ["latency_s", "energy_j", "utilization", "bottleneck"],
    }


def _start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, list[subprocess.Popen[str]]]]:
    sched = _start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"])
    address = ""
    assert sched.stderr is not None
    deadline = time.time() + 60
    while time.time() < deadline and not address:
        line = sched.stderr.readline()
        m = re.search(r"Scheduler at:\s+(tcp://[0-9.]+:\d+)", line)
        if m:
            address = m.group(1)
    assert address, "the Dask scheduler did not start"
    threading.Thread(target=sched.stderr.read, daemon=True).start()  # keep draining its log
    workers = [
        _start(
            [
                str(BIN / "dask"),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ]
        )
        for _ in range(2)
    ]
    for w in workers:
        assert w.stderr is not None
        threading.Thread(target=w.stderr.read, daemon=True).start()
    import distributed

    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address, workers
    for proc in [*workers, sched]:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def local_table() -> pd.DataFrame:
    return sweep(sweep_from_dict(spec_data()), n_jobs=1, progress=False)


def test_dask_cluster_equals_local(cluster: tuple[str, list[Any]], local_table: pd.DataFrame, tmp_path: Path) -> None:
    address, _ = cluster
    df = sweep(sweep_from_dict(spec_data()), scheduler=address, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(df, local_table, check_exact=True)
    assert df.equals(local_table) and len(df) == 120


def test_killing_a_worker_mid_sweep_still_completes(
    cluster: tuple[str, list[subprocess.Popen[str]]], tmp_path: Path
) -> None:
    address, workers = cluster
    data = spec_data(n_hbm=40)  # 480 points
    reference = sweep(sweep_from_dict(data), n_jobs=2, progress=False)
    parts = tmp_path / "parts"

    def kill_when_started() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if parts.exists() and len(list(parts.glob("*.parquet"))) >= 2:
                break
            time.sleep(0.01)
        os.killpg(workers[1].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    df = sweep(sweep_from_dict(data), scheduler=address, cache_dir=tmp_path, progress=False)
    killer.join()
    assert workers[1].wait(10) == -signal.SIGKILL
    pd.testing.assert_frame_equal(df, reference, check_exact=True)


_CHILD = """
import sys, simsparse as ss
ss.sweep(sys.argv[1], n_jobs=1, cache_dir=sys.argv[2], progress=False)
"""


def test_sigkill_midway_then_resume_gives_the_uninterrupted_table(tmp_path: Path) -> None:
    data = spec_data(n_hbm=60)  # 720 points
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(data))
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(spec_file), str(cache)], start_new_session=True)
    parts = cache / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None:
        if parts.exists() and len(list(parts.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.005)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    import pyarrow.parquet as pq

    done = sum(pq.read_table(p).num_rows for p in parts.glob("*.parquet"))
    assert 0 < done < 720, done
    resumed = sweep(str(spec_file), n_jobs=2, cache_dir=cache, resume=True, progress=False)
    reference = sweep(sweep_from_dict(data), n_jobs=1, progress=False)
    assert resumed["point"].is_unique and len(resumed) == 720
    pd.testing.assert_frame_equal(resumed, reference, check_exact=True)
    keys = [k for p in parts.glob("*.parquet") for k in pq.read_table(p).column("key").to_pylist()]
    assert len(keys) == len(set(keys)) == 720  # each point computed once across the two halves


def test_dask_local_cluster_equals_local(local_table: pd.DataFrame) -> None:
    df = sweep(sweep_from_dict(spec_data()), executor="dask-local", n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(df, local_table, check_exact=True)
