"""What the host CPU offers, read from the machine, each fact with the place it came from.

:func:`host_cpu_facts` reads ``lscpu``, ``/proc/cpuinfo``, ``/sys/devices/system/cpu`` and the process's CPU
affinity. Every fact is a ``{"value": ..., "source": ...}`` pair; the source names the tool and field or file
(``"lscpu: Model name"``, ``"sysfs: /sys/devices/system/cpu/cpu0/cache/index2/size"``), ``"derived: ..."``
for a fact computed from others, or ``"assumed: ..."`` when nothing could be read (the value is then
``None`` or a stated default). It never raises for a missing tool or file. Building a hardware description
from these facts is the hardware schema's job, not this module's.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import TypedDict

__all__ = ["FLAG_NAMES", "HostFact", "host_cpu_facts", "nvidia_smi_query", "parse_size_bytes"]

_log = logging.getLogger(__name__)

FactValue = str | int | float | bool | None


class HostFact(TypedDict):
    """One fact about the host and where it was read."""

    value: FactValue
    source: str


FLAG_NAMES: tuple[str, ...] = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "neon",
    "asimd",
    "sve",
)
"""CPU feature flags reported as ``has_<flag>`` (x86 names as in /proc/cpuinfo; neon/asimd/sve for Arm)."""

_LSCPU_CACHE_KEYS = {"l1d": "L1d cache", "l1i": "L1i cache", "l2": "L2 cache", "l3": "L3 cache"}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\b", re.IGNORECASE)
_INSTANCES_RE = re.compile(r"\((\d+)\s+instances?\)")
_GHZ_RE = re.compile(r"@\s*([0-9]+(?:\.[0-9]+)?)\s*GHz", re.IGNORECASE)


def parse_size_bytes(text: str) -> int | None:
    """Bytes in a cache size as lscpu or sysfs print it (``48K``, ``2048K``, ``4 MiB``, ``300 MiB (1 instance)``).

    K, M, G and T are binary (KiB...), as both tools mean them. ``None`` when the text is not a size.
    """
    match = _SIZE_RE.match(text)
    if match is None:
        return None
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[match.group(2).upper()]
    return round(float(match.group(1)) * scale)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _lscpu(enabled: bool, text: str | None) -> dict[str, str]:
    """``lscpu`` output as a field -> value dict (empty when lscpu is missing or fails)."""
    if text is None and enabled:
        try:
            done = subprocess.run(
                ["lscpu"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
                env={**os.environ, "LC_ALL": "C"},
            )
            text = done.stdout if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            _log.debug("lscpu could not be run", exc_info=True)
            text = None
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _cpuinfo(root: Path) -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as a field -> value dict (empty when unreadable)."""
    text = _read(root / "proc" / "cpuinfo")
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        return None


def _first(*candidates: tuple[FactValue, str], assumed: tuple[FactValue, str]) -> HostFact:
    """The first candidate whose value is not None, else the assumed one."""
    for value, source in candidates:
        if value is not None and value != "":
            return HostFact(value=value, source=source)
    return HostFact(value=assumed[0], source=f"assumed: {assumed[1]}")


def _sysfs_caches(root: Path) -> dict[str, HostFact]:
    """Per-instance cache facts of cpu0 from sysfs: ``l1d_bytes``, ``l2_shared_cpu_list``, ..."""
    facts: dict[str, HostFact] = {}
    base = root / "sys" / "devices" / "system" / "cpu" / "cpu0" / "cache"
    try:
        indexes = sorted(p for p in base.iterdir() if p.name.startswith("index"))
    except OSError:
        return facts
    for index in indexes:
        level = _int(_read(index / "level"))
        kind = (_read(index / "type") or "").lower()
        if level is None:
            continue
        name = f"l{level}" + {"data": "d", "instruction": "i"}.get(kind, "")
        shown = f"/sys/devices/system/cpu/cpu0/cache/{index.name}"
        size_text = _read(index / "size")
        size = parse_size_bytes(size_text) if size_text else None
        if size is not None:
            facts[f"{name}_bytes"] = HostFact(value=size, source=f"sysfs: {shown}/size")
        for field, key, conv in (
            ("shared_cpu_list", "shared_cpu_list", str),
            ("ways_of_associativity", "ways", _int),
            ("coherency_line_size", "line_bytes", _int),
        ):
            raw = _read(index / field)
            value = conv(raw) if raw else None
            if value is not None:
                facts[f"{name}_{key}"] = HostFact(value=value, source=f"sysfs: {shown}/{field}")
    return facts


