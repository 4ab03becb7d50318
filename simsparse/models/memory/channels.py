"""Channel-level DRAM: whole bursts per access and the channels a stream keeps busy.

A DRAM level with a channel organization (:class:`simsparse.hw.DramChannels`) is ``n_channels``
independent channels of ``read_gb_per_s / n_channels`` each. Two effects follow, both exact for the
streams the engine describes and both gone once a stream is large and burst-aligned:

* **Bursts.** A channel moves whole bursts (HBM2/2E and HBM3 pseudo-channels 32 B, JEDEC JESD235 and
  JESD238; a DDR5 sub-channel 64 B, JESD79-5): a contiguous chunk of ``c`` bytes costs
  ``ceil(c / burst) * burst`` bytes of the channel's time, so a gather of short rows (an embedding of a
  narrow table, the per-row slices of a tile whose K slice is a few bytes) moves more than it uses.
* **Coverage.** Consecutive ``stride_bytes`` of the address space go to consecutive channels, so a
  chunk of ``c`` bytes keeps ``ceil(c / stride)`` channels busy (at most all of them). A stream of
  ``n`` chunks covers ``min(n_channels, n * ceil(c / stride))`` channels and draws that share of the
  level's bandwidth: a small transfer is served by the few channels that hold it.

Approximate: chunks are taken to start on burst boundaries and to land on distinct channels (an
address hash spreads them; a stride that maps every chunk to one channel, which a hash avoids, is not
modeled); a channel's banks, row-buffer hits and refresh are inside the level's measured sustained
fraction, not modeled per channel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from simsparse.hw import MemoryLevel

__all__ = ["Chunks", "burst_bytes", "channel_gb_per_s", "channel_share", "moved_bytes"]

Chunks = tuple[float, float]
"""``(bytes of one contiguous chunk, number of chunks)``: how a stream lays out its bytes."""


def channel_gb_per_s(level: MemoryLevel) -> float:
    """Read bandwidth of one channel (the level's whole bandwidth without a channel organization)."""
    return level.read_gb_per_s / (level.channels.n_channels if level.channels is not None else 1)


def burst_bytes(level: MemoryLevel, chunk_bytes: float) -> float:
    """Bytes the level moves for one contiguous chunk: whole bursts (exact bytes without channels)."""
    ch = level.channels
    if ch is None or chunk_bytes <= 0:
        return max(chunk_bytes, 0.0)
    return math.ceil(chunk_bytes / ch.burst_bytes - 1e-9) * float(ch.burst_bytes)


def moved_bytes(level: MemoryLevel, streams: Iterable[Chunks]) -> float:
    """Bytes the level moves for the streams, each chunk rounded up to whole bursts."""
    return sum(burst_bytes(level, c) * n for c, n in streams)


def channel_share(level: MemoryLevel, streams: Iterable[Chunks]) -> float:
    """Fraction of the level's channels the streams keep busy, in (0, 1]; 1 without channels.

    A chunk of ``c`` bytes covers ``ceil(c / stride_bytes)`` consecutive channels; chunks land on
    distinct channels until every channel is covered (module docstring)."""
    ch = level.channels
    if ch is None:
        return 1.0
    covered = 0.0
    for c, n in streams:
        if c > 0 and n > 0:
            covered += n * math.ceil(c / ch.stride_bytes - 1e-9)
        if covered >= ch.n_channels:
            return 1.0
    return max(covered, 1.0) / ch.n_channels
