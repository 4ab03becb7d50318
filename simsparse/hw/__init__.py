"""Hardware description: frozen, typed dataclasses for a system of devices.

A :class:`System` is ``n_devices`` identical :class:`Device` objects joined by an
:class:`Interconnect`. A device has ``n_cores`` identical cores (SMs, or the arrays of an
accelerator), each with a :class:`MatrixUnit` and a :class:`VectorUnit`, and a memory hierarchy
listed inner to outer (register file, shared memory/L1, L2, HBM/DRAM).

Every class is frozen, slotted and keyword-only; invariants are checked on construction and
raise :class:`~simsparse.errors.ConfigError` with the dotted path of the offending field, so
``dataclasses.replace`` re-validates.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from simsparse.errors import ConfigError, ConfigErrors, closest
from simsparse.units import canonical_dtype

__all__ = [
    "DATAFLOWS",
    "DTYPES",
    "Core",
    "Device",
    "DramChannels",
    "Energy",
    "Interconnect",
    "MatrixUnit",
    "MemoryLevel",
    "OnChipNetwork",
    "SimtExecution",
    "SparsitySupport",
    "System",
    "VectorUnit",
    "numeric_fields",
    "parse_pattern",
]

DTYPES: tuple[str, ...] = (
    "fp32",
    "tf32",
    "bf16",
    "fp16",
    "fp8_e4m3",
    "fp8_e5m2",
    "fp8_block",
    "int8",
    "int4",
    "fp4",
    "nvfp4",
    "mxfp4",
)
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")
COMPUTE_MODELS: tuple[str, ...] = ("dense", "structured_nm", "flexible_nm", "unstructured", "dual_side")
TOPOLOGIES: tuple[str, ...] = ("none", "switch", "ring", "torus2d", "pcie_tree", "multi_node")
NOC_TOPOLOGIES: tuple[str, ...] = ("none", "crossbar", "mesh2d")
MEMORY_KINDS: tuple[str, ...] = ("register_file", "sram", "cache", "dram")


def parse_pattern(pattern: str) -> tuple[str, int, int]:
    """Split a sparsity pattern name into ``(kind, n, m)``.

    ``"dense"`` -> ``("dense", 1, 1)``; ``"2:4"`` -> ``("nm", 2, 4)``; ``"unstructured"``,
    ``"dual_side"`` and ``"row_wise"`` -> ``(name, 0, 0)``. Raises ``ValueError`` otherwise.
    """
    if pattern == "dense":
        return ("dense", 1, 1)
    if pattern in ("unstructured", "dual_side", "row_wise"):
        return (pattern, 0, 0)
    parts = pattern.split(":")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        n, m = int(parts[0]), int(parts[1])
        if m < 1 or n < 1 or n > m:
            raise ValueError(f"N:M pattern needs 1 <= N <= M, got {pattern!r}")
        return ("nm", n, m)
    raise ValueError(f"unknown sparsity pattern {pattern!r}")


class _Checker:
    """Collects field errors with relative dotted paths."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def fail(self, path: str, expected: str, got: object) -> None:
        self.errors.append(ConfigError(path, expected, got))

    def positive(self, path: str, value: float, *, allow_zero: bool = False) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (value == 0 and not allow_zero):
            self.fail(path, "a number >= 0" if allow_zero else "a number > 0", value)

    def integer(self, path: str, value: object, *, minimum: int = 1, what: str = "an integer") -> None:
        """``value`` must be an int (not a bool) of at least ``minimum``."""
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(path, f"{what} >= {minimum}", value)

    def choice(self, path: str, value: str, choices: tuple[str, ...]) -> None:
        if value not in choices:
            self.errors.append(ConfigError(path, f"one of {', '.join(choices)}{closest(str(value), choices)}", value))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigErrors(self.errors)


def _check_dtype_map(c: _Checker, path: str, values: Mapping[str, float], *, allow_zero: bool = False) -> None:
    if not isinstance(values, Mapping):
        c.fail(path, "a mapping of dtype -> number", values)
        return
    for key, value in values.items():
        if key not in DTYPES:
            c.errors.append(
                ConfigError(f"{path}.{key}", f"a dtype among {', '.join(DTYPES)}{closest(str(key), DTYPES)}", key)
            )
        c.positive(f"{path}.{key}", value, allow_zero=allow_zero)


