"""numba hot loops of simsparse: arrays in, arrays out (imports only numpy, numba and the stdlib).

* :mod:`~simsparse.kernels.systolic` — SCALE-Sim-exact closed-form cycles of one systolic array
  (os/ws/is, folds, layer-wise N:M) and a per-cycle reference simulator.
* :mod:`~simsparse.kernels.scheduler` — event-driven list scheduler over shared resources and the
  double-buffered tile pipeline builder.
* :mod:`~simsparse.kernels.sparsity` — nonzeros per block, expected maximum of binomials.
* :mod:`~simsparse.kernels.traffic` — per-wave panel reuse counts of a tiled GEMM.

Each numba function has a naive twin (``*_reference``) used by the property tests.
"""

from simsparse.kernels.scheduler import (
    pipeline_cycles_closed_form,
    pipeline_tasks,
    schedule,
    schedule_reference,
)
from simsparse.kernels.sparsity import block_nnz, block_nnz_reference, expected_max_binomial
from simsparse.kernels.systolic import (
    DATAFLOWS,
    closed_form_cycles,
    closed_form_cycles_array,
    compressed_k,
    cycle_reference,
    simulate_array,
)
from simsparse.kernels.traffic import wave_panel_counts, wave_panel_counts_reference

__all__ = [
    "DATAFLOWS",
    "block_nnz",
    "block_nnz_reference",
    "closed_form_cycles",
    "closed_form_cycles_array",
    "compressed_k",
    "cycle_reference",
    "expected_max_binomial",
    "pipeline_cycles_closed_form",
    "pipeline_tasks",
    "schedule",
    "schedule_reference",
    "simulate_array",
    "wave_panel_counts",
    "wave_panel_counts_reference",
]
