"""The only YAML code: strict loading, structuring into typed objects, preset lookup, export."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from simsparse.errors import ConfigError, ConfigErrors, closest
from simsparse.hw import System

from .structure import structure, unstructure
from .yamlio import Lines, dump_yaml, parse_yaml

__all__ = [
    "dump_hardware",
    "dump_yaml",
    "hardware_from_dict",
    "hardware_presets",
    "load_hardware",
    "load_yaml_as",
    "load_yaml_file",
    "parse_yaml",
    "preset_path",
    "structure",
    "unstructure",
]

T = TypeVar("T")


def _data_dir(kind: str) -> Path:
    return Path(str(resources.files("simsparse").joinpath("data").joinpath(kind)))


def hardware_presets() -> list[str]:
    """Names of the hardware presets shipped with the package."""
    return sorted(p.stem for p in _data_dir("hwconfigs").glob("*.yaml"))


def preset_path(kind: str, name: str) -> Path:
    """Path of the shipped file ``data/<kind>/<name>.yaml``; a did-you-mean error if absent."""
    path = _data_dir(kind) / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in _data_dir(kind).glob("*.yaml"))
        label = {"hwconfigs": "hardware preset", "workloads/models": "model"}.get(kind, kind)
        raise ConfigError(
            "", f"a {label} name or a path to a YAML file{closest(name, names)}; known: {', '.join(names)}", name
        )
    return path


def load_yaml_file(path: str | os.PathLike[str]) -> tuple[Any, Lines, str]:
    """Read and strictly parse a YAML file; returns ``(data, lines, display_name)``."""
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise ConfigError("", "an existing file", "a missing file", file=shown)
    if p.is_dir():
        raise ConfigError("", "a YAML file", "a directory", file=shown)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError("", "a readable file", exc.strerror, file=shown) from None
    data, lines = parse_yaml(raw, shown)
    return data, lines, shown


def load_yaml_as(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Load a YAML file into dataclass ``cls``; every error in the file is raised at once."""
    data, lines, shown = load_yaml_file(path)
    return structure(cls, data, lines=lines, file=shown)


def _resolve(name_or_path: str | os.PathLike[str], kind: str) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, os.PathLike) or text.endswith((".yaml", ".yml")) or os.sep in text:
        return Path(name_or_path)
    return preset_path(kind, text)


def load_hardware(name_or_path: str | os.PathLike[str] | System) -> System:
    """A :class:`System` from a preset name (``"h100-sxm"``) or a YAML file path."""
    if isinstance(name_or_path, System):
        return name_or_path
    return load_yaml_as(System, _resolve(name_or_path, "hwconfigs"))


def hardware_from_dict(data: dict[str, Any], *, file: str | None = None) -> System:
    """A :class:`System` from plain data (the YAML structure)."""
    return structure(System, data, file=file)


def dump_hardware(system: System) -> str:
    """The fully resolved YAML of a system; loading it gives an equal object."""
    return dump_yaml(unstructure(system))


_ = ConfigErrors