@dataclass(frozen=True, slots=True, kw_only=True)
class SparsitySupport:
    """A sparsity pattern the matrix datapath accelerates.

    ``pattern``: ``"2:4"`` (any ``N:M``), ``"row_wise"`` (VEGETA row-wise N:M mixes),
    ``"unstructured"`` or ``"dual_side"``. ``metadata_bits_per_value`` is the index metadata
    stored per kept (nonzero) value: 2 for NVIDIA 2:4, 1 per position for a bitmap (stored
    per *dense* position, see ``metadata_format``). ``max_speedup`` is the largest compute
    speedup over dense the datapath can reach for this pattern (2.0 for 2:4 on a sparse tensor
    core). ``skip_block_length`` (dual-side outer-product datapaths) is the length of the operand
    vector segments whose nonzeros are condensed before they enter the datapath: each segment of
    A (along M) is consumed ``array_rows`` nonzeros at a time and each segment of B (along N)
    ``array_cols`` at a time, so a partly filled group still costs a whole cycle (32 for DSTC's
    32x32 warp-level outer product); 0 means no condensing block is modelled.
    """

    pattern: str
    metadata_bits_per_value: float
    max_speedup: float
    metadata_format: Literal["nm_index", "bitmap", "csr", "none"] = "nm_index"
    skip_block_length: int = 0

    def __post_init__(self) -> None:
        c = _Checker()
        try:
            kind, _n, _m = parse_pattern(self.pattern)
            if kind == "dense":
                c.fail("pattern", "a sparse pattern (N:M, row_wise, unstructured, dual_side)", self.pattern)
        except ValueError:
            c.fail("pattern", "N:M with 1 <= N <= M, row_wise, unstructured or dual_side", self.pattern)
        c.positive("metadata_bits_per_value", self.metadata_bits_per_value, allow_zero=True)
        c.positive("max_speedup", self.max_speedup)
        if isinstance(self.max_speedup, (int, float)) and self.max_speedup < 1:
            c.fail("max_speedup", "a number >= 1", self.max_speedup)
        c.choice("metadata_format", self.metadata_format, ("nm_index", "bitmap", "csr", "none"))
        c.integer("skip_block_length", self.skip_block_length, minimum=0)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixUnit:
    """The matrix datapath of one core: a systolic array or a group of tensor cores.

    ``macs_per_cycle`` is the *dense* multiply-accumulate rate of the whole core per dtype.
    ``array_rows x array_cols`` is the PE grid of one array (``n_arrays`` per core); for GPU
    tensor cores it is the equivalent grid used by the mapping (``array_rows*array_cols*n_arrays``
    need not equal the MAC rate of narrow dtypes). ``compute_model`` names the registered
    compute model (``dense``, ``structured_nm``, ``flexible_nm``, ``unstructured``,
    ``dual_side``). ``zero_handling``: ``skip`` saves cycles, ``gate`` only energy.
    ``dequant``: where weight-only formats are dequantized (``vector`` unit or ``fused`` in the
    matrix pipeline). ``sustained_fraction`` (per dtype, optional) is the *measured* fraction of
    the peak rate that large compute-bound GEMMs reach (power-limited clocks, instruction issue);
    each entry is a calibrated figure whose fit is cited in the preset's ``sources``.
    """

    kind: Literal["systolic", "tensor_core"]
    array_rows: int
    array_cols: int
    n_arrays: int = 1
    dataflow: Literal["os", "ws", "is"] = "ws"
    macs_per_cycle: dict[str, float]
    compute_model: str = "dense"
    sparsity: tuple[SparsitySupport, ...] = ()
    zero_handling: Literal["skip", "gate"] = "skip"
    dequant: Literal["vector", "fused"] = "fused"
    sustained_fraction: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = _Checker()
        c.choice("kind", self.kind, ("systolic", "tensor_core"))
        for name in ("array_rows", "array_cols", "n_arrays"):
            c.integer(name, getattr(self, name))
        c.choice("dataflow", self.dataflow, DATAFLOWS)
        _check_dtype_map(c, "macs_per_cycle", self.macs_per_cycle)
        if isinstance(self.macs_per_cycle, Mapping) and not self.macs_per_cycle:
            c.fail("macs_per_cycle", "at least one dtype", {})
        c.choice("compute_model", self.compute_model, COMPUTE_MODELS)
        c.choice("zero_handling", self.zero_handling, ("skip", "gate"))
        c.choice("dequant", self.dequant, ("vector", "fused"))
        _check_dtype_map(c, "sustained_fraction", self.sustained_fraction)
        for key, value in self.sustained_fraction.items() if isinstance(self.sustained_fraction, Mapping) else ():
            if isinstance(value, (int, float)) and value > 1:
                c.fail(f"sustained_fraction.{key}", "a fraction in (0, 1]", value)
        seen: set[str] = set()
        for i, s in enumerate(self.sparsity):
            if s.pattern in seen:
                c.fail(f"sparsity[{i}].pattern", "each pattern listed once", s.pattern)
            seen.add(s.pattern)
        if self.compute_model != "dense" and not self.sparsity:
            c.fail("sparsity", f"at least one pattern for compute_model {self.compute_model!r}", [])
        c.raise_if_any()

    def supports(self, pattern: str) -> SparsitySupport | None:
        """The support entry for ``pattern`` (an ``N:M`` pattern also matches ``row_wise``)."""
        for s in self.sparsity:
            if s.pattern == pattern:
                return s
        return None

    def sustained(self, dtype: str) -> float:
        """Measured fraction of the peak MAC rate that large GEMMs sustain (1.0 where not given)."""
        return float(self.sustained_fraction.get(canonical_dtype(dtype), 1.0))

    def macs(self, dtype: str) -> float:
        """Dense MACs per cycle per core for ``dtype`` (aliases resolved); KeyError if absent."""
        return float(self.macs_per_cycle[canonical_dtype(dtype)])


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorUnit:
    """SIMD/CUDA-core datapath of one core: ``flops_per_cycle`` per dtype (an FMA counts 2).

    ``lanes`` records the datapath's width (threads or SIMD lanes per cycle); the time uses only
    ``flops_per_cycle``, which already counts them. ``shares_matrix_datapath``: the vector work and
    the matrix unit's MACs issue on the same lanes (a CPU, whose SIMD FMA units do both), so a GEMM
    tile's dequantization or decompression adds to its MAC time; ``False`` (GPU CUDA cores beside
    tensor cores): the two overlap and the busier sets the time.
    """

    lanes: int
    flops_per_cycle: dict[str, float]
    shares_matrix_datapath: bool = False

    def __post_init__(self) -> None:
        c = _Checker()
        if not isinstance(self.shares_matrix_datapath, bool):
            c.fail("shares_matrix_datapath", "true or false", self.shares_matrix_datapath)
        c.integer("lanes", self.lanes)
        _check_dtype_map(c, "flops_per_cycle", self.flops_per_cycle)
        if isinstance(self.flops_per_cycle, Mapping) and "fp32" not in self.flops_per_cycle:
            c.fail("flops_per_cycle", "an fp32 entry", dict(self.flops_per_cycle))
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class Core:
    """One core (an SM, or one array of an accelerator) and how many the device has."""

    matrix_unit: MatrixUnit
    vector_unit: VectorUnit