def host_cpu_facts(
    *, root: str | os.PathLike[str] = "/", run_lscpu: bool = True, lscpu_text: str | None = None
) -> dict[str, HostFact]:
    """Facts about the host CPU, each ``{"value": ..., "source": ...}``.

    ``root`` prefixes ``/proc`` and ``/sys`` (tests point it at a fake tree); ``run_lscpu=False`` skips the
    ``lscpu`` tool, and ``lscpu_text`` supplies its output instead. Keys: ``model_name``, ``vendor``,
    ``architecture``, ``hypervisor``, ``n_cpus_online``, ``n_cpus_usable``, ``n_sockets``,
    ``n_cores_per_socket``, ``n_threads_per_core``, ``n_cores``, ``numa_nodes``, ``max_mhz``, ``has_<flag>``
    for each of :data:`FLAG_NAMES`, ``simd_width_bits``, and per cache level ``l1d``/``l1i``/``l2``/``l3``:
    ``_bytes`` (one instance) plus, from sysfs, ``_shared_cpu_list``, ``_ways`` and ``_line_bytes``.
    """
    base = Path(root)
    ls = _lscpu(run_lscpu, lscpu_text)
    info = _cpuinfo(base)
    facts: dict[str, HostFact] = {}

    facts["model_name"] = _first(
        (ls.get("Model name"), "lscpu: Model name"),
        (info.get("model name"), "/proc/cpuinfo: model name"),
        (platform.processor() or None, "platform.processor()"),
        assumed=("unknown CPU", "no model name found"),
    )
    facts["vendor"] = _first(
        (ls.get("Vendor ID"), "lscpu: Vendor ID"),
        (info.get("vendor_id"), "/proc/cpuinfo: vendor_id"),
        assumed=(None, "no vendor found"),
    )
    facts["architecture"] = _first(
        (ls.get("Architecture"), "lscpu: Architecture"),
        (platform.machine() or None, "platform.machine()"),
        assumed=(None, "no architecture found"),
    )
    facts["hypervisor"] = _first(
        (ls.get("Hypervisor vendor"), "lscpu: Hypervisor vendor"),
        assumed=(None, "no hypervisor reported (bare metal, or lscpu unavailable)"),
    )

    facts["n_cpus_online"] = _first(
        (_int(ls.get("CPU(s)")), "lscpu: CPU(s)"),
        (os.cpu_count(), "os.cpu_count()"),
        assumed=(1, "one CPU (nothing reported)"),
    )
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    facts["n_cpus_usable"] = _first(
        (usable, "os.sched_getaffinity(0)"),
        (os.cpu_count(), "os.cpu_count() (no CPU affinity available)"),
        assumed=(1, "one CPU (nothing reported)"),
    )
    facts["n_sockets"] = _first(
        (_int(ls.get("Socket(s)")), "lscpu: Socket(s)"),
        assumed=(1, "one socket (lscpu unavailable)"),
    )
    cpuinfo_cores = _int(info.get("cpu cores"))
    facts["n_cores_per_socket"] = _first(
        (_int(ls.get("Core(s) per socket")), "lscpu: Core(s) per socket"),
        (cpuinfo_cores, "/proc/cpuinfo: cpu cores"),
        assumed=(None, "no core count found"),
    )
    siblings = _int(info.get("siblings"))
    facts["n_threads_per_core"] = _first(
        (_int(ls.get("Thread(s) per core")), "lscpu: Thread(s) per core"),
        (
            siblings // cpuinfo_cores if siblings and cpuinfo_cores else None,
            "/proc/cpuinfo: siblings / cpu cores",
        ),
        assumed=(1, "one thread per core (no SMT information)"),
    )
    sockets, per_socket = facts["n_sockets"]["value"], facts["n_cores_per_socket"]["value"]
    if isinstance(sockets, int) and isinstance(per_socket, int):
        facts["n_cores"] = HostFact(value=sockets * per_socket, source="derived: n_sockets * n_cores_per_socket")
    else:
        facts["n_cores"] = HostFact(
            value=facts["n_cpus_online"]["value"], source="assumed: n_cpus_online (no core count found)"
        )
    facts["numa_nodes"] = _first(
        (_int(ls.get("NUMA node(s)")), "lscpu: NUMA node(s)"),
        assumed=(1, "one NUMA node (lscpu unavailable)"),
    )

    freq = _int(_read(base / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    model = str(facts["model_name"]["value"])
    ghz = _GHZ_RE.search(model)
    facts["max_mhz"] = _first(
        (_float(ls.get("CPU max MHz")), "lscpu: CPU max MHz"),
        (freq / 1000.0 if freq else None, "sysfs: /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"),
        (_float(info.get("cpu MHz")), "/proc/cpuinfo: cpu MHz (current clock; no maximum is exposed)"),
        (float(ghz.group(1)) * 1000.0 if ghz else None, "model name: nominal GHz"),
        assumed=(None, "no clock found"),
    )

    flags_text, flags_source = info.get("flags") or info.get("Features"), "/proc/cpuinfo: flags"
    if not flags_text:
        flags_text, flags_source = ls.get("Flags"), "lscpu: Flags"
    flags = set((flags_text or "").split())
    for flag in FLAG_NAMES:
        if flags:
            facts[f"has_{flag}"] = HostFact(value=flag in flags, source=flags_source)
        else:
            facts[f"has_{flag}"] = HostFact(value=None, source="assumed: unknown (no CPU flags found)")
    if flags:
        width = 512 if "avx512f" in flags else 256 if "avx2" in flags or "avx" in flags else 128
        facts["simd_width_bits"] = HostFact(
            value=width, source=f"derived: widest of avx512f/avx2/avx in {flags_source}"
        )
    else:
        facts["simd_width_bits"] = HostFact(value=None, source="assumed: unknown (no CPU flags found)")

    caches = _sysfs_caches(base)
    for name, key in _LSCPU_CACHE_KEYS.items():
        if f"{name}_bytes" in caches:
            continue
        text = ls.get(key)
        total = parse_size_bytes(text) if text else None
        if total is None or text is None:
            caches[f"{name}_bytes"] = HostFact(
                value=None, source=f"assumed: unknown (no sysfs cache entry, no lscpu '{key}')"
            )
            continue
        inst = _INSTANCES_RE.search(text)
        if inst:  # new lscpu: total over all instances
            caches[f"{name}_bytes"] = HostFact(
                value=total // max(1, int(inst.group(1))), source=f"lscpu: {key} (total / instances)"
            )
        else:  # old lscpu: one instance
            caches[f"{name}_bytes"] = HostFact(value=total, source=f"lscpu: {key}")
    facts.update(sorted(caches.items()))
    return facts


def nvidia_smi_query(field: str) -> str:
    """One ``nvidia-smi --query-gpu`` field of GPU 0 (``driver_version``, ``clocks.max.sm``, ...), or ""
    where there is no ``nvidia-smi`` or it fails."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else ""
