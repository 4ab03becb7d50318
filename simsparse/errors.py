"""Typed exceptions. Every error a user can cause is a :class:`SimsparseError`."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "DoesNotFitError",
    "SimsparseError",
    "SimulationError",
    "WorkloadError",
    "closest",
]


class SimsparseError(Exception):
    """Base class of every error simsparse raises for bad input or impossible requests."""


class ConfigError(SimsparseError):
    """One problem in a configuration: ``FILE:LINE: field.path: expected ..., got ...``."""

    def __init__(
        self,
        path: str,
        expected: str,
        got: object = None,
        *,
        file: str | None = None,
        line: int | None = None,
        has_got: bool = True,
    ) -> None:
        self.path = path
        self.expected = expected
        self.got = got
        self.file = file
        self.line = line
        self.has_got = has_got
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        field = f"{self.path}: " if self.path else ""
        got = f", got {_show(self.got)}" if self.has_got else ""
        return f"{where}{field}expected {self.expected}{got}"

    def __str__(self) -> str:
        return self.message


class ConfigErrors(ConfigError):
    """Several configuration problems found at once (all of a file's errors are reported together)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        if not errors:
            raise ValueError("ConfigErrors needs at least one error")
        self.errors = list(errors)
        first = errors[0]
        super().__init__(
            first.path,
            first.expected,
            first.got,
            file=first.file,
            line=first.line,
            has_got=first.has_got,
        )

    @property
    def message(self) -> str:
        return "\n".join(e.message for e in getattr(self, "errors", []))


class WorkloadError(SimsparseError):
    """An impossible workload or transform (bad shape, pattern, parallel degree...)."""


class SimulationError(SimsparseError):
    """A request the simulator cannot honour (dtype the preset lacks, pattern not runnable...)."""


class DoesNotFitError(SimulationError):
    """The workload does not fit the memory of the devices."""


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def closest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix for ``name`` among ``choices``, or ``""``."""
    import difflib

    match = difflib.get_close_matches(str(name), sorted(str(c) for c in choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