@dataclass(frozen=True, slots=True, kw_only=True)
class DramChannels:
    """Channel-level organization of a DRAM level (``simsparse.models.memory.channels``).

    ``n_channels`` independent channels (HBM pseudo-channels, DDR sub-channels) share the level's
    bandwidth equally, so one channel moves ``read_gb_per_s / n_channels``. ``burst_bytes`` is the
    least a channel moves per access (its width times the burst length): a contiguous chunk of a
    stream costs whole bursts. ``interleave_bytes`` is how many consecutive bytes one channel holds
    before the address map moves to the next (``0``: one burst, the finest). A stream keeps busy only
    the channels its chunks cover; it reaches the level's bandwidth once it covers all of them.
    """

    n_channels: int
    burst_bytes: int
    interleave_bytes: int = 0

    def __post_init__(self) -> None:
        c = _Checker()
        c.integer("n_channels", self.n_channels)
        c.integer("burst_bytes", self.burst_bytes)
        c.integer("interleave_bytes", self.interleave_bytes, minimum=0)
        if (
            not c.errors
            and self.interleave_bytes
            and (self.interleave_bytes < self.burst_bytes or self.interleave_bytes % self.burst_bytes)
        ):
            c.fail(
                "interleave_bytes",
                f"0 or a whole multiple of burst_bytes ({self.burst_bytes})",
                self.interleave_bytes,
            )
        c.raise_if_any()

    @property
    def stride_bytes(self) -> int:
        """Bytes one channel holds before the next channel's (``interleave_bytes`` or one burst)."""
        return self.interleave_bytes or self.burst_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryLevel:
    """One level of the hierarchy.

    ``scope``: ``core`` (one instance per core, e.g. shared memory) or ``device`` (shared).
    ``capacity_bytes`` is per instance. Bandwidths are *aggregate over the device* in GB/s
    (decimal) at the preset clock. ``sustained_fraction`` is the measured fraction of the peak
    bandwidth that streaming kernels reach (cited in the preset). Energies are per byte moved.
    ``write_allocate``: the caches in front of this level allocate on a store miss, so every byte
    written to it is first read from it (a read for ownership, as on x86 CPUs for ordinary stores);
    GPU L2 caches write partial lines without reading them (``False``).

    ``n_banks`` records the level's banking; it does not enter the time. The mappers assume every
    operand is stored in the order the compute consumes it: SCALE-Sim v3's default "precompiled order"
    (no custom layout, ``scalesim/memory/read_buffer.py``), CUTLASS's swizzled shared-memory tiles on
    GPUs. One wavefront of requests then reads one line, and no two requests of a cycle meet in a bank.
    Bank conflicts arise only from a layout that differs from the access order, which the model does not
    describe.

    ``channels`` (DRAM levels): the channel organization (:class:`DramChannels`); ``None`` leaves the
    level one pool of bandwidth moving exact bytes.
    """

    name: str
    kind: Literal["register_file", "sram", "cache", "dram"]
    scope: Literal["core", "device"]
    capacity_bytes: int
    read_gb_per_s: float
    write_gb_per_s: float
    latency_ns: float = 0.0
    n_banks: int = 1
    sustained_fraction: float = 1.0
    read_energy_pj_per_byte: float = 0.0
    write_energy_pj_per_byte: float = 0.0
    write_allocate: bool = False
    channels: DramChannels | None = None

    def __post_init__(self) -> None:
        c = _Checker()
        if self.channels is not None and not isinstance(self.channels, DramChannels):
            c.fail("channels", "a channel organization (n_channels, burst_bytes, interleave_bytes)", self.channels)
        elif self.channels is not None and self.kind != "dram":
            c.fail("channels", f"no channel organization on a {self.kind!r} level (channels describe DRAM)", "channels")
        if not isinstance(self.write_allocate, bool):
            c.fail("write_allocate", "true or false", self.write_allocate)
        if not isinstance(self.name, str) or not self.name:
            c.fail("name", "a non-empty name", self.name)
        c.choice("kind", self.kind, MEMORY_KINDS)
        c.choice("scope", self.scope, ("core", "device"))
        c.integer("capacity_bytes", self.capacity_bytes, what="an integer number of bytes")
        c.positive("read_gb_per_s", self.read_gb_per_s)
        c.positive("write_gb_per_s", self.write_gb_per_s)
        c.positive("latency_ns", self.latency_ns, allow_zero=True)
        c.integer("n_banks", self.n_banks)
        c.positive("sustained_fraction", self.sustained_fraction)
        if isinstance(self.sustained_fraction, (int, float)) and self.sustained_fraction > 1:
            c.fail("sustained_fraction", "a fraction in (0, 1]", self.sustained_fraction)
        c.positive("read_energy_pj_per_byte", self.read_energy_pj_per_byte, allow_zero=True)
        c.positive("write_energy_pj_per_byte", self.write_energy_pj_per_byte, allow_zero=True)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class OnChipNetwork:
    """Network between the cores and the device-scope memory (``simsparse.models.noc``).

    ``crossbar`` (GPU SMs to L2 slices): one port of ``link_gb_per_s`` per core, one hop.
    ``mesh2d``: one core per router on a ``mesh_rows x mesh_cols`` grid with memory at the perimeter;
    ``link_gb_per_s`` per link and direction. ``hop_latency_ns`` and ``energy_pj_per_byte_per_hop``
    per router hop. ``none``: folded into the memory levels' bandwidths.
    """

    topology: Literal["none", "crossbar", "mesh2d"] = "none"
    link_gb_per_s: float = 0.0
    hop_latency_ns: float = 0.0
    mesh_rows: int = 0
    mesh_cols: int = 0
    energy_pj_per_byte_per_hop: float = 0.0

    def __post_init__(self) -> None:
        c = _Checker()
        c.choice("topology", self.topology, NOC_TOPOLOGIES)
        if self.topology != "none":
            c.positive("link_gb_per_s", self.link_gb_per_s)
        c.positive("hop_latency_ns", self.hop_latency_ns, allow_zero=True)
        c.positive("energy_pj_per_byte_per_hop", self.energy_pj_per_byte_per_hop, allow_zero=True)
        if self.topology == "mesh2d" and (self.mesh_rows < 1 or self.mesh_cols < 1):
            c.fail("mesh_rows", "mesh_rows and mesh_cols >= 1 for a mesh2d", (self.mesh_rows, self.mesh_cols))
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class Energy:
    """Dynamic energy per MAC per dtype and static power of one device."""

    mac_pj: dict[str, float]
    vector_flop_pj: float = 0.0
    static_w: float = 0.0

    def __post_init__(self) -> None:
        c = _Checker()
        _check_dtype_map(c, "mac_pj", self.mac_pj, allow_zero=True)
        c.positive("vector_flop_pj", self.vector_flop_pj, allow_zero=True)
        c.positive("static_w", self.static_w, allow_zero=True)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class SimtExecution:
    """How a GPU runs a kernel of thread blocks (CTAs): what times a streaming kernel whose launch
    shape is known (``Op.launch_*``) by its dependent memory rounds (``simsparse.engine.timing``).

    ``max_threads_per_core`` and ``max_ctas_per_core`` are the resident-thread and resident-block
    limits of one SM (register and shared-memory limits are not modeled). ``kernel_floor_s`` is the
    device-side duration of such a kernel beyond its memory rounds and bytes (grid dispatch, block
    launch and retirement). ``dram_round_ns`` is one dependent round trip to DRAM as an iteration of
    a latency-bound loop sees it: the load's latency plus the address and use instructions around it.
    """

    max_threads_per_core: int
    max_ctas_per_core: int
    kernel_floor_s: float
    dram_round_ns: float

    def __post_init__(self) -> None:
        c = _Checker()
        for name in ("max_threads_per_core", "max_ctas_per_core"):
            c.integer(name, getattr(self, name))
        c.positive("kernel_floor_s", self.kernel_floor_s, allow_zero=True)
        c.positive("dram_round_ns", self.dram_round_ns)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One chip: ``n_cores`` identical cores at ``freq_ghz``, memory levels inner to outer.

    ``kernel_launch_s`` is the fixed time every kernel adds to its op when the op does not describe
    how the kernel is launched (the GPU presets fit it as the intercept of memory-bound GEMM rows, so
    it holds a GEMM's prologue and epilogue and the gap to the next kernel). An op that gives its
    launch shape is timed with ``simt`` instead (``None``: not a SIMT device, shapes are ignored).
    ``sync_s`` is one device-wide synchronization, charged once per whole-model step (the host reads
    the sampled tokens before it schedules the next step).
    """

    name: str
    freq_ghz: float
    n_cores: int
    core: Core
    memory: tuple[MemoryLevel, ...]
    noc: OnChipNetwork = field(default_factory=OnChipNetwork)
    energy: Energy = field(default_factory=lambda: Energy(mac_pj={}))
    kernel_launch_s: float = 0.0
    sync_s: float = 0.0
    simt: SimtExecution | None = None
    area_mm2: float = 0.0
    tdp_w: float = 0.0

    def __post_init__(self) -> None:
        c = _Checker()
        c.positive("freq_ghz", self.freq_ghz)
        c.integer("n_cores", self.n_cores)
        if not self.memory:
            c.fail("memory", "at least one memory level", [])
        names = [m.name for m in self.memory]
        for i, name in enumerate(names):
            if name in names[:i]:
                c.fail(f"memory[{i}].name", "a name not used by another level", name)
        for i in range(1, len(self.memory)):
            inner, outer = self.memory[i - 1], self.memory[i]
            # An outer level must hold at least one instance of the level inside it. (Real GPUs
            # have less L2 than the sum of all SMs' shared memory, e.g. V100: 6 MB vs 80 x 96 KB,
            # so the sum over cores is not required.)
            outer_total = outer.capacity_bytes * (self.n_cores if outer.scope == "core" else 1)
            if (
                isinstance(inner.capacity_bytes, int)
                and isinstance(outer_total, int)
                and outer_total < inner.capacity_bytes
            ):
                c.fail(
                    f"memory[{i}].capacity_bytes",
                    f"a capacity >= the inner level {inner.name!r} ({inner.capacity_bytes} bytes; capacities must not shrink outward)",
                    outer.capacity_bytes,
                )
            if inner.scope == "device" and outer.scope == "core":
                c.fail(f"memory[{i}].scope", "'device' (a per-core level cannot sit outside a shared one)", outer.scope)
        if (
            isinstance(self.noc, OnChipNetwork)
            and self.noc.topology == "mesh2d"
            and isinstance(self.n_cores, int)
            and self.noc.mesh_rows * self.noc.mesh_cols < self.n_cores
        ):
            c.fail(
                "noc.mesh_rows",
                f"mesh_rows x mesh_cols >= n_cores ({self.n_cores}: one core per router)",
                (self.noc.mesh_rows, self.noc.mesh_cols),
            )
        c.positive("kernel_launch_s", self.kernel_launch_s, allow_zero=True)
        c.positive("sync_s", self.sync_s, allow_zero=True)
        c.positive("area_mm2", self.area_mm2, allow_zero=True)
        c.positive("tdp_w", self.tdp_w, allow_zero=True)
        c.raise_if_any()

    def level(self, name: str) -> MemoryLevel:
        """The memory level called ``name``."""
        for m in self.memory:
            if m.name == name:
                return m
        raise KeyError(f"no memory level {name!r}{closest(name, [m.name for m in self.memory])}")

    @property
    def dram(self) -> MemoryLevel:
        """The outermost level (HBM/DRAM)."""
        return self.memory[-1]

    def peak_flops(self, dtype: str, pattern: str = "dense") -> float:
        """Peak FLOP/s (2 per MAC) of the device for ``dtype``; sparse peaks use ``max_speedup``."""
        dense = 2.0 * self.n_cores * self.core.matrix_unit.macs(dtype) * self.freq_ghz * 1e9
        if pattern == "dense":
            return dense
        support = self.core.matrix_unit.supports(pattern)
        return dense * (support.max_speedup if support else 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interconnect:
    """Device-to-device network.

    ``link_gb_per_s`` is the unidirectional bandwidth of one link; each device has
    ``n_links_per_device`` of them (for a ``switch`` topology the links go to the switch, so a
    device's injection bandwidth is ``link_gb_per_s * n_links_per_device``). ``torus_dims`` is
    used by ``torus2d``; ``devices_per_node`` and ``nic_gb_per_s`` by ``multi_node`` (switch
    inside a node, NICs between nodes). ``sustained_fraction`` is the measured fraction of the
    link bandwidth that collectives reach at large messages (bus bandwidth over link bandwidth).
    ``collective_overhead_s`` is the fixed software cost of one collective call beyond a kernel
    launch and ``link_latency_ns`` the latency of one ring step; on NCCL fabrics (switch, PCIe tree,
    multi-node) they are the LL-protocol base and per-hop latencies, from which LL128/Simple/NVLS
    latencies follow by NCCL's published ratios (``models/interconnect/nccl.py``).
    ``p2p_sustained_fraction`` is the measured bus-bandwidth fraction of point-to-point traffic
    (all-to-all; 0 = ``sustained_fraction``), ``p2p_overhead_s`` the fixed cost of one grouped
    send/recv call beyond a kernel launch, and ``nvls_sustained_fraction`` the algorithm bandwidth of
    an NVLink-SHARP (in-switch reduction) all-reduce as a fraction of the per-device link bandwidth
    (0 = the switch has no NVLS).
    """

    topology: Literal["none", "switch", "ring", "torus2d", "pcie_tree", "multi_node"] = "none"
    link_gb_per_s: float = 0.0
    n_links_per_device: int = 1
    link_latency_ns: float = 0.0
    torus_dims: tuple[int, ...] = ()
    devices_per_node: int = 0
    nic_gb_per_s: float = 0.0
    nic_latency_ns: float = 0.0
    sustained_fraction: float = 1.0
    collective_overhead_s: float = 0.0
    p2p_sustained_fraction: float = 0.0
    p2p_overhead_s: float = 0.0
    nvls_sustained_fraction: float = 0.0
    energy_pj_per_byte: float = 0.0

    def __post_init__(self) -> None:
        c = _Checker()
        c.choice("topology", self.topology, TOPOLOGIES)
        c.positive("collective_overhead_s", self.collective_overhead_s, allow_zero=True)
        if self.topology != "none":
            c.positive("link_gb_per_s", self.link_gb_per_s)
        if not isinstance(self.n_links_per_device, int) or self.n_links_per_device < 1:
            c.fail("n_links_per_device", "an integer >= 1", self.n_links_per_device)
        c.positive("link_latency_ns", self.link_latency_ns, allow_zero=True)
        c.positive("energy_pj_per_byte", self.energy_pj_per_byte, allow_zero=True)
        c.positive("sustained_fraction", self.sustained_fraction)
        if isinstance(self.sustained_fraction, (int, float)) and self.sustained_fraction > 1:
            c.fail("sustained_fraction", "a fraction in (0, 1]", self.sustained_fraction)
        for name in ("p2p_sustained_fraction", "nvls_sustained_fraction"):
            value = getattr(self, name)
            c.positive(name, value, allow_zero=True)
            if isinstance(value, (int, float)) and value > 1:
                c.fail(name, "a fraction in [0, 1] (0: not used)", value)
        c.positive("p2p_overhead_s", self.p2p_overhead_s, allow_zero=True)
        if self.nvls_sustained_fraction and self.topology != "switch":
            c.fail(
                "nvls_sustained_fraction",
                "0 unless topology is 'switch' (NVLS reduces in the NVSwitch)",
                self.nvls_sustained_fraction,
            )
        if self.topology == "torus2d" and (len(self.torus_dims) != 2 or any(d < 1 for d in self.torus_dims)):
            c.fail("torus_dims", "two dimensions >= 1 for a torus2d", list(self.torus_dims))
        if self.topology == "multi_node":
            if self.devices_per_node < 1:
                c.fail("devices_per_node", "an integer >= 1 for multi_node", self.devices_per_node)
            c.positive("nic_gb_per_s", self.nic_gb_per_s)
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """``n_devices`` identical devices and the interconnect that joins them.

    ``sources`` maps a dotted field path (``device.memory[hbm].read_gb_per_s``) or a prefix of
    one to its citation (datasheet, paper, measurement, or a text starting ``assumed``).
    """

    name: str
    description: str = ""
    device: Device
    n_devices: int = 1
    interconnect: Interconnect = field(default_factory=Interconnect)
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = _Checker()
        if not isinstance(self.n_devices, int) or isinstance(self.n_devices, bool) or self.n_devices < 1:
            c.fail("n_devices", "an integer >= 1", self.n_devices)
        elif self.n_devices > 1 and self.interconnect.topology == "none":
            c.fail("interconnect.topology", f"a topology connecting the {self.n_devices} devices", "none")
        ic = self.interconnect
        if ic.topology == "torus2d" and len(ic.torus_dims) == 2 and math.prod(ic.torus_dims) != self.n_devices:
            c.fail(
                "interconnect.torus_dims",
                f"dimensions whose product is n_devices = {self.n_devices}",
                list(ic.torus_dims),
            )
        if ic.topology == "multi_node" and ic.devices_per_node >= 1 and self.n_devices % ic.devices_per_node:
            c.fail("interconnect.devices_per_node", f"a divisor of n_devices = {self.n_devices}", ic.devices_per_node)
        c.raise_if_any()

    def peak_flops(self, dtype: str, pattern: str = "dense") -> float:
        """Peak FLOP/s of the whole system."""
        return self.n_devices * self.device.peak_flops(dtype, pattern)


def numeric_fields(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted_path, value)`` for every numeric leaf of a hardware object.

    Memory levels are addressed by name (``device.memory[hbm].read_gb_per_s``), other sequences
    by index, mappings by key (``device.core.matrix_unit.macs_per_cycle.fp16``).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name == "sources":
                continue
            yield from numeric_fields(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name)
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from numeric_fields(v, f"{prefix}.{k}")
    elif isinstance(obj, tuple):
        for i, v in enumerate(obj):
            key = v.name if isinstance(v, MemoryLevel) else (v.pattern if isinstance(v, SparsitySupport) else str(i))
            yield from numeric_fields(v, f"{prefix}[{key}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, obj
