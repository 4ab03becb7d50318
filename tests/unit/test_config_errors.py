"""Every bad hardware config gets one clear error naming file, line, field path and what was
expected (issue 2): a corpus of broken files with the expected message asserted for each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import simsparse as ss
from simsparse.config import dump_hardware

GOOD = dump_hardware(ss.load_hardware("a100-sxm"))


def _broken(old: str, new: str, count: int = 1) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, count)


CASES: list[tuple[str, str | bytes, str]] = [
    ("empty", "", r":1: expected a YAML mapping, got 'an empty file'"),
    ("syntax", "name: a100\ndevice: [1, 2\n", r"expected valid YAML syntax, got .*syntax error"),
    ("truncated", GOOD[: len(GOOD) // 2].rsplit("\n", 2)[0] + "\n  memory: [\n", r"expected valid YAML syntax"),
    ("binary", b"\x00\x01\x02\xff\xfe", r"expected a UTF-8 YAML text file, got 'binary data"),
    ("not utf8", b"name: \xff\xfe\n", r"expected a UTF-8 YAML text file, got 'undecodable byte"),
    ("top-level list", "- 1\n- 2\n", r"expected a mapping of System fields"),
    ("duplicate key", "name: a\nname: b\n", r":2: name: expected each key once \(first given on line 1\)"),
    (
        "unknown key",
        _broken("  n_cores: 108\n", "  n_cores: 108\n  n_corse: 3\n"),
        r"device\.n_corse: expected a known field of Device \(did you mean 'n_cores'\?\)",
    ),
    ("missing field", _broken("  freq_ghz: 1.41\n", ""), r"device\.freq_ghz: expected a required field \(a number\)"),
    (
        "wrong type",
        _broken("  n_cores: 108\n", "  n_cores: many\n"),
        r"device\.n_cores: expected an integer, got 'many'",
    ),
    ("bool trap", _broken("  n_cores: 108\n", "  n_cores: yes\n"), r"device\.n_cores: expected an integer, got 'yes'"),
    (
        "negative bandwidth",
        _broken("read_gb_per_s: 2039.0", "read_gb_per_s: -4"),
        r"device\.memory\[\d\]\.read_gb_per_s: expected a number > 0, got -4",
    ),
    (
        "zero capacity",
        _broken("capacity_bytes: 85899345920", "capacity_bytes: 0"),
        r"device\.memory\[\d\]\.capacity_bytes: expected an integer number of bytes >= 1, got 0",
    ),
    (
        "fraction above one",
        _broken("sustained_fraction: 0.8087", "sustained_fraction: 1.5"),
        r"sustained_fraction: expected a fraction in \(0, 1\], got 1\.5",
    ),
    (
        "unknown dtype",
        _broken("        bf16: 1024.0", "        bf17: 1024.0"),
        r"macs_per_cycle\.bf17: expected a dtype among .*did you mean 'bf16'",
    ),
    ("N > M", _broken('pattern: "2:4"', 'pattern: "5:4"'), r"sparsity\[0\]\.pattern: expected N:M with 1 <= N <= M"),
    (
        "bad choice",
        _broken("dataflow: os", "dataflow: oss"),
        r"dataflow: expected one of os, ws, is \(did you mean 'os'\?\)",
    ),
    (
        "shrinking capacity",
        _broken("capacity_bytes: 85899345920", "capacity_bytes: 1024"),
        r"capacity_bytes: expected a capacity >= the inner level 'l2'",
    ),
    (
        "negative round trip",
        _broken("    dram_round_ns: 549.6", "    dram_round_ns: -5"),
        r"device\.simt\.dram_round_ns: expected a number > 0, got -5",
    ),
    (
        "unknown simt key",
        _broken("    max_ctas_per_core: 32", "    max_cta_per_core: 32"),
        r"device\.simt\.max_cta_per_core: expected a known field of SimtExecution \(did you mean 'max_ctas_per_core'\?\)",
    ),
    (
        "mesh smaller than the cores",
        _broken(
            "  noc:\n    topology: none\n    link_gb_per_s: 0.0\n    hop_latency_ns: 0.0\n    mesh_rows: 0\n    mesh_cols: 0",
            "  noc:\n    topology: mesh2d\n    link_gb_per_s: 10.0\n    hop_latency_ns: 0.0\n    mesh_rows: 4\n    mesh_cols: 4",
        ),
        r"device\.noc\.mesh_rows: expected mesh_rows x mesh_cols >= n_cores \(108",
    ),
    (
        "non-boolean shared datapath",
        _broken("      shares_matrix_datapath: false", "      shares_matrix_datapath: 7"),
        r"device\.core\.vector_unit\.shares_matrix_datapath: expected true or false, got 7",
    ),
    (
        "no DRAM channels",
        _broken("      n_channels: 80\n", "      n_channels: 0\n"),
        r"device\.memory\[2\]\.channels\.n_channels: expected an integer >= 1, got 0",
    ),
    (
        "interleave not whole bursts",
        _broken("      interleave_bytes: 0\n", "      interleave_bytes: 48\n"),
        r"channels\.interleave_bytes: expected 0 or a whole multiple of burst_bytes \(32\), got 48",
    ),
    (
        "unknown channel key",
        _broken("      burst_bytes: 32\n", "      burst_byte: 32\n"),
        r"channels\.burst_byte: expected a known field of DramChannels \(did you mean 'burst_bytes'\?\)",
    ),
    (
        "unconnected devices",
        _broken("n_devices: 1", "n_devices: 8"),
        r"interconnect\.topology: expected a topology connecting the 8 devices, got 'none'",
    ),
]


@pytest.mark.parametrize(("label", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_message(tmp_path: Path, label: str, text: str | bytes, expected: str) -> None:
    path = tmp_path / f"{label.replace(' ', '_')}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ss.ConfigError) as info:
        ss.load_hardware(path)
    message = str(info.value)
    assert str(path) in message, message
    assert re.search(r"\.yaml(:\d+)?: ", message), message
    assert re.search(expected, message), message


def test_every_error_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = _broken("  n_cores: 108\n", "  n_cores: -1\n  n_corse: 3\n")
    text = text.replace("name: a100-sxm\n", "name: [1, 2]\n", 1)
    path = tmp_path / "many.yaml"
    path.write_text(text)
    with pytest.raises(ss.ConfigError) as info:
        ss.load_hardware(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3, lines
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", ln) for ln in lines), lines


def test_missing_file_and_unknown_preset() -> None:
    with pytest.raises(ss.ConfigError, match=r"nope\.yaml: expected an existing file, got 'a missing file'"):
        ss.load_hardware("nope.yaml")
    with pytest.raises(ss.ConfigError, match=r"did you mean 'h100-sxm'\?"):
        ss.load_hardware("h100-sxn")
