#!/usr/bin/env python3
"""Generate ``scalesim_cycles.csv`` by running SCALE-Sim v3.0.0 (test oracle only).

Run it with the Python of a scratch venv that has ``scalesim==3.0.0`` (and numpy<2)
installed, NOT the simsparse venv: ``regenerate_scalesim.sh`` does that.  Prints the CSV
on stdout, progress on stderr.  SCALE-Sim's inputs (a ``.cfg`` and a GEMM topology
``.csv``) are written to a temp dir per case and deleted afterwards.

Columns: m, n, k, rows, cols, dataflow, sparsity ("dense" or "N:M"), compute_cycles
(SCALE-Sim "Total Cycles" of COMPUTE_REPORT.csv), scalesim_version.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from scalesim.layout_utils import layouts
from scalesim.scale_config import scale_config
from scalesim.simulator import simulator
from scalesim.topology_utils import topologies

# SRAM sizes (KB == K-words): 32x32 uses SCALE-Sim's example-config sizes; 128x128 a larger
# scratchpad.  In CALC (stall-free) bandwidth mode compute cycles do not depend on them.
SRAM_KB = {32: (64, 64, 64), 128: (1024, 1024, 512)}

CFG = """[general]
run_name = golden

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {ifmap_kb}
FilterSramSzkB: {filter_kb}
OfmapSramSzkB: {ofmap_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: {df}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: {sparse}
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 4
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

DENSE_SHAPES = [  # (m, n, k)
    (128, 128, 128),
    (256, 512, 256),
    (8, 1024, 1024),
    (100, 37, 300),
    (33, 65, 17),
    (1, 128, 64),
    (64, 200, 96),
    (129, 31, 257),
]
SPARSE_CASES = [  # (m, n, k, dataflow, pattern) on both arrays
    (128, 128, 128, "ws", "2:4"),
    (128, 128, 128, "ws", "1:4"),
    (128, 128, 128, "ws", "4:4"),
    (256, 512, 256, "ws", "2:4"),
    (256, 512, 256, "ws", "1:4"),
    (100, 37, 300, "ws", "2:4"),
    (100, 37, 302, "ws", "2:4"),
    (33, 65, 17, "ws", "1:4"),
    (129, 31, 257, "ws", "2:4"),
    (100, 37, 302, "os", "2:4"),
    (100, 37, 302, "is", "2:4"),
    (128, 128, 128, "os", "1:4"),
    (128, 128, 128, "is", "1:4"),
]
EXTRA_128 = [(512, 512, 512)]  # too slow on 32x32 (~25 s per dataflow)


def cases() -> list[tuple[int, int, int, int, str, str]]:
    out = []
    for arr in (32, 128):
        shapes = DENSE_SHAPES + (EXTRA_128 if arr == 128 else [])
        for m, n, k in shapes:
            for df in ("os", "ws", "is"):
                out.append((m, n, k, arr, df, "dense"))
        for m, n, k, df, nm in SPARSE_CASES:
            out.append((m, n, k, arr, df, nm))
    return out


def run_one(m: int, n: int, k: int, arr: int, df: str, sparsity: str, workdir: str) -> int:
    d = tempfile.mkdtemp(dir=workdir)
    cfg_path = Path(d) / "arch.cfg"
    topo_path = Path(d) / "gemm.csv"
    ik, fk, ok = SRAM_KB[arr]
    sparse = sparsity != "dense"
    cfg_path.write_text(
        CFG.format(
            rows=arr, cols=arr, ifmap_kb=ik, filter_kb=fk, ofmap_kb=ok, df=df, sparse="true" if sparse else "false"
        )
    )
    nm = sparsity if sparse else "1:1"
    # the trailing comma is required: SCALE-Sim drops the last field of each row
    topo_path.write_text(f"Layer, M, N, K, Sparsity,\ngemm, {m}, {n}, {k}, {nm},\n")
    conf = scale_config()
    conf.read_conf_file(str(cfg_path))
    conf.set_topology_file(str(topo_path))
    topo = topologies()
    topo.load_arrays(topofile=str(topo_path), mnk_inputs=True)
    sim = simulator()
    sim.set_params(config_obj=conf, topo_obj=topo, layout_obj=layouts(), top_path=d, verbosity=False, save_trace=False)
    sim.run()
    layer = sim.single_layer_sim_object_list[0]
    _total_incl_prefetch, compute_cycles, stalls = layer.get_compute_report_items()[:3]
    assert int(stalls) == 0, f"unexpected stalls in CALC mode: {stalls}"
    shutil.rmtree(d, ignore_errors=True)
    return int(compute_cycles)


def main() -> None:
    version = metadata.version("scalesim")
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["m", "n", "k", "rows", "cols", "dataflow", "sparsity", "compute_cycles", "scalesim_version"])
    workdir = tempfile.mkdtemp(prefix="simsparse_golden_")
    t_all = time.perf_counter()
    try:
        for m, n, k, arr, df, sp in cases():
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                cyc = run_one(m, n, k, arr, df, sp, workdir)
            w.writerow([m, n, k, arr, arr, df, sp, cyc, version])
            sys.stdout.flush()
            print(
                f"[golden] {m}x{n}x{k} {arr}x{arr} {df} {sp}: {cyc} cycles, {time.perf_counter() - t0:.2f} s",
                file=sys.stderr,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"[golden] done in {time.perf_counter() - t_all:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
