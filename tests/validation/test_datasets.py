"""The shipped measured datasets and the strict CSV validator (bad input named by file, line, column)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simsparse.errors import ConfigError
from simsparse.validation.datasets import COLUMNS, dataset_path, list_datasets, load_measurements

PROVENANCE = ("source_repo", "source_path_or_url", "source_commit_or_date", "license", "note")
SHIPPED = (
    "aic_a100_h100",
    "deepgemm_h800",
    "llmcompass_a100_mi210",
    "simsparse_ops_h200",
    "simsparse_suite_h200",
    "simsparse_torch_h200",
    "sparse_2of4",
    "vidur_llama2",
)
ROWS = {
    "aic_a100_h100": 651,
    "deepgemm_h800": 112,
    "llmcompass_a100_mi210": 163,
    "simsparse_ops_h200": 101,
    "simsparse_suite_h200": 18,
    "simsparse_torch_h200": 288,
    "sparse_2of4": 130,
    "vidur_llama2": 816,
}


def test_every_public_dataset_is_shipped_with_its_provenance() -> None:
    assert tuple(list_datasets()) == SHIPPED
    for name in SHIPPED:
        df = load_measurements(name)
        assert len(df) == ROWS[name]
        for col in PROVENANCE:
            assert col in df.columns
        assert df["source_repo"].astype(str).str.len().min() > 0
        assert df["license"].astype(str).str.len().min() > 0
    notice = dataset_path("vidur_llama2").parent / "NOTICE"
    text = notice.read_text()
    for owner in ("Princeton University", "Microsoft", "NVIDIA", "DeepSeek", "pytorch/ao"):
        assert owner in text


@pytest.mark.parametrize("name", ["simsparse_ops_h200", "simsparse_suite_h200", "simsparse_torch_h200"])
def test_our_own_gpu_runs_record_the_gpu_driver_and_date(name: str) -> None:
    """The measured runs of scripts/gpu/run_on_gpu.sh on an H200 say which GPU, driver and day."""
    df = load_measurements(name)
    assert set(df["gpu"]) == {"NVIDIA H200"}
    assert set(df["source_commit_or_date"].astype(str)) == {"2026-11-28"}
    assert set(df["source_repo"]) == {"simsparse"}
    assert df["extra"].str.contains("580.159.04").all()  # the NVIDIA driver, as nvidia-smi reported it
    assert df["extra"].str.contains("cc=9.0").all()
    timed = df[df["metric"] == "latency_us"]
    assert timed["note"].str.startswith("measured").all()


def _write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def _row(**kw: str) -> dict[str, str]:
    base = {c: "" for c in COLUMNS}
    base.update(
        source_id="mine",
        gpu="H100-SXM5-80GB",
        stack="cuBLAS",
        kind="gemm",
        dtype="bf16",
        m="4096",
        n="4096",
        k="4096",
        metric="latency_us",
        value="200.5",
        unit="us",
        source_repo="me/bench",
        license="MIT",
    )
    base.update(kw)
    return base


def test_a_users_own_csv_loads_like_a_shipped_one(tmp_path: Path) -> None:
    df = load_measurements(_write(tmp_path / "mine.csv", [_row(), _row(m="1", value="30")]))
    assert list(df["value"]) == [200.5, 30.0]
    assert list(df["line"]) == [2, 3]
    assert df["dataset"].iloc[0] == "mine"


def test_missing_columns_are_named(tmp_path: Path) -> None:
    cols = tuple(c for c in COLUMNS if c not in ("unit", "license"))
    path = _write(tmp_path / "bad.csv", [_row()], cols)
    with pytest.raises(ConfigError) as err:
        load_measurements(path)
    msg = str(err.value)
    assert "bad.csv:1:" in msg and "unit" in msg and "license" in msg


@pytest.mark.parametrize(
    ("change", "column", "got"),
    [
        ({"kind": "gemmm"}, "kind", "gemmm"),
        ({"unit": "ms"}, "unit", "ms"),
        ({"metric": "latency_ms"}, "metric", "latency_ms"),
        ({"value": "fast"}, "value", "fast"),
        ({"m": "4k"}, "m", "4k"),
        ({"value": "nan"}, "value", "nan"),
        ({"unit": "GB/s"}, "unit", "GB/s"),  # a known unit that does not belong to latency_us
    ],
)
def test_bad_values_name_the_row_and_column(tmp_path: Path, change: dict[str, str], column: str, got: str) -> None:
    path = _write(tmp_path / "bad.csv", [_row(), _row(**change)])
    with pytest.raises(ConfigError) as err:
        load_measurements(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:3: {column}: expected"), msg
    assert repr(got) in msg


def test_unknown_kind_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'gemm'"):
        load_measurements(_write(tmp_path / "bad.csv", [_row(kind="gem")]))


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", [_row(kind="x"), _row(), _row(value="")])
    with pytest.raises(ConfigError) as err:
        load_measurements(path)
    msg = str(err.value)
    assert f"{path}:2: kind" in msg and f"{path}:4: value" in msg


def test_unknown_dataset_name_suggests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'vidur_llama2'"):
        load_measurements("vidur_llama")
