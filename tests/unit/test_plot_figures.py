"""Every plot function on real simulation results: artists, labels, units, legends outside the data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import simsparse as ss
import simsparse.plot as sp
from simsparse.results import label
from simsparse.workload.op import Op

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402


@dataclass(frozen=True)
class _W:
    name: str
    ops: tuple[Op, ...]


OKABE = {c.lower() for c in sp.OKABE_ITO} | {"#999999"}


def _fp16(**kw: object) -> dict[str, object]:
    return {"dtype": "fp16", "a_dtype": "fp16", "b_dtype": "fp16", "c_dtype": "fp16", **kw}


@pytest.fixture(scope="module")
def h100() -> ss.System:
    return ss.load_hardware("h100-sxm")


@pytest.fixture(scope="module")
def mixed(h100: ss.System) -> ss.SimResult:
    ops = (
        Op(name="qkv", kind="gemm", m=8, n=6144, k=4096, dtype="bf16"),
        Op(name="ffn", kind="gemm", m=2048, n=8192, k=4096, b_pattern="2:4", b_density=0.5, repeat=4, **_fp16()),  # type: ignore[arg-type]
        Op(name="norm", kind="elementwise", m=2048, n=4096, flops_per_element=5, repeat=8),
    )
    return ss.simulate(h100, _W("mixed", ops))


@pytest.fixture(scope="module")
def moe() -> ss.SimResult:
    hw = ss.load_hardware("dgx-h100")
    toks = (900, 300, 200, 150, 100, 80, 50, 20)
    op = Op(
        name="moe_up",
        kind="grouped_gemm",
        m=sum(toks),
        n=4096,
        k=2048,
        dtype="bf16",
        group_tokens=toks,
        group_device=(0, 0, 1, 1, 2, 2, 3, 3),
        top_k=2,
    )
    a2a = Op(name="a2a", kind="collective", collective="all_to_all", n_bytes=4 << 20, n_devices=4)
    return ss.simulate(hw, _W("moe", (op, a2a)))


@pytest.fixture(scope="module")
def density_df() -> pd.DataFrame:
    rows = []
    for name in ("h100-sxm", "stc-2of4"):
        hw = ss.load_hardware(name)
        for pattern, density in (("dense", 1.0), ("2:4", 0.5), ("unstructured", 0.5), ("unstructured", 0.25)):
            op = Op(name="g", kind="gemm", m=1024, n=2048, k=2048, b_pattern=pattern, b_density=density, **_fp16())  # type: ignore[arg-type]
            s = ss.simulate(hw, _W("g", (op,))).summary()
            rows.append(
                {
                    "hardware": name,
                    "pattern": pattern,
                    "density": density,
                    "latency_s": s["latency_s"],
                    "energy_j": s["energy_j"],
                }
            )
    return pd.DataFrame(rows)


def _legend_outside(ax: Axes) -> None:
    fig = ax.figure
    FigureCanvasAgg(fig)  # type: ignore[arg-type]
    fig.canvas.draw()
    leg = ax.get_legend()
    assert leg is not None
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1 - 1


def _title(ax: Axes) -> str:
    return ax.get_title(loc="left")


def test_import_does_not_load_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, simsparse.plot; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_roofline(h100: ss.System, mixed: ss.SimResult) -> None:
    ax = sp.roofline(h100, mixed)
    unit = h100.device.core.matrix_unit
    n_dtypes = 2  # bf16 (qkv) and fp16 (ffn); the elementwise norm is not a matrix op
    roofs = n_dtypes * (1 + len(unit.sparsity))
    assert len(ax.lines) == roofs + len(h100.device.memory)
    # one scatter per (dtype, bottleneck class): qkv memory-bound bf16, ffn fp16
    assert len(ax.collections) == 2
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == 2
    every = sp.roofline(h100, mixed, kinds=None)
    assert sum(len(c.get_offsets()) for c in every.collections) == 3
    assert ax.get_xlabel() == label("arithmetic_intensity")
    assert "FLOP/byte" in ax.get_xlabel()
    assert "FLOP/s" in ax.get_ylabel()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "Roofline" in _title(ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("2:4 sparse" in t for t in texts)
    assert any(t.startswith("hbm bandwidth") and "TB/s" in t for t in texts)
    for line in ax.lines[:roofs]:
        assert to_hex(line.get_color()).lower() in OKABE
    _legend_outside(ax)


def test_roofline_explicit_dtypes_and_bad_dtype(h100: ss.System, mixed: ss.SimResult) -> None:
    ax = sp.roofline(h100.device, mixed.ops, dtypes=["fp8"])
    assert len(ax.lines) == 2 + len(h100.device.memory)
    with pytest.raises(ss.SimsparseError):
        sp.roofline(h100, mixed, dtypes=["nvfp4"])


@pytest.mark.parametrize("by", ["op", "cause", "level"])
def test_breakdown(by: str, h100: ss.System, mixed: ss.SimResult) -> None:
    ax = sp.breakdown(mixed, by=by, hw=h100)  # type: ignore[arg-type]
    table = sp.breakdown_table(mixed, by=by, hw=h100)  # type: ignore[arg-type]
    assert set(table["metric"]) == {"time_s", "energy_j"}
    assert len(ax.patches) == len(table)  # one stacked segment per (metric, category)
    for _, part in table.groupby("metric"):
        assert part["share"].sum() == pytest.approx(1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["time", "energy"]
    assert ax.get_xlabel() == "Share of the total (%)"
    assert ax.get_xlim() == (0.0, 100.0)
    # the totals are written with units
    texts = [t.get_text() for t in ax.texts]
    assert any(t.endswith(("ms", "µs", " s")) for t in texts)
    assert any(t.endswith("J") for t in texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == table["category"].nunique()
    _legend_outside(ax)


def test_breakdown_cause_time_matches_summary(mixed: ss.SimResult) -> None:
    table = sp.breakdown_table(mixed, by="cause")
    time = table[table["metric"] == "time_s"]
    assert time["value"].sum() == pytest.approx(mixed.summary()["latency_s"], rel=1e-6)
    assert "compute" in set(time["category"])


def test_breakdown_several_results_and_level_without_hw(mixed: ss.SimResult, moe: ss.SimResult) -> None:
    ax = sp.breakdown({"dense": mixed, "moe": moe}, by="level")
    assert len(ax.get_yticklabels()) == 4
    table = sp.breakdown_table([mixed, moe], by="level")
    assert set(table["metric"]) == {"time_s", "bytes"}
    with pytest.raises(ss.SimsparseError):
        sp.breakdown(mixed, by="layer")  # type: ignore[arg-type]


def test_speedup_vs_density(density_df: pd.DataFrame) -> None:
    ax = sp.speedup_vs_density(density_df)
    # one line per (pattern, hardware) = 3 x 2, plus the ideal and the no-speedup lines
    assert len(ax.lines) == 6 + 2
    assert ax.get_xlabel() == label("density")
    assert ax.get_ylabel().startswith(label("speedup"))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"dense", "2:4", "unstructured", "h100-sxm", "stc-2of4"} <= set(legend)
    table = sp.speedup_table(density_df)
    dense = table[table["pattern"] == "dense"]
    assert np.allclose(dense["speedup"], 1.0)
    stc = table[(table["hardware"] == "stc-2of4") & (table["pattern"] == "2:4")]
    assert float(stc["speedup"].iloc[0]) > 1.2  # the sparse tensor core pays off
    _legend_outside(ax)


def test_speedup_needs_a_baseline(density_df: pd.DataFrame) -> None:
    with pytest.raises(ss.SimsparseError):
        sp.speedup_vs_density(density_df[density_df["pattern"] != "dense"].drop(columns=["density"]))


def test_pareto(density_df: pd.DataFrame) -> None:
    ax = sp.pareto(density_df, "latency_s", "energy_j", hue="pattern")
    mask = sp.pareto_mask(density_df, "latency_s", "energy_j", (True, True))
    assert len(ax.collections) == density_df["pattern"].nunique()
    assert len(ax.lines) == 1
    front = ax.lines[0]
    assert len(front.get_xdata()) == int(mask.sum())
    assert ax.get_xlabel() == label("latency_s")
    assert ax.get_ylabel() == label("energy_j")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == f"Pareto front ({int(mask.sum())})"
    _legend_outside(ax)


def test_pareto_mask_directions() -> None:
    df = pd.DataFrame({"latency_s": [1.0, 2.0, 3.0, 2.5], "tokens_per_s": [10.0, 30.0, 20.0, 40.0]})
    # low latency and high throughput: (1,10), (2,30), (2.5,40) are on the front; (3,20) is not
    assert list(sp.pareto_mask(df, "latency_s", "tokens_per_s", (True, False))) == [True, True, False, True]
    ax = sp.pareto(df, "latency_s", "tokens_per_s")
    assert len(ax.lines[0].get_xdata()) == 3


def test_validation_plot() -> None:
    rng = np.random.default_rng(0)
    measured = 10 ** rng.uniform(0, 4, 40)
    df = pd.DataFrame(
        {
            "kind": rng.choice(["gemm", "elementwise", "grouped_gemm"], 40),
            "measured_us": measured,
            "predicted_us": measured * rng.lognormal(0, 0.2, 40),
            "regime": rng.choice(["memory", "compute"], 40),
            "expressible": [True] * 36 + [False] * 4,
        }
    )
    ax = sp.validation(df)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == label("measured") and "µs" in ax.get_xlabel()
    assert ax.get_ylabel() == label("predicted")
    assert len(ax.lines) == 1  # the identity line
    n_points = sum(
        len(c.get_offsets())
        for c in ax.collections
        if c.get_offsets().shape[0] and hasattr(c, "get_sizes") and len(c.get_sizes())
    )
    assert n_points == 36
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "predicted = measured"
    assert sum(t.startswith("within ±") for t in legend) == 2
    assert sum("rows, median |error|" in t for t in legend) == 3
    assert any("left out" in t for t in legend)
    _legend_outside(ax)


def test_validation_plot_rejects_empty() -> None:
    with pytest.raises(ss.SimsparseError):
        sp.validation(pd.DataFrame({"measured_us": [], "predicted_us": []}))


def test_moe_load(moe: ss.SimResult) -> None:
    ax = sp.moe_load(moe)
    experts = moe.experts
    assert len(ax.patches) == len(experts) == 8
    assert [p.get_height() for p in ax.patches] == [
        float(t) for t in experts.sort_values(["device", "expert"])["tokens"]
    ]
    assert ax.get_ylabel() == label("tokens")
    assert ax.get_xlabel().startswith(label("expert"))
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1
    assert twins[0].get_ylabel() == label("latency_us")
    assert len(twins[0].lines) == 4  # one time segment per device
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(t.startswith("experts on device") for t in legend) == 4
    assert "MoE" in _title(ax)
    with pytest.raises(ss.SimsparseError):
        sp.moe_load(moe, op="nope")


def test_moe_load_needs_experts(mixed: ss.SimResult) -> None:
    with pytest.raises(ss.SimsparseError):
        sp.moe_load(mixed)


def test_plots_draw_on_a_given_axes(h100: ss.System, mixed: ss.SimResult) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5))
    a, b = fig.subplots(1, 2)
    assert sp.roofline(h100, mixed, ax=a) is a
    assert sp.breakdown(mixed, ax=b) is b
