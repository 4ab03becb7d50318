"""Turn plain YAML data into frozen dataclasses (and back), reporting every error at once.

Field names in YAML are exactly the dataclass field names. Types come from the dataclass
annotations: ``int``, ``float`` (an int is accepted), ``str``, ``bool``, ``Literal[...]``,
``tuple[X, ...]``, ``dict[str, X]``, ``X | None`` and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

from simsparse.errors import ConfigError, ConfigErrors, closest

from .yamlio import Lines

__all__ = ["structure", "unstructure"]

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def _fmt(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class _Ctx:
    def __init__(self, lines: Lines, file: str | None, root: tuple[str | int, ...]) -> None:
        self.lines = lines
        self.file = file
        self.root = root
        self.errors: list[ConfigError] = []

    def line(self, path: tuple[str | int, ...]) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def fail(self, path: tuple[str | int, ...], expected: str, got: Any = None, *, has_got: bool = True) -> None:
        self.errors.append(
            ConfigError(
                _fmt(path[len(self.root) :]) if self.root else _fmt(path),
                expected,
                got,
                file=self.file,
                line=self.line(path),
                has_got=has_got,
            )
        )


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is tuple:
        return "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return str(tp)


def _convert(tp: Any, value: Any, path: tuple[str | int, ...], ctx: _Ctx) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, path, ctx)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _structure(tp, value, path, ctx)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            ctx.fail(
                path,
                "one of " + ", ".join(str(c) for c in choices) + closest(str(value), [str(c) for c in choices]),
                value,
            )
            return _MISSING
        return value
    if tp is bool:
        if not isinstance(value, bool):
            ctx.fail(path, "true or false", value)
            return _MISSING
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            ctx.fail(path, "an integer", value)
            return _MISSING
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            ctx.fail(path, "a finite number", value)
            return _MISSING
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            ctx.fail(path, "a string", value)
            return _MISSING
        return value
    if origin is tuple:
        if not isinstance(value, list):
            ctx.fail(path, "a list", value)
            return _MISSING
        item_tp = get_args(tp)[0]
        items = [_convert(item_tp, v, (*path, i), ctx) for i, v in enumerate(value)]
        return _MISSING if any(i is _MISSING for i in items) else tuple(items)
    if origin in (dict, Mapping):
        _key_tp, val_tp = get_args(tp)
        if not isinstance(value, dict):
            ctx.fail(path, "a mapping", value)
            return _MISSING
        out = {}
        for k, v in value.items():
            conv = _convert(val_tp, v, (*path, k), ctx)
            if conv is not _MISSING:
                out[str(k)] = conv
        return out
    ctx.fail(path, _describe(tp), value)
    return _MISSING


def _structure(cls: type, value: Any, path: tuple[str | int, ...], ctx: _Ctx) -> Any:
    if not isinstance(value, dict):
        ctx.fail(path, f"a mapping of {cls.__name__} fields", value)
        return _MISSING
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    broken = False
    unknown = False  # unknown keys alone still let the known fields' invariants be checked
    for key, raw in value.items():
        if key not in fields:
            ctx.fail(
                (*path, key),
                "a known field" + (closest(str(key), list(fields)) or f" (one of {', '.join(fields)})"),
                "an unknown key",
                has_got=True,
            )
            ctx.errors[-1].expected = f"a known field of {cls.__name__}" + (
                closest(str(key), list(fields)) or f" (known: {', '.join(fields)})"
            )
            ctx.errors[-1].got = key
            unknown = True
            continue
        conv = _convert(hints[key], raw, (*path, key), ctx)
        if conv is _MISSING:
            broken = True
        else:
            kwargs[key] = conv
    for name, f in fields.items():
        if name not in value and f.default is _MISSING and f.default_factory is _MISSING:
            ctx.fail((*path, name), f"a required field ({_describe(hints[name])})", has_got=False)
            broken = True
    if broken:
        return _MISSING
    try:
        built = cls(**kwargs)
        return _MISSING if unknown else built
    except ConfigErrors as exc:
        for err in exc.errors:
            sub = _parse_rel(err.path)
            ctx.fail((*path, *sub), err.expected, err.got, has_got=err.has_got)
        return _MISSING
    except ConfigError as err:
        ctx.fail((*path, *_parse_rel(err.path)), err.expected, err.got, has_got=err.has_got)
        return _MISSING


def _parse_rel(text: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for part in text.replace("]", "").split("."):
        if not part:
            continue
        pieces = part.split("[")
        if pieces[0]:
            out.append(pieces[0])
        for idx in pieces[1:]:
            out.append(int(idx) if idx.lstrip("-").isdigit() else idx)
    return tuple(out)


def structure(
    cls: type[T],
    value: Any,
    *,
    lines: Lines | None = None,
    file: str | None = None,
    root: tuple[str | int, ...] = (),
) -> T:
    """Build ``cls`` from plain data, raising :class:`ConfigErrors` with every problem found."""
    ctx = _Ctx(lines or {}, file, root)
    out = _structure(cls, value, root, ctx)
    if ctx.errors:
        raise ConfigErrors(ctx.errors)
    return typing.cast(T, out)


def unstructure(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) from a dataclass tree; the inverse of :func:`structure`."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: unstructure(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [unstructure(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): unstructure(v) for k, v in obj.items()}
    return obj
