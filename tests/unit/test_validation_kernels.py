"""The measured-run kernel suite: CPU twins and CUDA kernels against the NumPy references, format round trips,
the measurement runner and the host CPU facts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simsparse.errors import SimsparseError, SimulationError, WorkloadError
from simsparse.validation import kernels as K
from simsparse.validation import measure as measure_mod
from simsparse.validation.hostcpu import host_cpu_facts, parse_size_bytes
from simsparse.validation.kernels import _jit, sparse24, stream, w4a16
from simsparse.validation.measure import COLUMNS, measure, write_measurements

REPO = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("_cudasim_check.py")


# --- registry and cases -----------------------------------------------------------------------------------


def test_registry_lists_every_kernel_with_a_known_kind() -> None:
    assert K.kernel_names() == (
        "stream_copy",
        "stream_triad",
        "gemm_fp32",
        "gemm_fp16",
        "sparse24_gemm",
        "csr_spmm",
        "moe_grouped_gemm",
        "w4a16_gemv",
        "w4a16_gemm",
    )
    kinds = {spec.kind for spec in K.KERNELS.values()}
    assert kinds <= {"bandwidth", "gemm", "sparse_gemm_2of4", "spmm_csr", "grouped_gemm", "gemm_weight_only"}


def test_unknown_kernel_and_size_are_simsparse_errors() -> None:
    with pytest.raises(SimulationError, match="did you mean 'gemm_fp32'"):
        K.get_kernel("gemm_fp23")
    with pytest.raises(SimulationError, match="size set"):
        K.make_case("gemm_fp32", "huge")


def test_cases_are_seeded() -> None:
    a, b = K.make_case("csr_spmm", "tiny", seed=5), K.make_case("csr_spmm", "tiny", seed=5)
    for x, y in zip(a.operands, b.operands, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    c = K.make_case("csr_spmm", "tiny", seed=6)
    assert not np.array_equal(np.asarray(a.operands[2]), np.asarray(c.operands[2]))


def test_flops_and_bytes_are_exact() -> None:
    copy, triad = K.make_case("stream_copy", "small"), K.make_case("stream_triad", "small")
    n = copy.out_shape[0]
    assert (copy.flops, copy.bytes_moved) == (0, 2 * n * 4)
    assert (triad.flops, triad.bytes_moved) == (2 * n, 3 * n * 4)
    g = K.make_case("gemm_fp16", "small")
    assert g.flops == 2 * g.m * g.n * g.k  # type: ignore[operator]
    assert g.bytes_moved == (g.m * g.k + g.k * g.n) * 2 + g.m * g.n * 4  # type: ignore[operator]
    s = K.make_case("sparse24_gemm", "small")
    m, nn, k = s.m, s.n, s.k
    assert m is not None and nn is not None and k is not None
    assert s.flops == m * nn * k
    assert s.bytes_moved == m * k * 4 + k // 2 * nn * 4 + k // 8 * nn + m * nn * 4
    w = K.make_case("w4a16_gemv", "small")
    gs = int(w.params["group_size"])
    assert w.bytes_moved == w.k * 2 + w.k * w.n // 2 + w.k // gs * w.n * 2 + w.n * 4  # type: ignore[operator]
    moe = K.make_case("moe_grouped_gemm", "small")
    assert moe.m * moe.batch == moe.tokens  # type: ignore[operator]
    assert moe.flops == 2 * moe.tokens * moe.k * moe.n  # type: ignore[operator]


# --- CPU twins against the NumPy references ---------------------------------------------------------------


@pytest.mark.parametrize("size", ["tiny", "small"])
@pytest.mark.parametrize("name", K.kernel_names())
def test_cpu_twin_matches_numpy_reference(name: str, size: str) -> None:
    case = K.make_case(name, size, seed=1)
    out = K.run_cpu(case)
    assert out.shape == case.out_shape and out.dtype == np.float32
    K.check_output(case, out, K.run_reference(case))


def test_check_output_raises_on_mismatch() -> None:
    case = K.make_case("gemm_fp32", "tiny")
    ref = K.run_reference(case)
    bad = ref.astype(np.float32)
    bad[0, 0] += 1.0
    with pytest.raises(SimulationError, match="does not match the NumPy reference"):
        K.check_output(case, bad, ref)
    bad[0, 0] = np.nan
    with pytest.raises(SimulationError, match="non-finite"):
        K.check_output(case, bad, ref)


def test_fp16_decoder_is_exact_for_every_bit_pattern() -> None:
    bits = np.arange(1 << 16, dtype=np.uint16).reshape(256, 256)
    np.testing.assert_array_equal(_jit.f16_to_f32(bits), bits.view(np.float16).astype(np.float32))


def test_cpu_convenience_functions_allocate_their_output() -> None:
    b = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(stream.triad_cpu(b, b, 2.0), stream.triad_numpy(b, b, 2.0))
    np.testing.assert_array_equal(stream.copy_cpu(b), b)


# --- CUDA kernels under the simulator (and PTX when libNVVM is around) ------------------------------------


def _run_check(mode: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env.update(extra_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, str(CHECK), mode], env=env, cwd=REPO, capture_output=True, text=True, timeout=240
    )


def test_cuda_kernels_under_the_cuda_simulator() -> None:
    done = _run_check("sim", {"NUMBA_ENABLE_CUDASIM": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name in K.kernel_names():
        assert name in results, name
    assert results["refuses_simulator"] is True
    assert results["measure_columns_ok"] is True
    assert results["measure_rows"] == 2
    assert results["measure_note_flags_simulator"] is True


def test_cuda_kernels_compile_to_ptx() -> None:
    done = _run_check("ptx", {})
    if done.returncode == 77:
        pytest.skip("libNVVM not found (set CUDA_HOME to a CUDA toolkit to compile the kernels to PTX)")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["gemm_fp32"]["uses_shared"] and results["sparse24_gemm"]["uses_shared"]


# --- 2:4 format -------------------------------------------------------------------------------------------

_SUBSETS = [(), (0,), (1,), (2,), (3,), (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


@st.composite
def _two_of_four(draw: st.DrawFn) -> np.ndarray:
    groups = draw(st.integers(1, 6)) * 2  # k = 4 * groups, a multiple of 8
    n = draw(st.integers(1, 5))
    values = draw(hnp.arrays(np.float32, (groups * 4, n), elements=st.floats(-4, 4, width=32).filter(lambda v: v != 0)))
    choice = draw(hnp.arrays(np.int64, (groups, n), elements=st.integers(0, len(_SUBSETS) - 1)))
    mask = np.zeros((groups, 4, n), dtype=bool)
    for g in range(groups):
        for j in range(n):
            mask[g, list(_SUBSETS[choice[g, j]]), j] = True
    return np.where(mask.reshape(groups * 4, n), values, np.float32(0))


@settings(max_examples=60, deadline=None)
@given(_two_of_four())
def test_2of4_compress_decompress_round_trip(w: np.ndarray) -> None:
    values, meta = sparse24.compress_2of4_numpy(w)
    assert values.shape == (w.shape[0] // 2, w.shape[1]) and meta.shape == (w.shape[0] // 8, w.shape[1])
    assert meta.dtype == np.uint8
    np.testing.assert_array_equal(sparse24.decompress_2of4(values, meta), w)
    v2, m2 = sparse24.compress_2of4(w)  # the numba twin picks the same positions
    np.testing.assert_array_equal(v2, values)
    np.testing.assert_array_equal(m2, meta)


def test_2of4_rejects_dense_groups_and_bad_k() -> None:
    w = np.ones((8, 2), dtype=np.float32)
    with pytest.raises(WorkloadError, match="more than 2 non-zeros"):
        sparse24.compress_2of4_numpy(w)
    with pytest.raises(WorkloadError, match="more than 2 non-zeros"):
        sparse24.compress_2of4(w)
    with pytest.raises(WorkloadError, match="multiple of 8"):
        sparse24.compress_2of4_numpy(np.zeros((12, 2), dtype=np.float32))


def test_prune_2of4_keeps_the_two_largest() -> None:
    w = np.array([[1.0], [-5.0], [3.0], [0.5], [0.0], [0.0], [0.0], [2.0]], dtype=np.float32)
    np.testing.assert_array_equal(sparse24.prune_2of4(w).ravel(), np.array([0, -5, 3, 0, 0, 0, 0, 2], dtype=np.float32))


# --- int4 format ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 8).map(lambda h: 2 * h), st.integers(1, 6)),
        elements=st.integers(0, 15),
    )
)
def test_int4_pack_unpack_round_trip(codes: np.ndarray) -> None:
    packed = w4a16.pack_int4(codes)
    assert packed.shape == (codes.shape[0] // 2, codes.shape[1])
    np.testing.assert_array_equal(w4a16.unpack_int4(packed), codes)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([2, 4, 8]),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
    st.floats(1e-3, 1e3),
)
def test_int4_quantize_dequantize_error_is_half_a_step(
    group: int, n_groups: int, n: int, seed: int, scale: float
) -> None:
    w = np.random.default_rng(seed).standard_normal((group * n_groups, n)) * scale
    packed, scales = w4a16.quantize_int4(w, group)
    back = w4a16.dequantize_int4(packed, scales, group)
    step = np.repeat(scales.astype(np.float64), group, axis=0)
    assert np.all(np.abs(back - w) <= 0.5 * step * (1 + 1e-3) + 1e-12)


def test_int4_rejects_bad_groups() -> None:
    with pytest.raises(WorkloadError, match="group_size"):
        w4a16.quantize_int4(np.zeros((10, 2)), 4)


# --- measure() and write_measurements() -------------------------------------------------------------------


def test_measure_cpu_small_rows_follow_the_measured_csv_format(tmp_path: Path) -> None:
    df = measure(device="cpu", sizes="small", repeats=2, warmup=1)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == len(K.kernel_names())
    assert (df["metric"] == "latency_us").all() and (df["unit"] == "us").all()
    assert pd.api.types.is_float_dtype(df["value"]) and (df["value"] > 0).all()
    for column in ("m", "n", "k", "tokens", "batch"):
        assert pd.api.types.is_integer_dtype(df[column]), column
    assert df["note"].str.startswith("measured").all()
    assert (df["source_repo"] == "simsparse").all() and (df["license"] == "Apache-2.0").all()
    assert df["source_commit_or_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(df["kind"]) == {spec.kind for spec in K.KERNELS.values()}
    for extra in df["extra"]:
        fields = dict(item.split("=", 1) for item in extra.split(";"))
        for key in ("kernel", "flops", "bytes", "min_us", "max_us", "p25_us", "p75_us", "threads", "numba"):
            assert key in fields, key
        assert float(fields["min_us"]) <= float(fields["max_us"])
    path = write_measurements(df, tmp_path / "sub" / "measured.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(COLUMNS)
    assert np.allclose(back["value"], df["value"])
    assert [p.name for p in path.parent.iterdir()] == ["measured.csv"]  # no temporary file left behind


def test_measure_cuda_without_a_gpu_raises_a_clear_error() -> None:
    if K.cuda_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(SimulationError, match=r"no CUDA GPU/driver was found \(numba.cuda.is_available"):
        measure(device="cuda", sizes="small", repeats=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "gpu"}, "device"),
        ({"sizes": "medium"}, "sizes"),
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warmup"),
        ({"kernels": ["nope"]}, "kernel"),
    ],
)
def test_measure_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SimsparseError, match=match):
        measure(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("repeats", "rounds"), [(10, 5), (10, 3), (3, 5), (1, 1), (7, 7)])
def test_timed_runs_are_split_evenly_over_the_rounds(repeats: int, rounds: int) -> None:
    sizes = measure_mod._round_sizes(repeats, rounds)
    assert sum(sizes) == repeats and len(sizes) == min(repeats, rounds)
    assert max(sizes) - min(sizes) <= 1


def test_measure_interleaves_the_cases_round_by_round(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    timed = measure_mod._CpuTimer.timed

    def record(self: measure_mod._CpuTimer) -> float:
        order.append(f"{self.case.kernel}/{self.case.size}")
        return timed(self)

    monkeypatch.setattr(measure_mod._CpuTimer, "timed", record)
    df = measure(device="cpu", repeats=4, warmup=0, rounds=2, cases=[("stream_copy", "tiny"), ("stream_copy", "small")])
    a, b = "stream_copy/tiny", "stream_copy/small"
    assert order == [a, a, b, b, a, a, b, b]
    sizes = [dict(x.split("=", 1) for x in e.split(";"))["size"] for e in df["extra"]]
    assert sizes == ["tiny", "small"]
    assert list(df["source_id"]) == ["simsparse.measure.cpu.tiny", "simsparse.measure.cpu.small"]
    assert df["stack"].str.contains("in 2 interleaved round").all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rounds": 0}, "rounds: expected an integer >= 1"),
        ({"cases": [("stream_copy",)]}, r"cases: expected \(kernel, size set\) pairs"),
        ({"cases": [("stream_copy", "huge")]}, "size set of 'stream_copy'"),
        ({"cases": [("stream_cpy", "tiny")]}, "did you mean 'stream_copy'"),
    ],
)
def test_measure_rejects_bad_rounds_and_cases(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SimsparseError, match=match):
        measure(device="cpu", repeats=1, **kwargs)  # type: ignore[arg-type]


def test_write_measurements_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.csv"
    target.write_text("old\n")
    with pytest.raises(SimulationError, match="lacks the column"):
        write_measurements(pd.DataFrame({"value": [1.0]}), target)
    df = pd.DataFrame([{c: 1 for c in COLUMNS}])

    def boom(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_measurements(df, target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]


# --- host CPU facts ---------------------------------------------------------------------------------------


def test_host_cpu_facts_on_this_machine() -> None:
    facts = host_cpu_facts()
    for key in ("model_name", "n_cpus_usable", "n_cores", "max_mhz", "has_avx2", "has_fma", "l1d_bytes", "l2_bytes"):
        assert key in facts, key
    for key, fact in facts.items():
        assert set(fact) == {"value", "source"}, key
        assert isinstance(fact["source"], str) and fact["source"], key
    usable = facts["n_cpus_usable"]["value"]
    assert isinstance(usable, int) and usable >= 1


def test_host_cpu_facts_never_crash_without_files(tmp_path: Path) -> None:
    facts = host_cpu_facts(root=tmp_path, run_lscpu=False)
    assert facts["model_name"]["value"]
    assert facts["l2_bytes"] == {
        "value": None,
        "source": "assumed: unknown (no sysfs cache entry, no lscpu 'L2 cache')",
    }
    assert facts["has_avx2"]["source"].startswith("assumed:")
    assert facts["max_mhz"]["value"] is None


def test_host_cpu_facts_read_a_fake_tree(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: Fake CPU @ 3.50GHz\n"
        "cpu cores\t: 8\nsiblings\t: 16\nflags\t\t: fpu avx avx2 fma\n\nprocessor\t: 1\n"
    )
    cache = tmp_path / "sys/devices/system/cpu/cpu0/cache"
    for index, (level, kind, size, shared) in enumerate([(1, "Data", "32K", "0,8"), (2, "Unified", "1024K", "0,8")]):
        d = cache / f"index{index}"
        d.mkdir(parents=True)
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
        (d / "shared_cpu_list").write_text(f"{shared}\n")
    lscpu = "L3 cache:                 32 MiB (2 instances)\nCPU max MHz:              4000.0000\n"
    facts = host_cpu_facts(root=tmp_path, run_lscpu=False, lscpu_text=lscpu)
    assert facts["model_name"] == {"value": "Fake CPU @ 3.50GHz", "source": "/proc/cpuinfo: model name"}
    assert facts["n_threads_per_core"]["value"] == 2
    assert facts["has_avx2"] == {"value": True, "source": "/proc/cpuinfo: flags"}
    assert facts["has_avx512f"]["value"] is False
    assert facts["simd_width_bits"]["value"] == 256
    assert facts["l1d_bytes"] == {"value": 32768, "source": "sysfs: /sys/devices/system/cpu/cpu0/cache/index0/size"}
    assert facts["l2_bytes"]["value"] == 1 << 20 and facts["l2_shared_cpu_list"]["value"] == "0,8"
    assert facts["l3_bytes"] == {"value": 16 << 20, "source": "lscpu: L3 cache (total / instances)"}
    assert facts["max_mhz"] == {"value": 4000.0, "source": "lscpu: CPU max MHz"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("48K", 49152), ("2048K", 2 << 20), ("4 MiB (2 instances)", 4 << 20), ("300 MiB", 300 << 20), ("x", None)],
)
def test_parse_size_bytes(text: str, expected: int | None) -> None:
    assert parse_size_bytes(text) == expected


@pytest.mark.parametrize(
    ("single_us", "launches"),
    [(0.5, 64), (10.0, 64), (100.0, 20), (180.0, 12), (600.0, 4), (2139.0, 4), (9000.0, 4)],
)
def test_cuda_samples_span_about_2_ms_of_back_to_back_launches(
    monkeypatch: pytest.MonkeyPatch, single_us: float, launches: int
) -> None:
    """A kernel of ``single_us`` gets ceil(2000 / single_us) launches per sample, clamped to 4..64, so the
    host dispatch of each numba launch overlaps the kernel before it (the H200 run of 2026-11-28)."""
    timer = object.__new__(measure_mod._CudaTimer)
    timer.launches = 1
    monkeypatch.setattr(measure_mod._CudaTimer, "_span_us", lambda self, n: single_us)
    monkeypatch.setattr(measure_mod.K, "simulator_enabled", lambda: False)
    timer.calibrate()
    assert timer.launches == launches


def test_the_nvidia_driver_query_is_empty_without_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("nvidia-smi")

    from simsparse.validation import hostcpu

    monkeypatch.setattr(hostcpu.subprocess, "run", missing)
    assert hostcpu.nvidia_smi_query("driver_version") == ""


def test_the_gpu_expression_uses_the_stream_kernels_launch_shape() -> None:
    """suite_expression rebuilds the CUDA STREAM launch from a row's extra: the same blocks and elements
    per thread as the kernel module launches."""
    from simsparse.validation import suite
    from simsparse.validation.kernels import stream

    assert suite.NUMBA_STREAM_MAX_BLOCKS == stream.CUDA_MAX_BLOCKS
    for n in (1000, 1 << 18, 1 << 25, 1 << 32):
        extra = f"kernel=stream_copy;size=full;n_elems={n};arrays_read=1;tile=16x16;cuda_elems_per_thread=4"
        row = {"source_id": "simsparse.measure.cuda.full", "extra": extra}
        got = suite.suite_expression(row, "h200-sxm")
        assert got is not None
        op = got[0].runs[0].ops[0]
        assert op.launch_ctas == stream.cuda_blocks(n, 256)
        assert op.launch_threads_per_cta == 256
        assert op.launch_dram_rounds == -(-n // (op.launch_ctas * 256 * stream.CUDA_ELEMS_PER_THREAD))
