"""Hypothesis strategies for hardware configurations (the only place hypothesis is imported)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simsparse.hw import (
    DATAFLOWS,
    DTYPES,
    Core,
    Device,
    DramChannels,
    Energy,
    Interconnect,
    MatrixUnit,
    MemoryLevel,
    OnChipNetwork,
    SimtExecution,
    SparsitySupport,
    System,
    VectorUnit,
)

__all__ = ["devices", "interconnects", "matrix_units", "memory_hierarchies", "simt_models", "systems"]

_positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
_non_negative = st.one_of(st.just(0.0), _positive)
_fraction = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    max_size=40,
)


def _dtype_map(values: st.SearchStrategy[float], *, min_size: int = 1) -> st.SearchStrategy[dict[str, float]]:
    return st.dictionaries(st.sampled_from(DTYPES), values, min_size=min_size, max_size=len(DTYPES))


@st.composite
def _sparsity(draw: st.DrawFn) -> SparsitySupport:
    m = draw(st.integers(min_value=1, max_value=16))
    n = draw(st.integers(min_value=1, max_value=m))
    pattern = draw(st.sampled_from([f"{n}:{m}", "row_wise", "unstructured", "dual_side"]))
    return SparsitySupport(
        pattern=pattern,
        metadata_bits_per_value=draw(st.floats(min_value=0.0, max_value=8.0, allow_nan=False)),
        max_speedup=draw(st.floats(min_value=1.0, max_value=16.0, allow_nan=False)),
        metadata_format=draw(st.sampled_from(["nm_index", "bitmap", "csr", "none"])),
    )


@st.composite
def matrix_units(draw: st.DrawFn) -> MatrixUnit:
    """A valid :class:`MatrixUnit`, dense or with one or more distinct sparsity patterns."""
    supports = draw(st.lists(_sparsity(), max_size=3, unique_by=lambda s: s.pattern))
    model = (
        draw(st.sampled_from(["structured_nm", "flexible_nm", "unstructured", "dual_side"])) if supports else "dense"
    )
    macs = draw(_dtype_map(st.floats(min_value=1.0, max_value=65536.0, allow_nan=False)))
    sustained = draw(st.dictionaries(st.sampled_from(sorted(macs)), _fraction, max_size=len(macs)))
    return MatrixUnit(
        kind=draw(st.sampled_from(["systolic", "tensor_core"])),
        array_rows=draw(st.integers(min_value=1, max_value=256)),
        array_cols=draw(st.integers(min_value=1, max_value=256)),
        n_arrays=draw(st.integers(min_value=1, max_value=8)),
        dataflow=draw(st.sampled_from(DATAFLOWS)),
        macs_per_cycle=macs,
        compute_model=model,
        sparsity=tuple(supports),
        zero_handling=draw(st.sampled_from(["skip", "gate"])),
        dequant=draw(st.sampled_from(["vector", "fused"])),
        sustained_fraction=sustained,
    )


@st.composite
def memory_hierarchies(draw: st.DrawFn, n_cores: int) -> tuple[MemoryLevel, ...]:
    """1-4 levels, inner to outer, whose total capacities never shrink outward."""
    n_levels = draw(st.integers(min_value=1, max_value=4))
    n_core_levels = draw(st.integers(min_value=0, max_value=n_levels - 1)) if n_levels > 1 else 0
    levels: list[MemoryLevel] = []
    total = 0
    for i in range(n_levels):
        scope: Any = "core" if i < n_core_levels else "device"
        per = n_cores if scope == "core" else 1
        min_cap = max(1, -(-total // per))
        capacity = draw(st.integers(min_value=min_cap, max_value=min_cap * 64 + 1024))
        total = capacity * per
        kind: Any = "dram" if i == n_levels - 1 else draw(st.sampled_from(["register_file", "sram", "cache"]))
        channels = None
        if kind == "dram" and draw(st.booleans()):
            burst = draw(st.sampled_from([32, 64]))
            channels = DramChannels(
                n_channels=draw(st.integers(min_value=1, max_value=256)),
                burst_bytes=burst,
                interleave_bytes=burst * draw(st.sampled_from([0, 1, 8])),
            )
        levels.append(
            MemoryLevel(
                name=f"m{i}",
                kind=kind,
                scope=scope,
                capacity_bytes=capacity,
                read_gb_per_s=draw(_positive),
                write_gb_per_s=draw(_positive),
                latency_ns=draw(_non_negative),
                n_banks=draw(st.integers(min_value=1, max_value=64)),
                sustained_fraction=draw(_fraction),
                read_energy_pj_per_byte=draw(_non_negative),
                write_energy_pj_per_byte=draw(_non_negative),
                channels=channels,
            )
        )
    return tuple(levels)


@st.composite
def devices(draw: st.DrawFn) -> Device:
    """A valid :class:`Device`."""
    n_cores = draw(st.integers(min_value=1, max_value=512))
    noc_topology: Any = draw(st.sampled_from(["none", "crossbar", "mesh2d"]))
    rows = draw(st.integers(min_value=1, max_value=32)) if noc_topology == "mesh2d" else 0
    # one core per router: the mesh holds every core
    cols = draw(st.integers(min_value=-(-n_cores // rows), max_value=-(-n_cores // rows) + 4)) if rows else 0
    return Device(
        name=draw(_names),
        freq_ghz=draw(st.floats(min_value=0.05, max_value=5.0, allow_nan=False)),
        n_cores=n_cores,
        core=Core(
            matrix_unit=draw(matrix_units()),
            vector_unit=_vector(draw),
        ),
        memory=draw(memory_hierarchies(n_cores)),
        noc=OnChipNetwork(
            topology=noc_topology,
            link_gb_per_s=draw(_positive) if noc_topology != "none" else draw(_non_negative),
            hop_latency_ns=draw(_non_negative),
            mesh_rows=rows,
            mesh_cols=cols,
            energy_pj_per_byte_per_hop=draw(_non_negative),
        ),
        energy=Energy(
            mac_pj=draw(_dtype_map(_non_negative, min_size=0)),
            vector_flop_pj=draw(_non_negative),
            static_w=draw(_non_negative),
        ),
        kernel_launch_s=draw(st.floats(min_value=0.0, max_value=1e-3, allow_nan=False)),
        sync_s=draw(st.floats(min_value=0.0, max_value=1e-3, allow_nan=False)),
        simt=draw(st.none() | simt_models()),
        area_mm2=draw(_non_negative),
        tdp_w=draw(_non_negative),
    )


@st.composite
def simt_models(draw: st.DrawFn) -> SimtExecution:
    """A valid :class:`SimtExecution`."""
    return SimtExecution(
        max_threads_per_core=draw(st.integers(min_value=32, max_value=4096)),
        max_ctas_per_core=draw(st.integers(min_value=1, max_value=64)),
        kernel_floor_s=draw(st.floats(min_value=0.0, max_value=1e-4, allow_nan=False)),
        dram_round_ns=draw(st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)),
    )


def _vector(draw: st.DrawFn) -> VectorUnit:
    flops = draw(_dtype_map(_positive, min_size=0))
    flops["fp32"] = draw(_positive)
    return VectorUnit(lanes=draw(st.integers(min_value=1, max_value=4096)), flops_per_cycle=flops)


@st.composite
def interconnects(draw: st.DrawFn, n_devices: int) -> Interconnect:
    """A valid :class:`Interconnect` for ``n_devices`` devices."""
    choices = ["none"] if n_devices == 1 else ["switch", "ring", "pcie_tree", "torus2d", "multi_node"]
    if n_devices == 1:
        choices += ["switch", "ring"]
    topology: Any = draw(st.sampled_from(choices))
    dims: tuple[int, ...] = ()
    if topology == "torus2d":
        divisors = [d for d in range(1, n_devices + 1) if n_devices % d == 0]
        first = draw(st.sampled_from(divisors))
        dims = (first, n_devices // first)
    per_node = 0
    nic = draw(_non_negative)
    if topology == "multi_node":
        per_node = draw(st.sampled_from([d for d in range(1, n_devices + 1) if n_devices % d == 0]))
        nic = draw(_positive)
    return Interconnect(
        topology=topology,
        link_gb_per_s=draw(_positive) if topology != "none" else draw(_non_negative),
        n_links_per_device=draw(st.integers(min_value=1, max_value=32)),
        link_latency_ns=draw(_non_negative),
        torus_dims=dims,
        devices_per_node=per_node,
        nic_gb_per_s=nic,
        nic_latency_ns=draw(_non_negative),
        sustained_fraction=draw(_fraction),
        energy_pj_per_byte=draw(_non_negative),
    )


@st.composite
def systems(draw: st.DrawFn) -> System:
    """A random valid :class:`System` (device, interconnect, sources)."""
    n_devices = draw(st.integers(min_value=1, max_value=16))
    return System(
        name=draw(_names),
        description=draw(_text),
        device=draw(devices()),
        n_devices=n_devices,
        interconnect=draw(interconnects(n_devices)),
        sources=draw(
            st.dictionaries(
                st.sampled_from(["device", "device.freq_ghz", "n_devices", "interconnect"]), _text, max_size=4
            )
        ),
    )
