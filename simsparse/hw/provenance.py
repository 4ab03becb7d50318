"""Provenance checks for hardware presets: every numeric field must be cited in ``sources``.

A field is cited when a key of :attr:`System.sources` equals its dotted path
(``device.memory[hbm].read_gb_per_s``) or is a prefix of it that ends at a ``.`` or ``[``
boundary (``device.memory[hbm]`` covers every field of that level, ``device`` covers all of
the device).
"""

from __future__ import annotations

from simsparse.hw import System, numeric_fields

__all__ = ["covering_key", "invalid_source_keys", "uncited_fields"]


def _covers(key: str, path: str) -> bool:
    if key == path:
        return True
    return path.startswith(key) and path[len(key)] in ".["


def covering_key(system: System, path: str) -> str | None:
    """The longest ``sources`` key that cites ``path``, or ``None`` if it is uncited."""
    best: str | None = None
    for key in system.sources:
        if _covers(key, path) and (best is None or len(key) > len(best)):
            best = key
    return best


def uncited_fields(system: System) -> list[str]:
    """Dotted paths of the numeric fields of ``system`` that no ``sources`` key covers."""
    keys = list(system.sources)
    return [path for path, _ in numeric_fields(system) if not any(_covers(k, path) for k in keys)]


def invalid_source_keys(system: System) -> list[str]:
    """``sources`` keys that are neither a numeric field path nor a prefix of one (typos)."""
    paths = [path for path, _ in numeric_fields(system)]
    return [key for key in system.sources if not any(_covers(key, p) for p in paths)]
