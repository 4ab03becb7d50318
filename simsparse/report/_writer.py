"""The report folder: figures (PNG), tables (CSV), ``index.html`` and ``README.md``, written atomically."""

from __future__ import annotations

import html
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from simsparse.errors import SimsparseError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ReportWriter"]

log = logging.getLogger(__name__)

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; margin-top: 0; }
figure { margin: 2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { margin-top: 0.4em; } table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; } code { background: #f3f3f3; padding: 0 0.2em; }
"""


@dataclass
class _Figure:
    file: str
    title: str
    caption: str


@dataclass
class _Table:
    file: str
    caption: str
    preview: pd.DataFrame | None


@dataclass
class ReportWriter:
    """Collects a report's figures and tables in a staging folder; :meth:`commit` publishes it.

    Everything is written under a temporary folder next to the target; :meth:`commit` writes the
    index files and renames the folder into place (an existing report is replaced only then), so
    a failed build never leaves a half-written report.
    """

    name: str
    title: str
    summary: str
    out_dir: Path
    quick: bool = False
    dpi: int = 110
    figures: list[_Figure] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _stage: Path | None = None

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir).resolve()
        parent = self.out_dir.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SimsparseError(f"out: expected a writable folder, got {str(self.out_dir)!r} ({exc})") from exc
        self._stage = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-", dir=parent))

    @property
    def stage(self) -> Path:
        if self._stage is None:
            raise SimsparseError(f"report {self.name!r}: already committed or discarded")
        return self._stage

    def _check_name(self, file: str) -> None:
        if "/" in file or "\\" in file or file.startswith(".") or file in ("index.html", "README.md"):
            raise SimsparseError(f"report file: expected a plain file name, got {file!r}")
        if any(f.file == file for f in self.figures) or any(t.file == file for t in self.tables):
            raise SimsparseError(f"report file: {file!r} written twice")

    def figure(self, file: str, fig_or_ax: Figure | Axes, caption: str) -> None:
        """Save a figure as ``file`` (PNG); ``caption`` explains it in one sentence."""
        self._check_name(file)
        from matplotlib.axes import Axes as MplAxes
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = fig_or_ax.get_figure(root=True) if isinstance(fig_or_ax, MplAxes) else fig_or_ax
        if fig is None:
            raise SimsparseError(f"report figure {file!r}: expected an Axes on a figure")
        FigureCanvasAgg(fig)
        title = ""
        for ax in fig.get_axes():
            title = ax.get_title(loc="left") or ax.get_title()
            if title:
                break
        fig.savefig(self.stage / file, dpi=self.dpi, bbox_inches="tight", facecolor="white")
        self.figures.append(_Figure(file=file, title=title, caption=caption))

    def table(self, file: str, df: pd.DataFrame, caption: str, *, preview_rows: int = 0) -> None:
        """Write ``df`` as ``file`` (CSV); show its first ``preview_rows`` rows in the HTML page."""
        self._check_name(file)
        df.to_csv(self.stage / file, index=False)
        self.tables.append(_Table(file=file, caption=caption, preview=df.head(preview_rows) if preview_rows else None))

    def note(self, text: str) -> None:
        """A remark listed under the report summary (assumptions, rows left out...)."""
        self.notes.append(text)

    # ------------------------------------------------------------------------------------------
    def _readme(self, command: str) -> str:
        lines = [f"# {self.title}", "", self.summary, ""]
        lines.append(f"Built with `{command}`" + (" (quick mode: a reduced set)." if self.quick else "."))
        lines.append("")
        if self.notes:
            lines += ["## Notes", ""] + [f"- {n}" for n in self.notes] + [""]
        if self.figures:
            lines += ["## Figures", ""]
            for f in self.figures:
                lines.append(f"- [`{f.file}`]({f.file}): {f.caption}")
            lines.append("")
        if self.tables:
            lines += ["## Tables", ""]
            for t in self.tables:
                lines.append(f"- [`{t.file}`]({t.file}): {t.caption}")
            lines.append("")
        return "\n".join(lines)

    def _html(self, command: str) -> str:
        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{e(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{e(self.title)}</h1>",
            f'<p class="meta">simsparse report <code>{e(self.name)}</code>'
            + (" &middot; quick mode (reduced set)" if self.quick else "")
            + f" &middot; rebuild with <code>{e(command)}</code></p>",
            f"<p>{e(self.summary)}</p>",
        ]
        if self.notes:
            parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        if self.figures:
            parts.append("<h2>Figures</h2>")
            for f in self.figures:
                parts.append(
                    f'<figure id="{e(f.file)}"><a href="{e(f.file)}"><img src="{e(f.file)}" alt="{e(f.title or f.file)}"></a>'
                    f"<figcaption>{e(f.caption)}</figcaption></figure>"
                )
        if self.tables:
            parts.append("<h2>Tables</h2><ul>")
            for t in self.tables:
                parts.append(f'<li><a href="{e(t.file)}">{e(t.file)}</a>: {e(t.caption)}</li>')
            parts.append("</ul>")
            for t in self.tables:
                if t.preview is not None and len(t.preview):
                    parts.append(f"<h3>{e(t.file)}</h3>")
                    parts.append(t.preview.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0))
        parts.append("</body></html>")
        return "\n".join(parts)

    def commit(self) -> list[Path]:
        """Write ``README.md`` and ``index.html`` and move the report into ``out_dir``; the file paths."""
        stage = self.stage
        command = f"simsparse report {self.name} --out {self.out_dir.name}" + (" --quick" if self.quick else "")
        (stage / "README.md").write_text(self._readme(command), encoding="utf-8")
        (stage / "index.html").write_text(self._html(command), encoding="utf-8")
        files = [f.file for f in self.figures] + [t.file for t in self.tables] + ["index.html", "README.md"]
        missing = [f for f in files if not (stage / f).is_file()]
        if missing:
            raise SimsparseError(f"report {self.name!r}: files not written: {', '.join(missing)}")
        old: Path | None = None
        if self.out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.old-", dir=self.out_dir.parent))
            os.rmdir(old)
            os.replace(self.out_dir, old)
        try:
            os.replace(stage, self.out_dir)
        except OSError:
            if old is not None:
                os.replace(old, self.out_dir)
            raise
        self._stage = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        log.info("report %s: %d files in %s", self.name, len(files), self.out_dir)
        return [self.out_dir / f for f in files]

    def discard(self) -> None:
        """Remove the staging folder (after a failed build)."""
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
