"""Pluggable cost models behind small protocols, registered by name.

* :mod:`simsparse.models.compute`: cycles of a GEMM on one core's matrix unit (dense,
  structured N:M, flexible N:M, unstructured, dual-side).
* :mod:`simsparse.models.memory`: mapping of GEMM tiles onto the memory hierarchy and the bytes
  each level moves.
* :mod:`simsparse.models.noc`: the on-chip network between the cores and device memory (crossbar,
  2D mesh): its bandwidth for the active cores, hop counts and latency.
* :mod:`simsparse.models.interconnect`: collectives over device links.
* :mod:`simsparse.models.energy`: energy per MAC, per byte per level, per byte per on-chip hop, per link
  byte, static.
"""
