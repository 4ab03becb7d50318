"""Strict YAML reading with line numbers, and plain-data dumping.

The loader is deliberately not PyYAML's default resolver (YAML 1.1): ``yes``/``no``/``on``/
``off`` stay strings (so a bool field reports them), ``1e9`` and ``3.35e12`` are floats (PyYAML
reads them as strings), ``true``/``false`` are the only booleans, duplicate keys are errors,
and every value remembers the line it came from.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from simsparse.errors import ConfigError

__all__ = ["Lines", "dump_yaml", "parse_yaml"]

Lines = dict[tuple[str | int, ...], int]
"""Line number (1-based) of each value, keyed by its path of keys and indices."""

_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_HEX = re.compile(r"^0x[0-9a-fA-F_]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_INF = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    if node.style is not None and node.style in "'\"|>":
        return text
    if node.tag == "tag:yaml.org,2002:str" and node.style:
        return text
    low = text.lower()
    if low in ("", "~", "null"):
        return None
    if low == "true":
        return True
    if low == "false":
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _HEX.match(text):
        return int(text, 16)
    if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
        return float(text.replace("_", ""))
    if low in _INF:
        return _INF[low]
    return text


def _build(node: yaml.Node, path: tuple[str | int, ...], lines: Lines, errors: list[ConfigError], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, errors, file) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(
                    ConfigError(
                        _fmt(path), "a plain key", "a complex key", file=file, line=key_node.start_mark.line + 1
                    )
                )
                continue
            key = key_node.value
            if key == "<<":
                errors.append(
                    ConfigError(
                        _fmt(path), "no YAML merge keys (<<)", key, file=file, line=key_node.start_mark.line + 1
                    )
                )
                continue
            if key in out:
                errors.append(
                    ConfigError(
                        _fmt((*path, key)),
                        f"each key once (first given on line {lines.get((*path, key), '?')})",
                        "a duplicate key",
                        file=file,
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            out[key] = _build(value_node, (*path, key), lines, errors, file)
        return out
    return None  # pragma: no cover - composer yields only the three node kinds


def _fmt(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_yaml(data: str | bytes, file: str) -> tuple[Any, Lines]:
    """Parse YAML text strictly; returns the plain value and the line of every path.

    Raises :class:`ConfigError` (one or several, as ``ConfigErrors``) naming ``file``.
    """
    from simsparse.errors import ConfigErrors

    if isinstance(data, bytes):
        if b"\x00" in data:
            raise ConfigError("", "a UTF-8 YAML text file", "binary data (NUL bytes)", file=file)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                "", "a UTF-8 YAML text file", f"undecodable byte at offset {exc.start}", file=file
            ) from None
    else:
        text = data
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError("", "valid YAML syntax", f"a syntax error: {problem}", file=file, line=line) from None
    if node is None:
        raise ConfigError("", "a YAML mapping", "an empty file", file=file, line=1)
    lines: Lines = {}
    errors: list[ConfigError] = []
    value = _build(node, (), lines, errors, file)
    if errors:
        raise ConfigErrors(errors)
    return value, lines


class _Dumper(yaml.SafeDumper):
    pass


def _repr_float(dumper: yaml.SafeDumper, value: float) -> yaml.Node:
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    if text in ("inf", "-inf", "nan"):
        text = {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[text]
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


def _repr_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    needs_quotes = _scalar(yaml.ScalarNode("tag:yaml.org,2002:str", value)) != value or ":" in value
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if needs_quotes else None)


_Dumper.add_representer(float, _repr_float)
_Dumper.add_representer(str, _repr_str)


def dump_yaml(value: Any) -> str:
    """Dump plain data (dicts, lists, scalars) as block YAML, keys in insertion order."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
