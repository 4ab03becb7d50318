"""The README's examples run: every ```python block, and every ``simsparse ...`` line of the ```sh blocks.

Each Python block runs in a fresh interpreter (a fresh namespace), each command through the installed
``simsparse`` console script, both in an empty temporary directory; each must exit 0. The ``make`` lines
of the Quick start are not run here: CI runs ``make test`` itself.

``extract_examples`` and the ``check_*`` helpers are also used by ``test_checks_bite.py`` to show that a
broken example fails.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
PYTHON_LANGS = frozenset({"python", "py", "python3"})
SHELL_LANGS = frozenset({"sh", "bash", "shell", "console"})
TIMEOUT_S = 900

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*$")


@dataclass(frozen=True, slots=True)
class Example:
    """One runnable README example: a Python block or one ``simsparse`` command line."""

    kind: str  # "python" or "sh"
    line: int  # 1-based line of the block's first line in the README
    source: str

    @property
    def id(self) -> str:
        if self.kind == "sh":
            return f"L{self.line}-" + re.sub(r"[^\w.:-]+", "_", self.source)[:60]
        return f"L{self.line}-python"


def _blocks(text: str) -> list[tuple[str, int, str]]:
    """(language, first line number, body) of every fenced code block."""
    out: list[tuple[str, int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, indent = m["fence"], m["lang"].lower(), len(m["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        if j == len(lines):
            raise ValueError(f"README line {i + 1}: unterminated code block")
        out.append((lang, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return out


def _shell_lines(body: str, first_line: int) -> list[tuple[int, str]]:
    """Logical lines of a shell block (backslash continuations joined), with their line numbers."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(body.splitlines()):
        if not pending:
            start = first_line + offset
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        out.append((start, " ".join(p.strip() for p in pending).strip()))
        pending = []
    if pending:
        out.append((start, " ".join(p.strip() for p in pending).strip()))
    return out


def extract_examples(text: str) -> list[Example]:
    """Every ```python block and every ``simsparse ...`` line of the shell blocks, in README order."""
    examples: list[Example] = []
    for lang, line, body in _blocks(text):
        if lang in PYTHON_LANGS:
            examples.append(Example("python", line, body))
        elif lang in SHELL_LANGS:
            for n, cmd in _shell_lines(body, line):
                cmd = cmd.removeprefix("$ ")
                if cmd.startswith("simsparse "):
                    examples.append(Example("sh", n, cmd))
    return examples


def console_script() -> Path:
    """The installed ``simsparse`` console script next to this interpreter."""
    script = Path(sys.executable).parent / ("simsparse.exe" if os.name == "nt" else "simsparse")
    assert script.exists(), f"console script not found at {script}; is simsparse installed (pip install -e .)?"
    return script


def run_example(example: Example, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one example in ``cwd``; the completed process (not checked)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    if example.kind == "python":
        argv = [sys.executable, "-c", example.source]
    else:
        words = shlex.split(example.source, comments=True)
        argv = [str(console_script()), *words[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def check_example(example: Example, cwd: Path) -> None:
    """Run one example; AssertionError (with its output) unless it exits 0."""
    proc = run_example(example, cwd)
    assert proc.returncode == 0, (
        f"README.md:{example.line}: {example.kind} example exited {proc.returncode}\n"
        f"--- example ---\n{example.source}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


EXAMPLES = extract_examples(README.read_text(encoding="utf-8"))


def test_readme_has_examples() -> None:
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == {"python", "sh"}, f"expected Python and shell examples in README.md, found {sorted(kinds)}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example_runs(example: Example, tmp_path: Path) -> None:
    check_example(example, tmp_path)
