"""Every shipped report builds in quick mode into a self-contained folder whose HTML links only to files that exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
import pytest

import simsparse as ss
from simsparse.report import REPORTS, ReportWriter, build_report
from simsparse.report import cli as report_cli

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[Path]]]:
    root = tmp_path_factory.mktemp("reports")
    return {name: (root / name, build_report(name, root / name, quick=True)) for name in REPORTS}


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]+)"', html)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_quick_writes_its_files(name: str, built: dict[str, tuple[Path, list[Path]]]) -> None:
    out, files = built[name]
    assert {f.name for f in files} >= {"index.html", "README.md"}
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in files)  # nothing else, no temp files
    pngs = [f for f in files if f.suffix == ".png"]
    csvs = [f for f in files if f.suffix == ".csv"]
    assert len(pngs) >= 3, f"{name}: expected at least 3 figures, got {[p.name for p in pngs]}"
    assert csvs, f"{name}: expected at least one table"
    for p in pngs:
        assert p.read_bytes()[:8] == PNG_MAGIC
        assert p.stat().st_size > 10_000
    for c in csvs:
        pd.read_csv(c)
    # no stray staging folders next to the report
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{name}.")]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_html_links_only_to_existing_files(name: str, built: dict[str, tuple[Path, list[Path]]]) -> None:
    out, files = built[name]
    html = (out / "index.html").read_text(encoding="utf-8")
    links = _links(html)
    assert links, "the index links its figures and tables"
    for link in links:
        assert "://" not in link and not link.startswith("/"), f"not self-contained: {link}"
        assert (out / link).is_file(), f"{name}/index.html links to a missing file {link}"
    # every figure and table is linked, and explained in the README
    readme = (out / "README.md").read_text(encoding="utf-8")
    for f in files:
        if f.suffix in (".png", ".csv"):
            assert f.name in links
            line = next(x for x in readme.splitlines() if f"[`{f.name}`]" in x)
            assert len(line.split(": ", 1)[1]) > 20, f"{f.name} needs a sentence"


def test_sparsity_study_covers_the_formats_and_presets(built: dict[str, tuple[Path, list[Path]]]) -> None:
    out, _ = built["sparsity-study"]
    table = pd.read_csv(out / "sparsity.csv")
    assert {"stc-2of4", "vegeta", "dstc", "sigma-like"} <= set(table["hardware"])
    assert {"dense", "2:4", "flexible N:M", "unstructured", "dual-side"} <= set(table["pattern"])
    dense = table[table["pattern"] == "dense"]
    assert (dense["speedup"] == 1.0).all()


def test_quantization_study_marks_unsupported_formats(built: dict[str, tuple[Path, list[Path]]]) -> None:
    out, _ = built["quantization-study"]
    table = pd.read_csv(out / "quantization.csv", keep_default_na=False, na_values=[""])
    assert {"bf16", "fp8", "w4a16", "nvfp4"} <= set(table["scheme"])
    h100_fp4 = table[(table["hardware"] == "h100-sxm") & (table["scheme"] == "nvfp4")]
    assert len(h100_fp4) and h100_fp4["tokens_per_s"].isna().all()
    assert (h100_fp4["error"].astype(str).str.len() > 0).all()


def test_unknown_report_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ss.SimsparseError, match="did you mean 'moe-study'"):
        build_report("moe-studdy", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def _tiny_writer(out: Path) -> ReportWriter:
    from matplotlib.figure import Figure

    w = ReportWriter(name="t", title="T", summary="A test report.", out_dir=out)
    fig = Figure()
    fig.add_subplot().plot([1, 2], [3, 4])
    w.figure("a.png", fig, "A line that goes up, for the test.")
    w.table("a.csv", pd.DataFrame({"x": [1]}), "One row, for the test.")
    return w


def test_writer_replaces_a_report_atomically(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    files = _tiny_writer(out).commit()
    assert (
        sorted(p.name for p in out.iterdir())
        == sorted(f.name for f in files)
        == ["README.md", "a.csv", "a.png", "index.html"]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_failed_build_leaves_the_old_report(tmp_path: Path) -> None:
    out = tmp_path / "r"
    _tiny_writer(out).commit()
    before = sorted(p.name for p in out.iterdir())
    w = _tiny_writer(out)
    with pytest.raises(ss.SimsparseError):
        w.table("a.csv", pd.DataFrame(), "Written twice.")
    w.discard()
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_cli_parser_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="simsparse")
    sub = parser.add_subparsers(dest="command")
    report_cli.add_parser(sub)
    args = parser.parse_args(["report", "moe-study", "--out", str(tmp_path / "m"), "--quick"])
    assert args.func is report_cli.run and args.quick and args.name == "moe-study"
    calls: list[tuple[str, Path, bool]] = []

    def fake(name: str, out: Path, quick: bool = False) -> list[Path]:
        calls.append((name, Path(out), quick))
        return [Path(out) / "index.html"]

    monkeypatch.setattr(report_cli, "build_report", fake)
    assert report_cli.run(args) == 0
    assert calls == [("moe-study", tmp_path / "m", True)]
    assert "index.html" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "nope", "--out", str(tmp_path)])

    def failing(name: str, out: Path, quick: bool = False) -> list[Path]:
        raise ss.SimsparseError("boom")

    monkeypatch.setattr(report_cli, "build_report", failing)
    assert report_cli.run(args) == 2
    assert "boom" in capsys.readouterr().err
