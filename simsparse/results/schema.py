"""The one vocabulary of result columns: names, units and labels used by tables and plots."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COLUMNS", "Column", "label"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """A result column: its unit and a human label for axes and tables."""

    name: str
    unit: str
    label: str
    description: str


_COLS = [
    Column(name="op", unit="", label="Op", description="op name"),
    Column(name="kind", unit="", label="Op kind", description="gemm, grouped_gemm, elementwise, embedding, collective"),
    Column(name="layer", unit="", label="Layer", description="layer group the op belongs to"),
    Column(name="device", unit="", label="Device", description="device index (-1: the op's slowest device)"),
    Column(name="repeat", unit="", label="Repeat", description="times the op runs per step (identical layers)"),
    Column(name="cycles", unit="cycles", label="Cycles", description="cycles of one execution"),
    Column(
        name="compute_cycles",
        unit="cycles",
        label="Compute cycles",
        description="cycles the matrix/vector datapath is busy",
    ),
    Column(name="stall_cycles", unit="cycles", label="Stall cycles", description="cycles - compute_cycles"),
    Column(name="latency_s", unit="s", label="Latency (s)", description="time of one execution"),
    Column(name="total_s", unit="s", label="Time (s)", description="latency_s x repeat"),
    Column(name="flops", unit="FLOP", label="FLOPs", description="useful (dense-equivalent) FLOPs of one execution"),
    Column(
        name="effective_macs", unit="MAC", label="Effective MACs", description="MACs actually executed after sparsity"
    ),
    Column(
        name="arithmetic_intensity",
        unit="FLOP/B",
        label="Arithmetic intensity (FLOP/byte)",
        description="flops / DRAM bytes",
    ),
    Column(
        name="achieved_flops_per_s",
        unit="FLOP/s",
        label="Achieved FLOP/s",
        description="flops / latency_s (dense-equivalent: a skipping datapath may exceed the dense peak)",
    ),
    Column(
        name="utilization",
        unit="",
        label="Utilization",
        description="executed FLOP/s (2 x MACs after skipping zeros) over the peak for the op's dtype; at most 1",
    ),
    Column(
        name="bottleneck",
        unit="",
        label="Bottleneck",
        description="compute, memory:<level>, noc, interconnect, latency, overhead, imbalance",
    ),
    Column(name="energy_j", unit="J", label="Energy (J)", description="dynamic + static energy of one execution"),
    Column(name="compute_energy_j", unit="J", label="Compute energy (J)", description="MAC and vector energy"),
    Column(name="memory_energy_j", unit="J", label="Memory energy (J)", description="energy of the memory levels"),
    Column(name="interconnect_energy_j", unit="J", label="Interconnect energy (J)", description="link energy"),
    Column(name="static_energy_j", unit="J", label="Static energy (J)", description="static power x latency"),
    Column(name="overhead_s", unit="s", label="Launch overhead (s)", description="kernel launch and synchronization"),
    Column(name="stall_compute_s", unit="s", label="Compute (s)", description="time bound by the datapath"),
    Column(name="stall_memory_s", unit="s", label="Memory stall (s)", description="time waiting on memory"),
    Column(name="stall_interconnect_s", unit="s", label="Interconnect (s)", description="time in collectives"),
    Column(name="stall_imbalance_s", unit="s", label="Imbalance (s)", description="time lost to the slowest device/PE"),
    Column(name="stall_latency_s", unit="s", label="Latency (s)", description="fill, drain and access latency"),
    Column(name="tile_m", unit="", label="Tile M", description="chosen tile rows"),
    Column(name="tile_n", unit="", label="Tile N", description="chosen tile columns"),
    Column(name="tile_k", unit="", label="Tile K", description="chosen tile depth"),
    Column(name="n_tiles", unit="", label="Tiles", description="tile tasks of the op"),
    Column(name="level", unit="", label="Memory level", description="memory level name"),
    Column(name="read_bytes", unit="B", label="Bytes read", description="bytes read at the level"),
    Column(name="write_bytes", unit="B", label="Bytes written", description="bytes written at the level"),
    Column(name="link_bytes", unit="B", label="Link bytes", description="bytes over the device links"),
    Column(
        name="noc_bytes",
        unit="B",
        label="On-chip network bytes",
        description="bytes between the cores and device memory over the on-chip network (0: none modeled)",
    ),
    Column(name="tokens", unit="tokens", label="Tokens", description="tokens routed to an expert"),
    Column(name="expert", unit="", label="Expert", description="expert index"),
    Column(name="latency_us", unit="us", label="Latency (µs)", description="latency in microseconds"),
    Column(name="predicted", unit="us", label="Predicted (µs)", description="simulated value"),
    Column(name="measured", unit="us", label="Measured (µs)", description="measured value"),
    Column(name="tokens_per_s", unit="tok/s", label="Tokens per second", description="throughput"),
    Column(name="energy_per_token_j", unit="J/token", label="Energy per token (J)", description="energy / tokens"),
    Column(name="speedup", unit="x", label="Speedup over dense", description="dense latency / latency"),
    Column(name="density", unit="", label="Density", description="fraction of nonzeros kept"),
]

COLUMNS: dict[str, Column] = {c.name: c for c in _COLS}
"""Every column of every result table, by name."""


def label(name: str) -> str:
    """Axis label of a column (with its unit); the name itself when unknown."""
    col = COLUMNS.get(name)
    if col is None:
        if name.startswith("bytes_"):
            return f"Bytes at {name[6:]} (B)"
        return name
    return col.label
